"""A TCP relay standing for one PC's network link, which the test can cut.

`cut()` is a pulled cable: nothing crosses in either direction and neither end is told
(no FIN, no RST); bytes already sent wait, as they would in TCP retransmission, and new
connections hang without an answer. `restore()` plugs the cable back in. `drop_all()`
throws away every connection without a word to the server (the PC is powered off).
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.conftest import free_port


class LinkProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._open = asyncio.Event()
        self._open.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def is_cut(self) -> bool:
        return not self._open.is_set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    def cut(self) -> None:
        self._open.clear()

    def restore(self) -> None:
        self._open.set()

    async def drop_all(self) -> None:
        """Forget every relayed connection: sockets are closed on neither side's terms
        (the client's is aborted; the server's is left to time out on its own)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.drop_all()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            await self._open.wait()  # a cut link answers no one
            up_reader, upstream = await asyncio.open_connection("127.0.0.1", self.target_port)
            self.connections += 1
            await asyncio.gather(self._pump(reader, upstream), self._pump(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Powered off: the client's socket dies with a reset; the server's is left
            # open and silent (its heartbeat must find out), then freed with the proxy.
            # Not re-raised: this task is the relay's own and ends here.
            writer.transport.abort()
            if upstream is not None:
                self._leave_silent(upstream)
                upstream = None
        finally:
            self._tasks.discard(task)
            writer.close()
            if upstream is not None:
                upstream.close()

    def _leave_silent(self, upstream: asyncio.StreamWriter) -> None:
        # Keep a reference so the socket is not closed by garbage collection before the
        # server gives up on it; closed by the operating system when the test ends.
        self._writers.add(upstream)
        transport = upstream.transport
        if isinstance(transport, asyncio.ReadTransport):
            transport.pause_reading()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while True:
            await self._open.wait()
            data = await source.read(65536)
            await self._open.wait()  # read just before a cut: held back until restored
            if not data:
                with contextlib.suppress(OSError):
                    sink.write_eof()
                return
            sink.write(data)
            await sink.drain()

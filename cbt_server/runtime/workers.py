"""Several server processes on one port (`cbt-server serve --workers N`), on PostgreSQL.

Each worker is a whole server (its own event loop, database pool and LISTEN connection)
bound to the same address with SO_REUSEPORT, so the kernel spreads new connections over
them. A proctor command handled by one worker reaches a candidate connected to another
through PostgreSQL LISTEN/NOTIFY. The parent process only starts the workers, restarts
one that dies, and passes SIGTERM/SIGINT on. Behind a load balancer, run single-worker
servers on several ports (or machines) against the same database instead.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import multiprocessing
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

from aiohttp import web
from aiohttp.web_runner import GracefulExit

from cbt_server.app import create_app
from cbt_server.runtime.loops import loop_factory
from cbt_server.settings import Settings, SettingsError, load_settings
from cbt_server.tls import tls_context

log = logging.getLogger("cbt_server.workers")

RESTART_PAUSE = 1.0
"""Seconds between a worker's death and its restart (no tight crash loop)."""


ALL_ADDRESSES = frozenset({"", "0.0.0.0", "::"})


def ready_message(settings: Settings, loop_kind: str, credentials: Path | None = None) -> str:
    """What the server prints once it listens: where candidates and staff go, where the
    demo's credentials are, how to stop it. The first line starts `CBT server ready on`
    (scripts wait for it)."""
    listening_everywhere = settings.host in ALL_ADDRESSES
    base = settings.local_url
    lines = [
        f"CBT server ready on {base}  (health: {base}/healthz; event loop: {loop_kind})",
        f"  candidates 考生:        {base}/?seat=N   (N: the PC's seat number)",
        f"  staff console 监考台:   {base}/staff/login",
    ]
    if listening_everywhere:
        lines.append("  (listening on every address: lab PCs use this machine's LAN address)")
    if credentials is not None:
        lines.append(f"  demo credentials:       {credentials}")
    lines.append("Press Ctrl+C to stop the server. 按 Ctrl+C 停止服务。")
    return "\n".join(lines)


def serve_one(
    settings: Settings,
    *,
    reuse_port: bool = False,
    credentials: Path | None = None,
    factory: Callable[[Settings], web.Application] | None = None,
    ready: str | None = None,
) -> None:
    """Run one server process until SIGTERM/SIGINT (aiohttp shuts down gracefully).

    `factory` builds the app (default `create_app`; the city centre passes its own, and
    its own `ready` message).

    Where the loop has no signal handlers (Windows), aiohttp skips them; Ctrl+C then
    stops the server through `stop_on_ctrl_c`'s handler instead.
    """
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    context = tls_context(settings)
    loop_kind, new_loop = loop_factory(settings.event_loop)
    message = ready or ready_message(settings, loop_kind, credentials)
    app = (factory or create_app)(settings)
    app.on_startup.append(_freeze_startup_objects)
    loop = new_loop()
    previous = stop_on_ctrl_c(loop)
    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            reuse_port=reuse_port,
            ssl_context=context,
            access_log=None,
            loop=loop,
            print=lambda _: print(message, flush=True),
        )
    finally:
        signal.signal(signal.SIGINT, previous)


def stop_on_ctrl_c(loop: asyncio.AbstractEventLoop) -> Any:
    """Make SIGINT (Ctrl+C) stop the server gracefully on a loop without signal handlers.

    aiohttp asks the loop to handle SIGINT and SIGTERM; the Windows loops cannot
    (NotImplementedError) and aiohttp then leaves Ctrl+C to Python's KeyboardInterrupt,
    which can land inside a task and escape run_app's shutdown as an error. This plain
    handler, installed first, asks the loop to raise aiohttp's GracefulExit instead, as
    aiohttp's own handler does; where the loop does take signal handlers, aiohttp's
    replaces it. Returns the handler it replaced, for the caller to put back.
    """

    def handler(_signum: int, _frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(_graceful_exit)

    return signal.signal(signal.SIGINT, handler)


def _graceful_exit() -> None:
    raise GracefulExit()


async def _freeze_startup_objects(_app: web.Application) -> None:
    """Move what start-up made (modules, mappers, compiled caches) out of the collector's
    view: a full collection then walks only what the exam itself creates. The profile of
    a starting room of 300 showed about 9% of the server's time in gc_collect_main."""
    gc.collect()
    gc.freeze()


def _worker(settings: Settings) -> None:
    serve_one(settings, reuse_port=True)


def run_workers(settings: Settings) -> int:
    """Start `settings.workers` processes on one port and keep them running."""
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    def start(index: int) -> BaseProcess:
        process = context.Process(target=_worker, args=(settings,), name=f"cbt-worker-{index}")
        process.start()
        return process

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    workers = {index: start(index) for index in range(settings.workers)}
    try:
        while not stopping:
            time.sleep(0.2)
            for index, process in list(workers.items()):
                if not process.is_alive() and not stopping:
                    log.error("worker %s exited (%s); restarting it", index, process.exitcode)
                    time.sleep(RESTART_PAUSE)
                    workers[index] = start(index)
    finally:
        for process in workers.values():
            if process.is_alive():
                process.terminate()  # SIGTERM: graceful shutdown, clients told to reconnect
        deadline = time.monotonic() + 15
        for process in workers.values():
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m cbt_server.runtime.workers [--host H] [--port P] [--workers N]`; the
    rest of the settings come from the environment (CBT_DATABASE_URL, CBT_DATA_DIR, ...)."""
    parser = argparse.ArgumentParser(prog="python -m cbt_server.runtime.workers")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        settings = load_settings(host=args.host, port=args.port, workers=args.workers)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if settings.workers == 1:
        serve_one(settings)
        return 0
    return run_workers(settings)


if __name__ == "__main__":
    sys.exit(main())

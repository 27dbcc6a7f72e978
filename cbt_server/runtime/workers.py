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
import gc
import logging
import multiprocessing
import signal
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from aiohttp import web

from cbt_server.app import create_app
from cbt_server.runtime.loops import loop_factory
from cbt_server.settings import Settings, SettingsError, load_settings
from cbt_server.tls import tls_context

log = logging.getLogger("cbt_server.workers")

RESTART_PAUSE = 1.0
"""Seconds between a worker's death and its restart (no tight crash loop)."""


def serve_one(settings: Settings, *, reuse_port: bool = False) -> None:
    """Run one server process until SIGTERM/SIGINT (aiohttp shuts down gracefully)."""
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    context = tls_context(settings)
    base = f"{'https' if context else 'http'}://{settings.host}:{settings.port}"
    loop_kind, new_loop = loop_factory(settings.event_loop)
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=reuse_port,
        ssl_context=context,
        access_log=None,
        loop=new_loop(),
        print=lambda _: print(
            f"CBT server ready on {base}  (health: {base}/healthz; event loop: {loop_kind})",
            flush=True,
        ),
    )


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

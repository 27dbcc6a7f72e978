"""The centre's app factory: `create_centre_app(settings)` for `cbt-server centre serve`.

The same package in another role: the same database wiring and migrations (its tables
are in the same tree), the same staff sign-in (argon2, session cookies, CSRF) with the
centre's roles, and none of the exam runtime: no candidate pages, no WebSockets. A
background task pulls every registered site every `centre_pull_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from cbt_server.app import database_ctx
from cbt_server.auth import web as auth_web
from cbt_server.centre import pages, papers_web, registers_web
from cbt_server.centre.ingest import pull_all
from cbt_server.centre.keybank import KeyBank
from cbt_server.content_crypto import ContentCipher
from cbt_server.db.types import utcnow
from cbt_server.keys import CENTRE_BANK, CENTRE_CLOCK, CIPHER, SESSIONMAKER, SETTINGS
from cbt_server.runtime.tasks import stop_tasks
from cbt_server.settings import Settings
from cbt_server.web import errors, health, security, templates
from cbt_server.web.static import setup as setup_static

log = logging.getLogger(__name__)


async def pull_forever(app: web.Application) -> None:
    """Pull every site, wait the interval, again; a failed round is logged, not fatal."""
    interval = app[SETTINGS].centre_pull_seconds
    # Several sites at once on PostgreSQL, so that a site that does not answer (a connect
    # timeout) holds up only its own slot; SQLite queues the writers anyway.
    concurrency = 1 if app[SETTINGS].is_sqlite else 4
    while True:
        try:
            reports = await pull_all(app[SESSIONMAKER], app[CENTRE_BANK], concurrency=concurrency)
            for report in reports:
                if report.status not in ("ok", ""):
                    log.warning("site %s: %s: %s", report.site, report.status, report.reason)
        except Exception:
            log.exception("a round of pulls failed; the next round retries")
        await asyncio.sleep(interval)


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(pull_forever(app), name="cbt-centre-pull")
    yield
    await stop_tasks([task])


def create_centre_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_upload_bytes, middlewares=[errors.error_middleware]
    )
    app[SETTINGS] = settings
    app[CIPHER] = ContentCipher.from_data_dir(settings.data_path)
    app[CENTRE_BANK] = KeyBank(app[CIPHER])
    app[CENTRE_CLOCK] = utcnow
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(scheduler_ctx)  # after the database: starts after, stops before
    security.setup(app)
    templates.setup(app)
    setup_static(app)
    health.setup(app)
    auth_web.setup(app)
    pages.setup(app)
    papers_web.setup(app)
    registers_web.setup(app)
    return app

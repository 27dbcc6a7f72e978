"""The app factory: `create_app(settings)` builds the aiohttp application.

Nothing is built at import time. The database engine lives in a cleanup context: made
(and migrated) on start-up, disposed on shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from sqlalchemy.engine import make_url

from cbt_server import runtime
from cbt_server.auth.config import AuthConfig
from cbt_server.auth.routes import setup as setup_staff_auth
from cbt_server.backup.auto import setup as setup_auto_backups
from cbt_server.content_crypto import ContentCipher
from cbt_server.db.checkpoint import checkpoint_forever
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.migrate import upgrade
from cbt_server.keys import CIPHER, ENGINE, SESSIONMAKER, SETTINGS
from cbt_server.runtime.tasks import stop_tasks
from cbt_server.settings import Settings
from cbt_server.web import errors, forwarded, health, lab, lab_pcs, security, templates
from cbt_server.web.candidate_pages import setup as setup_candidate_pages
from cbt_server.web.console import setup as setup_console
from cbt_server.web.item_analysis import setup as setup_item_analysis
from cbt_server.web.paperwork import setup as setup_paperwork
from cbt_server.web.photos import setup as setup_photos
from cbt_server.web.results_api import setup as setup_results_api
from cbt_server.web.static import setup as setup_static
from cbt_server.web.statistics_api import setup as setup_statistics_api


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    url = make_url(settings.effective_database_url)
    on_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    sqlite_file = Path(str(url.database)) if on_file else None
    engine = make_engine(
        settings.effective_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        sqlite_autocheckpoint=sqlite_file is None,
    )
    await upgrade(engine)
    app[ENGINE] = engine
    app[SESSIONMAKER] = make_sessionmaker(engine)
    # SQLite: checkpoints off the path of the writes (db/checkpoint.py).
    tasks: list[asyncio.Task[None]] = []
    if sqlite_file is not None:
        tasks.append(asyncio.create_task(checkpoint_forever(sqlite_file), name="cbt-checkpoint"))
    yield
    await stop_tasks(tasks)
    await engine.dispose()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_upload_bytes,
        middlewares=[
            *forwarded.middlewares(settings.trusted_proxies),
            errors.error_middleware,
            errors.nul_middleware,
        ],
    )
    app[SETTINGS] = settings
    app[CIPHER] = ContentCipher.from_data_dir(settings.data_path)
    app.cleanup_ctx.append(database_ctx)
    setup_auto_backups(app)  # after the database: it reads the sessions' states
    security.setup(app)
    templates.setup(app)
    setup_static(app)
    health.setup(app)
    setup_staff_auth(app, AuthConfig(account_lockout_threshold=settings.staff_login_account_limit))
    setup_console(app)
    setup_paperwork(app)
    setup_item_analysis(app)
    setup_photos(app)
    lab.setup(app)
    lab_pcs.setup(app)
    setup_results_api(app)
    setup_statistics_api(app)
    setup_candidate_pages(app)
    # The exam itself: /ws/candidate, /ws/proctor, deadlines and heartbeats. Its cleanup
    # context comes after the database's, so it starts after it and stops before it.
    runtime.setup(app)
    return app

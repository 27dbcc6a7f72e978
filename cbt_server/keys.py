"""Typed application keys: everything `create_app` and its parts put into the aiohttp app.

One module of keys, so that a reader finds what an app holds in one place. The types are
imported for the type checker only: this module imports nothing of the server at run time,
so any module may import it without a cycle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import jinja2
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from cbt_server.auth.config import AuthConfig
    from cbt_server.auth.ratelimit import SlidingWindow
    from cbt_server.centre.keybank import KeyBank
    from cbt_server.content_crypto import ContentCipher
    from cbt_server.results.openapi import OpenApiRegistry
    from cbt_server.results.signing import SiteKey
    from cbt_server.runtime.admission import Admission
    from cbt_server.runtime.clock_steps import StepRecorder
    from cbt_server.runtime.context import Runtime
    from cbt_server.runtime.deadlines import Sweeper
    from cbt_server.runtime.hub import Hub
    from cbt_server.runtime.login_limit import LoginLimits
    from cbt_server.runtime.loopwatch import LoopWatch
    from cbt_server.runtime.room_states import RoomStates
    from cbt_server.settings import Settings
    from cbt_server.web.lab import LabState
    from cbt_server.web.static_files import StaticFiles

# The app and its database (app.py)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
ENGINE: web.AppKey[AsyncEngine] = web.AppKey("engine")
SESSIONMAKER: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("sessionmaker")
CIPHER: web.AppKey[ContentCipher] = web.AppKey("content_cipher")

# The exam runtime (runtime/__init__.py)
RUNTIME: web.AppKey[Runtime] = web.AppKey("exam_runtime")
RUNTIME_MOUNTED: web.AppKey[bool] = web.AppKey("exam_runtime_mounted")
HUB: web.AppKey[Hub] = web.AppKey("exam_hub")
SWEEPER: web.AppKey[Sweeper] = web.AppKey("exam_sweeper")
LOGIN_LIMITS: web.AppKey[LoginLimits] = web.AppKey("candidate_login_limits")
ROOM_STATES: web.AppKey[RoomStates] = web.AppKey("exam_room_states")
LOOP_WATCH: web.AppKey[LoopWatch] = web.AppKey("event_loop_watch")
ADMISSION: web.AppKey[Admission] = web.AppKey("websocket_admission")
CLOCK_STEPS: web.AppKey[StepRecorder] = web.AppKey("clock_step_recorder")

# Staff sign-in (auth/web.py)
AUTH_CONFIG: web.AppKey[AuthConfig] = web.AppKey("auth_config")
LOGIN_LIMITER: web.AppKey[SlidingWindow] = web.AppKey("login_limiter")
AUTH_CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("auth_clock")

# Pages and static files (web/)
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates")
STATIC: web.AppKey[StaticFiles] = web.AppKey("static_files")
STRINGS: web.AppKey[dict[str, str]] = web.AppKey("candidate_strings")
LAB_STATE: web.AppKey[LabState] = web.AppKey("lab_state")

# The results API (web/results_api.py, results/openapi.py)
SITE_KEY: web.AppKey[SiteKey] = web.AppKey("site_signing_key")
FEED_READY: web.AppKey[bool] = web.AppKey("results_feed_ready")
OPENAPI: web.AppKey[OpenApiRegistry] = web.AppKey("openapi_registry")

# Item and test statistics (web/statistics_api.py, web/item_analysis.py): one computation
# at a time, so two large selections never hold their arrays at once.
STATISTICS_TURN: web.AppKey[asyncio.Lock] = web.AppKey("statistics_turn")
# The city centre's service (centre/app.py)
CENTRE_BANK: web.AppKey[KeyBank] = web.AppKey("centre_key_bank")
CENTRE_CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("centre_clock")

"""Typed application keys of the exam runtime."""

from __future__ import annotations

from aiohttp import web

from cbt_server.runtime.context import Runtime
from cbt_server.runtime.deadlines import Sweeper
from cbt_server.runtime.hub import Hub
from cbt_server.runtime.login_limit import LoginLimits
from cbt_server.runtime.loopwatch import LoopWatch
from cbt_server.runtime.room_states import RoomStates

RUNTIME = web.AppKey("exam_runtime", Runtime)
HUB = web.AppKey("exam_hub", Hub)
SWEEPER = web.AppKey("exam_sweeper", Sweeper)
LOGIN_LIMITS = web.AppKey("candidate_login_limits", LoginLimits)
ROOM_STATES = web.AppKey("exam_room_states", RoomStates)
LOOP_WATCH = web.AppKey("event_loop_watch", LoopWatch)

"""Mounts staff sign-in and account management on the app (one call from create_app)."""

from __future__ import annotations

from aiohttp import web

from cbt_server.auth import admin
from cbt_server.auth import web as auth_web
from cbt_server.auth.config import AuthConfig


def setup(app: web.Application, config: AuthConfig | None = None) -> None:
    auth_web.setup(app, config)
    admin.setup(app)

"""Typed application keys: everything the app factory puts into the aiohttp app, in one place."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cbt_server.content_crypto import ContentCipher
from cbt_server.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
CIPHER = web.AppKey("content_cipher", ContentCipher)

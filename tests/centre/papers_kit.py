"""What the papers-out tests share: the centre's clock, a blueprint, the CLI."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cbt_server.centre.regrade import CHINA
from cbt_server.item_store import store_blueprint
from item_bank.blueprint import blueprint_from_dict

if TYPE_CHECKING:
    from tests.centre.conftest import Centre

EXAM_DAY = datetime(2026, 12, 11, tzinfo=CHINA)
BLUEPRINT = {
    "format": "cbt-blueprint/1",
    "id": "electrician-3-centre",
    "title": "电工（高级）理论知识",
    "occupation": "electrician",
    "level": 3,
    "duration_minutes": 90,
    "pass_mark": 6,
    "total_score": 10,
    "sections": [
        {
            "type": "single",
            "title": "单项选择题",
            "score_each": 1,
            "cells": [{"knowledge_point": "kp", "difficulty": "medium", "count": 10}],
        }
    ],
}


class Clock:
    """The centre's clock, set by the test (the app's state is frozen once it runs)."""

    def __init__(self) -> None:
        self.now = EXAM_DAY - timedelta(days=3)

    def __call__(self) -> datetime:
        return self.now


async def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`cbt-server ARGS` in a subprocess; its exit code and output (stdout + stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cbt_server",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def with_blueprint(centre: Centre) -> None:
    async with centre.sessionmaker.begin() as db:
        await store_blueprint(db, blueprint_from_dict(BLUEPRINT))

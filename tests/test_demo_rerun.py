"""Re-running the demo keeps every credential it wrote valid; `--reset` starts over."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cbt_server.accounts import verify_password
from cbt_server.db import models
from cbt_server.db.migrate import migrated
from cbt_server.demo import PROCTOR, SESSION_CODE, prepare_demo
from cbt_server.errors import InvalidInput, NotAuthenticated
from cbt_server.settings import Settings, load_settings
from cbt_server.tokens import Scope, authenticate


def _credentials(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


async def _check(settings: Settings, creds: dict[str, Any]) -> tuple[bool, bool, int]:
    """Whether the proctor password and the centre token in `creds` work; and how many
    candidates of the demo session are no longer just registered."""
    async with migrated(settings) as sessionmaker, sessionmaker.begin() as db:
        user = await db.scalar(select(models.User).where(models.User.username == PROCTOR))
        assert user is not None
        password_ok = verify_password(user.password_hash, creds["proctor"]["password"])
        try:
            await authenticate(db, creds["centre_token"], Scope.RESULTS_READ)
            token_ok = True
        except NotAuthenticated:
            token_ok = False
        exam = await db.scalar(
            select(models.ExamSession).where(models.ExamSession.code == SESSION_CODE)
        )
        assert exam is not None
        moved = await db.scalar(
            select(func.count())
            .select_from(models.Candidate)
            .where(models.Candidate.session_id == exam.id, models.Candidate.state != "registered")
        )
    return password_ok, token_ok, int(moved or 0)


async def _mark_first_absent(settings: Settings) -> None:
    """Some exam state a re-run must keep (and a reset must drop)."""
    async with migrated(settings) as sessionmaker, sessionmaker.begin() as db:
        candidate = await db.scalar(select(models.Candidate).where(models.Candidate.seat == 1))
        assert candidate is not None
        candidate.state = "absent"


def test_a_rerun_keeps_data_and_every_credential_and_reset_starts_over(
    settings: Settings,
) -> None:
    path = prepare_demo(settings)
    first = _credentials(path)
    asyncio.run(_mark_first_absent(settings))

    assert prepare_demo(settings) == path
    second = _credentials(path)
    assert second == first
    assert asyncio.run(_check(settings, first)) == (True, True, 1)

    if not settings.is_sqlite:
        with pytest.raises(InvalidInput, match="PostgreSQL"):
            prepare_demo(settings, reset=True)
        assert _credentials(path) == first  # refused before anything changed
        return
    prepare_demo(settings, reset=True)
    fresh = _credentials(path)
    assert fresh["proctor"]["password"] != first["proctor"]["password"]
    assert fresh["centre_token"] != first["centre_token"]
    assert asyncio.run(_check(settings, fresh)) == (True, True, 0)
    assert asyncio.run(_check(settings, first))[:2] == (False, False)


def test_a_credential_that_no_longer_works_is_replaced(settings: Settings) -> None:
    path = prepare_demo(settings)
    first = _credentials(path)
    edited = {**first, "centre_token": "cbt_not-a-token", "proctor": {"username": PROCTOR}}
    path.write_text(json.dumps(edited), encoding="utf-8")

    second = _credentials(prepare_demo(settings))
    assert second["centre_token"] not in (first["centre_token"], "cbt_not-a-token")
    assert second["proctor"]["password"] != first["proctor"]["password"]
    assert asyncio.run(_check(settings, second))[:2] == (True, True)
    # the old token was revoked when its replacement was issued
    assert asyncio.run(_check(settings, first))[1] is False


def test_an_unreadable_credentials_file_is_refused_naming_it(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=str(tmp_path / "var"))
    path = prepare_demo(settings)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput, match="demo-credentials.json is not readable JSON"):
        prepare_demo(settings)
    assert path.read_text(encoding="utf-8") == "{not json"
    prepare_demo(settings, reset=True)  # the way out the message names
    assert "centre_token" in _credentials(path)

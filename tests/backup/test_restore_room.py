"""A room answers, a backup is taken while it goes on answering, a spare server restored
from it serves the same results API byte for byte (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cbt_server.cli import main
from cbt_server.settings import Settings
from tests.backup.conftest import PASSPHRASE
from tests.backup.room import answer, centre_token, get_bytes, start_room, submit
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import prepare_database
from tests.runtime.wsclient import candidate_login

pytestmark = pytest.mark.slow


def cli(settings: Settings, *args: str) -> list[str]:
    return ["--data-dir", settings.data_dir, "--database-url", settings.database_url, *args]


async def test_restored_spare_serves_the_same_results(
    spare: Settings,
    exam_server_factory: ExamServerFactory,
    site: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exam = await prepare_database(site, candidates=6)
    server = await exam_server_factory(site)
    room = await start_room(server, exam)
    pairs = list(zip(room.clients, room.states, strict=True))
    await asyncio.gather(*(answer(c, s, range(12)) for c, s in pairs))
    await asyncio.gather(*(submit(c) for c, _ in pairs[:3]))
    token = await centre_token(server)

    # The backup runs while the other three go on answering (its own process's loop,
    # as `cbt-server backup` would).
    monkeypatch.setenv("CBT_BACKUP_PASSPHRASE", PASSPHRASE)
    out = tmp_path / "site.cbt-backup.tar"
    busy = asyncio.gather(*(answer(c, s, range(12, 60)) for c, s in pairs[3:]))
    code = await asyncio.to_thread(main, cli(site, "backup", "--out", str(out), "--json"))
    await busy
    assert code == 0
    made = json.loads(capsys.readouterr().out)
    assert made["row_counts"]["results"] == 3
    assert made["key_files"] == ["keys/content.key", "keys/site-signing.pem"]
    original = await get_bytes(server.base_url, "/api/v1/results", token)
    assert len(json.loads(original)["results"]) == 3

    code = await asyncio.to_thread(main, cli(spare, "restore", str(out), "--json"))
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert report["ok"] is True
    checks = {check["name"]: check for check in report["checks"]}
    assert set(checks) == {"row_counts", "audit_chain", "result_signatures"}
    assert all(check["ok"] for check in checks.values())
    assert checks["result_signatures"]["detail"].startswith("3 of 3 results verify")

    restored = await exam_server_factory(spare)
    assert await get_bytes(restored.base_url, "/api/v1/results", token) == original
    keys = "/api/v1/keys"
    assert await get_bytes(restored.base_url, keys, token) == await get_bytes(
        server.base_url, keys, token
    )

    # A candidate who was answering reconnects to the spare as the page would (same
    # ticket, ID number, resume token): the answers as of the backup, and it goes on.
    person, client = exam.people[5], room.clients[5]
    again, state = await candidate_login(
        restored.ws_url, person.ticket, person.id_number, seat=person.seat,
        resume_token=room.resume_tokens[5],
    )  # fmt: skip
    assert state["candidate"]["state"] == "answering"
    assert 12 <= len(state["answers"]) <= 60  # those stored when the copy was taken
    assert state["acked_seq"] <= client.seq
    await answer(again, state, range(60, 62))

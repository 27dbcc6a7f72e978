"""Identity at the seat: who may see a candidate's photo (the matrix), the console's
`verify_identity` (已核验), and the room record's incidents of identity, seats and time
offline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.migrate import migrated
from cbt_server.enrolment.layout import check_plan, derived_plan, seat_plan
from cbt_server.enrolment.photo_store import store_photos
from cbt_server.enrolment.photos import read_photos
from cbt_server.errors import InvalidInput
from cbt_server.paperwork.records import find_session, load_room_record
from cbt_server.runtime.candidate.login import token_hash
from cbt_server.settings import Settings, load_settings
from tests.conftest import LiveServer
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import Exam, build_exam, open_db, prepare_database, staff_cookie
from tests.runtime.test_photos import jpeg, zipped
from tests.runtime.wsclient import candidate_login, command, proctor_open, seat_until
from tests.waiting import wait_until


@pytest.fixture
def sqlite_settings(tmp_path: Path, any_db_url: str) -> Settings:
    """The runtime's settings fixture, on SQLite and (with CBT_TEST_PG_URL) PostgreSQL."""
    return load_settings(
        {}, data_dir=str(tmp_path / "data"), database_url=any_db_url, sqlite_synchronous="NORMAL"
    )


async def _seed(settings: Settings) -> tuple[Exam, Exam, str, bytes]:
    """Two sessions (S-01 with 4 candidates, S-02 with 1), a photo of S-01's first and of
    S-02's candidate, and a lab administrator; S-01, S-02, the admin's cookie, S-01's
    first photo as stored."""
    first = await prepare_database(settings, candidates=4)
    async with migrated(settings) as maker:
        cipher = ContentCipher.from_data_dir(settings.data_path)
        second = await build_exam(maker, cipher, candidates=1, code="S-02", with_bank=False)
        photos = read_photos(
            zipped(
                {f"{first.people[0].ticket}.jpg": jpeg(), f"{second.people[0].ticket}.jpg": jpeg()}
            )
        )
        async with maker.begin() as db:
            await store_photos(db, photos, "test")
            admin = await staff_cookie(db, "admin", "lab_admin", None)
        async with maker() as db:
            stored = await db.get(models.CandidatePhoto, first.people[0].id)
            assert stored is not None
    return first, second, admin, stored.jpeg


async def _get(url: str, cookie: str | None = None, **headers: str) -> tuple[int, bytes, str]:
    if cookie:
        headers["Cookie"] = f"cbt_staff={cookie}"
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        return resp.status, await resp.read(), resp.headers.get("Cache-Control", "")


async def test_photo_access_matrix_and_identity_check(
    exam_server_factory: ExamServerFactory, sqlite_settings: Settings
) -> None:
    exam, other, admin, photo = await _seed(sqlite_settings)
    server: LiveServer = await exam_server_factory(sqlite_settings)
    alice, bob = exam.people[0], exam.people[1]
    a_client, a_state = await candidate_login(server.ws_url, alice.ticket, alice.id_number)
    b_client, b_state = await candidate_login(server.ws_url, bob.ticket, bob.id_number)
    a_token, b_token = a_state["resume_token"], b_state["resume_token"]
    own = f"{server.base_url}/candidate/photo"

    # The candidate's own login: the photo, never cached.
    status, body, cache = await _get(
        own, **{"X-CBT-Ticket": alice.ticket, "X-CBT-Resume-Token": a_token}
    )
    assert (status, body) == (200, photo) and "no-store" in cache
    # Another candidate's token, a wrong token, no token, nobody: the same 401.
    for headers in (
        {"X-CBT-Ticket": alice.ticket, "X-CBT-Resume-Token": b_token},
        {"X-CBT-Ticket": alice.ticket, "X-CBT-Resume-Token": a_token + "x"},
        {"X-CBT-Ticket": alice.ticket},
        {"X-CBT-Ticket": "NOBODY", "X-CBT-Resume-Token": a_token},
        {},
    ):
        status, body, _ = await _get(own, **headers)
        assert status == 401 and body != photo, headers
    # Bob's own login works, but he has no photo: nothing (not an error for the page).
    status, _, _ = await _get(own, **{"X-CBT-Ticket": bob.ticket, "X-CBT-Resume-Token": b_token})
    assert status == 204

    # Staff: this session's proctor and supervisor; not another session's staff, not the
    # lab administrator, not anonymous; not another session's candidate through this one.
    staff = f"{server.base_url}/console/sessions/{exam.code}/photos/{alice.id}.jpg"
    for cookie, expected in (
        (exam.proctor_cookie, 200),
        (exam.supervisor_cookie, 200),
        (other.proctor_cookie, 403),
        (other.supervisor_cookie, 403),
        (admin, 403),
        (None, 401),
    ):
        status, body, cache = await _get(staff, cookie)
        assert status == expected, (cookie, status)
        assert (body == photo) is (expected == 200)
    # The same ticket registered in another session too (one person, rehearsal and
    # formal): the registration meant is the one whose login the token is, whichever
    # row the database lists first.
    async with open_db(sqlite_settings) as db, db.begin():
        first_row = await db.get(models.Candidate, alice.id)
        assert first_row is not None
        db.add(
            models.Candidate(
                ticket=alice.ticket,
                id_number=alice.id_number,
                name=first_row.name,
                occupation=first_row.occupation,
                level=first_row.level,
                session_id=other.session_id,
                seat=9,
                login_token_hash=token_hash("second-sitting-token"),
            )
        )
    second = {"X-CBT-Ticket": alice.ticket, "X-CBT-Resume-Token": "second-sitting-token"}
    assert (await _get(own, **second))[0] == 204  # that registration has no photo
    status, body, _ = await _get(
        own, **{"X-CBT-Ticket": alice.ticket, "X-CBT-Resume-Token": a_token}
    )
    assert (status, body) == (200, photo)

    through = f"{server.base_url}/console/sessions/{exam.code}/photos/{other.people[0].id}.jpg"
    assert (await _get(through, exam.proctor_cookie))[0] == 404
    assert (await _get(through, other.proctor_cookie))[0] == 403

    # The console: which seats have a photo, the derived seat plan, and 已核验.
    proctor, room = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    seats = {c["candidate_id"]: c for c in room["candidates"]}
    assert seats[alice.id]["photo"] and not seats[bob.id]["photo"]
    assert not seats[alice.id]["identity_checked"]
    assert (room["rows"], room["cols"]) == (2, 3)
    await command(proctor, "verify_identity", candidate_id=alice.id)
    seat, _ = await seat_until(proctor, alice.id, lambda s: s["identity_checked"])
    await command(proctor, "verify_identity", candidate_id=alice.id)  # the first check stands
    await command(proctor, "mark_absent", candidate_id=exam.people[3].id, reason="未到场")
    await proctor.send({"type": "verify_identity", "seq": 99, "candidate_id": exam.people[3].id})
    assert (await proctor.expect("error", ref_seq=99))["code"] == "invalid_transition"
    supervisor, _ = await proctor_open(server.ws_url, exam.supervisor_cookie, exam.session_id)
    await supervisor.send({"type": "verify_identity", "seq": 5, "candidate_id": bob.id})
    assert (await supervisor.expect("error", ref_seq=5))["code"] == "forbidden"

    async with open_db(sqlite_settings) as db:
        checks = list(
            await db.scalars(
                select(models.AuditEntry).where(
                    models.AuditEntry.action == "candidate.identity_checked"
                )
            )
        )
        record = await load_room_record(db, await find_session(db, exam.code))
    assert len(checks) == 1 and checks[0].actor == f"proctor-{exam.code}"
    kinds = [(i.kind, i.candidate) for i in record.incidents]
    assert ("身份核验", f"座位 1 {record.candidates[0].name}（{alice.ticket}）") in kinds
    lines = {line.ticket: line for line in record.candidates}
    assert lines[alice.ticket].identity_checked_at is not None
    assert lines[bob.ticket].identity_checked_at is None
    for client in (a_client, b_client, proctor, supervisor):
        await client.close()


async def test_room_record_lists_seat_changes_and_long_offline_spells(
    exam_server_factory: ExamServerFactory, sqlite_settings: Settings, exam: Exam
) -> None:
    server = await exam_server_factory(sqlite_settings)
    mover, blip = exam.people[0], exam.people[1]
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    m_client, m_state = await candidate_login(server.ws_url, mover.ticket, mover.id_number, seat=1)
    b_client, b_state = await candidate_login(server.ws_url, blip.ticket, blip.id_number, seat=2)
    await command(proctor, "start")
    await m_client.expect("state")
    await b_client.expect("state")
    await m_client.close()
    await b_client.close()

    async def both_offline() -> bool:
        async with open_db(sqlite_settings) as db:
            rows = [await db.get(models.Candidate, who.id) for who in (mover, blip)]
            return all(row is not None and row.connection_id is None for row in rows)

    await wait_until(both_offline, "both connections released")
    # The mover was away 2 minutes (their release moved back), the blip 5 seconds.
    async with open_db(sqlite_settings) as db, db.begin():
        for who, away in ((mover, 120), (blip, 5)):
            row = await db.get(models.Candidate, who.id)
            assert row is not None and row.last_seen_at is not None
            row.last_seen_at -= timedelta(seconds=away)
    await command(proctor, "unlock", candidate_id=mover.id, reason="1 号机故障，换到 4 号机")
    m_client, _ = await candidate_login(server.ws_url, mover.ticket, mover.id_number, seat=4)
    b_client, _ = await candidate_login(
        server.ws_url, blip.ticket, blip.id_number, seat=2, resume_token=b_state["resume_token"]
    )
    async with open_db(sqlite_settings) as db:
        record = await load_room_record(db, await find_session(db, exam.code))
    found = [(i.kind, i.candidate.split("（")[-1].rstrip("）"), i.detail) for i in record.incidents]
    offline = [f for f in found if f[0] == "掉线"]
    assert len(offline) == 1 and offline[0][1] == mover.ticket
    assert offline[0][2].startswith("离线 2.0 分钟")
    assert ("换机登录", mover.ticket, "座位 1 → 座位 4") in found
    assert not [f for f in found if f[0] == "换机登录" and f[1] == blip.ticket]
    for client in (m_client, b_client, proctor):
        await client.close()


def test_seat_plans() -> None:
    assert derived_plan(40) == (5, 8)
    assert derived_plan(30) == (5, 7)
    assert derived_plan(1) == (1, 1)
    assert seat_plan(40, 4, 10) == (4, 10)
    assert seat_plan(40, None, 10) == (5, 8)
    assert check_plan(40, None, None) is None
    assert check_plan(40, 4, 10) == (4, 10)
    for rows, cols, words in ((4, None, "both"), (3, 10, "cannot hold"), (0, 60, "1..50")):
        with pytest.raises(InvalidInput, match=words):
            check_plan(40, rows, cols)

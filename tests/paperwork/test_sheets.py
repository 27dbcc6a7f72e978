"""The printable sheets show the right figures, incidents and signature lines, and the
examiner leader's sign-off makes the session's results final."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server import audit
from cbt_server.db.models import AuditEntry, Candidate, ExamSession, Result, RoomNote
from cbt_server.paperwork.signoff import results_digest
from tests.auth.factories import T0, Site, signed_in
from tests.conftest import LiveServer

Maker = async_sessionmaker[AsyncSession]


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, f"no figure {name}"
    return found.group(1)


async def get(base: str, who: str, path: str) -> str:
    http, _ = await signed_in(base, who)
    async with http, http.get(f"{base}{path}") as resp:
        assert resp.status == 200
        return await resp.text()


async def test_score_summary_figures(staff_server: LiveServer) -> None:
    html = await get(staff_server.base_url, "supervisor", "/paperwork/sessions/S1/score-summary")
    assert "成绩汇总表" in html
    expected = {
        "registered": "5",
        "sat": "4",
        "absent": "1",
        "pass_mark": "60",
        "passed": "3",
        "failed": "1",
        "pass_rate": "75.0%",
        "mean": "67",
        "highest": "95",
        "lowest": "41",
    }
    assert {name: figure(html, name) for name in expected} == expected
    rows = re.findall(
        r'<tr data-ticket="(T\d+)">.*?class="num score">([^<]*)</td>\s*'
        r'<td class="result">([^<]*)</td>',
        html,
        re.S,
    )
    assert rows == [
        ("T0001", "95", "合格"),
        ("T0002", "72", "合格"),
        ("T0003", "41", "不合格"),
        ("T0004", "缺考", "缺考"),
        ("T0005", "60", "合格"),
    ]
    assert "@page" not in html  # print CSS lives in the stylesheet, not inline
    assert "<svg" in html and 'class="pass-mark"' in html
    assert "考评组长" in html and "leader 老师" in html and "proctor 老师" in html
    assert "未签署" in html
    assert 'action="/paperwork/sessions/S1/sign"' not in html  # a supervisor cannot sign


async def test_print_css_is_a4(staff_server: LiveServer) -> None:
    html = await get(staff_server.base_url, "leader", "/paperwork/sessions/S1/room-record")
    href = re.search(r'href="(/static/console/paperwork\.[0-9a-f]+\.css)"', html)
    assert href, "the sheet links the hashed paperwork stylesheet"
    http, _ = await signed_in(staff_server.base_url, "leader")
    async with http, http.get(staff_server.base_url + href.group(1)) as resp:
        css = await resp.text()
    assert "@page { size: A4" in css and "@media print" in css


async def test_room_record_lists_incidents_and_notes(
    staff_server: LiveServer, site: Site, sessionmaker: Maker
) -> None:
    async with sessionmaker.begin() as db:
        t = T0 + timedelta(minutes=5)
        await audit.record(db, "proctor", "proctor", "session.start", "session:S1", at=t)
        await audit.record(
            db, "proctor", "proctor", "candidate.pause", "session:S1/candidate:T0002",
            "电脑死机", at=t + timedelta(minutes=1),
        )  # fmt: skip
        await audit.record(
            db, "proctor", "proctor", "candidate.unlock", "session:S1/candidate:T0002",
            "更换到 7 号机", {"seat": 2}, at=t + timedelta(minutes=2),
        )  # fmt: skip
        await audit.record(
            db, "proctor", "proctor", "candidate.extra_time", "session:S1/candidate:T0002",
            "补偿换机时间", {"seconds": 300}, at=t + timedelta(minutes=3),
        )  # fmt: skip
        await audit.record(
            db, "leader", "proctor", "session.pause", "session:S1", "火警演习",
            at=t + timedelta(minutes=4),
        )  # fmt: skip
        await audit.record(
            db, "leader", "proctor", "candidate.absent", "session:S1/candidate:T0004",
            "", at=t + timedelta(minutes=6),
        )  # fmt: skip
        # Identity checked, a login at the registered seat (no incident), one at another
        # seat (a seat change), and a long spell offline.
        await audit.record(
            db, "proctor", "proctor", "candidate.identity_checked", "session:S1/candidate:T0001",
            at=t + timedelta(minutes=7),
        )  # fmt: skip
        checked = await db.scalar(select(Candidate).where(Candidate.ticket == "T0001"))
        assert checked is not None
        checked.identity_checked_at = t + timedelta(minutes=7)
        for minute, seat in ((8, 2), (9, 7)):
            await audit.record(
                db, "T0002", "candidate", "candidate.login", "session:S1/candidate:T0002",
                data={"seat": seat, "state": "answering"}, at=t + timedelta(minutes=minute),
            )  # fmt: skip
        await audit.record(
            db, "T0002", "candidate", "candidate.offline", "session:S1/candidate:T0002",
            data={"offline_s": 95, "seat": 7}, at=t + timedelta(minutes=10),
        )  # fmt: skip
        # Not incidents: another session, a login, and the note's own audit entry.
        await audit.record(db, "outsider", "proctor", "candidate.pause", "session:S2", "x")
        await audit.record(db, "proctor", "proctor", "login.success")
        await audit.record(db, "proctor", "proctor", "session.note", "session:S1", "考生均已入场")
        db.add(
            RoomNote(
                session_id=site.s1, at=t - timedelta(minutes=1), author="proctor",
                text="考生均已入场，核对身份证无误",
            )
        )  # fmt: skip
    html = await get(staff_server.base_url, "admin", "/paperwork/sessions/S1/room-record")
    assert "考场记录表" in html
    assert {k: figure(html, k) for k in ("registered", "present", "absent", "submitted")} == {
        "registered": "5",
        "present": "4",
        "absent": "1",
        "submitted": "4",
    }
    kinds = re.findall(r'<tr data-kind="([^"]+)">', html)
    assert kinds == [
        "记录", "开考", "暂停", "解锁换机", "延长时间", "全场暂停", "标记缺考", "身份核验",
        "换机登录", "掉线",
    ]  # fmt: skip
    assert "座位 2 → 座位 7" in html and "离线 1.6 分钟" in html
    identity = dict(
        re.findall(r'<tr data-ticket="(T\d+)">.*?<td data-identity>([^<]*)</td>', html, re.S)
    )
    assert identity["T0001"].startswith("已核验 ") and identity["T0002"] == "—"
    assert "座位 2 李华（T0002）" in html
    assert "延长 5 分钟" in html and "补偿换机时间" in html and "火警演习" in html
    assert "考生均已入场，核对身份证无误" in html
    assert "<td>proctor 老师（proctor）</td>" in html and "<td>leader 老师（leader）</td>" in html
    assert "330204********002X" in html and "33020419900101002X" not in html
    for line in ("考评组长", "考评员", "质量督导员", "签名：", "日期："):
        assert line in html


async def test_room_record_without_incidents(staff_server: LiveServer) -> None:
    html = await get(staff_server.base_url, "proctor", "/paperwork/sessions/S1/room-record")
    assert "本场考试无异常情况记录" in html


async def test_leader_signs_and_results_become_final(
    staff_server: LiveServer, site: Site, sessionmaker: Maker
) -> None:
    base = staff_server.base_url
    http, csrf = await signed_in(base, "leader")
    async with http:
        async with http.get(f"{base}/paperwork/sessions/S1/score-summary") as resp:
            assert 'id="sign-button"' in await resp.text()
        async with http.post(
            f"{base}/paperwork/sessions/S1/sign", data={"csrf_token": csrf}, allow_redirects=False
        ) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/paperwork/sessions/S1/score-summary"
        async with http.get(f"{base}/paperwork/sessions/S1/score-summary") as resp:
            html = await resp.text()
        assert "已由考评组长 leader 老师（leader）" in html and "成绩已定稿" in html
        assert 'id="sign-button"' not in html
        # Signing twice is refused and changes nothing.
        async with http.post(
            f"{base}/paperwork/sessions/S1/sign", data={"csrf_token": csrf}, allow_redirects=False
        ) as resp:
            assert resp.status == 409
            assert "signed already" in await resp.text()
    async with sessionmaker() as db:
        exam = await db.get(ExamSession, site.s1)
        results = list(await db.scalars(select(Result).where(Result.session_id == site.s1)))
        entries = list(
            await db.scalars(select(AuditEntry).where(AuditEntry.action == "paperwork.sign"))
        )
        tickets = dict((await db.execute(select(Candidate.id, Candidate.ticket))).all())
        report = await audit.verify_chain(db)
    assert exam is not None and exam.signed_by == "leader" and exam.signed_at is not None
    assert len(results) == 4 and all(r.final for r in results)
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor, entry.role, entry.target) == ("leader", "proctor", "session:S1")
    assert entry.data["results"] == 4 and entry.data["passed"] == 3
    signed = [(tickets[r.candidate_id], r.score, r.max_score, r.passed) for r in results]
    assert entry.data["digest"] == results_digest(signed)
    assert report.intact


async def test_signing_waits_for_every_candidate(
    staff_server: LiveServer, site: Site, sessionmaker: Maker
) -> None:
    async with sessionmaker.begin() as db:
        cand = await db.get(Candidate, site.candidates["T0002"])
        assert cand is not None
        cand.state = "submitted"  # submitted but not graded yet
    base = staff_server.base_url
    http, csrf = await signed_in(base, "leader")
    async with (
        http,
        http.post(f"{base}/paperwork/sessions/S1/sign", data={"csrf_token": csrf}) as resp,
    ):
        assert resp.status == 409
        text = await resp.text()
        assert "1 candidate(s) of S1 have not finished" in text
        # Chinese first, naming who: the page is Chinese.
        assert "不能签字：S1 尚有 1 名考生未完成或未评分" in text
        assert "T0002" in text and "已交卷待评分" in text
    async with sessionmaker() as db:
        assert not any(r.final for r in await db.scalars(select(Result)))
        assert (await db.get(ExamSession, site.s1)).signed_at is None  # type: ignore[union-attr]


async def test_a_practice_is_never_signed_and_its_sheets_say_练习(
    staff_server: LiveServer, site: Site, sessionmaker: Maker
) -> None:
    async with sessionmaker.begin() as db:
        exam = await db.get(ExamSession, site.s1)
        assert exam is not None
        exam.mode, exam.feedback = "practice", "end"
    base = staff_server.base_url
    http, csrf = await signed_in(base, "leader")
    async with http:
        async with http.get(f"{base}/paperwork/sessions/S1/score-summary") as resp:
            html = await resp.text()
        assert 'id="sign-button"' not in html and "【练习】" in html
        for page in ("/console", "/console/sessions/S1"):
            async with http.get(f"{base}{page}") as resp:
                assert '<span class="badge mode-mark" data-mode="practice">练习</span>' in (
                    await resp.text()
                ), page
        async with http.post(
            f"{base}/paperwork/sessions/S1/sign", data={"csrf_token": csrf}
        ) as resp:
            assert resp.status == 409
            assert "S1 是练习场次：成绩不签字、不上报" in await resp.text()
    async with sessionmaker() as db:
        assert not any(r.final for r in await db.scalars(select(Result)))

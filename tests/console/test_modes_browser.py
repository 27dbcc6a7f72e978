"""Rehearsal (试考) then formal (正式) in one room, in the browser: the rehearsal is marked
试考 on the candidate page, the console and the sheets, is never signed and never reaches
the centre; the formal sitting after it in the same room is unmarked and does (issue 20).
The same candidate takes both with one ticket: the console offers the next sitting once the
rehearsal has ended, and the PC returns to its login screen with its seat kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import select, update

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.types import utcnow
from cbt_server.demo import PROCTOR, ROOM_CODE, SESSION_CODE
from cbt_server.enrolment.sample import Person as Entrant
from cbt_server.enrolment.sample import seat_people
from cbt_server.enrolment.sessions import SessionSpec, create_session
from cbt_server.keys import SESSIONMAKER
from cbt_server.results.feed import Filters, fetch_all
from tests.candidate_web import pages
from tests.candidate_web.conftest import (
    ExamServer,
    PageWatch,
    Person,
    Screens,
)
from tests.console.test_console_browser import TIMEOUT_MS, act, open_console

pytestmark = pytest.mark.browser

REHEARSAL = "DEMO-00"


async def add_rehearsal(server: ExamServer) -> list[Person]:
    """A rehearsal in the demo's room on a bank file's short paper, just before the formal
    session: the formal session's first three candidates, with their own tickets and
    ID-card numbers (a ticket is unique per session), in their own seats."""
    people = server.people[:3]
    entrants = [Entrant(p.ticket, p.id_number, p.name, p.seat) for p in people]
    cipher = ContentCipher.from_data_dir(server.settings.data_path)
    now = utcnow()
    async with server.app[SESSIONMAKER].begin() as db:
        exam = await create_session(
            db,
            SessionSpec(
                code=REHEARSAL,
                blueprint_id="childcare-4-standard",
                room_code=ROOM_CODE,
                title="育婴员（中级）试考",
                duration_minutes=20,
                mode="rehearsal",
                scheduled_at=now - timedelta(minutes=1),
            ),
            actor="test",
        )
        await seat_people(db, cipher, exam, entrants)
        # The formal sitting follows in the same room, the same day.
        await db.execute(
            update(models.ExamSession)
            .where(models.ExamSession.code == SESSION_CODE)
            .values(scheduled_at=now + timedelta(minutes=1))
        )
        proctor = await db.scalar(select(models.User).where(models.User.username == PROCTOR))
        assert proctor is not None
        db.add(models.Assignment(user_id=proctor.id, session_id=exam.id, leader=True))
    return list(people)


async def console_of(ctx: BrowserContext, server: ExamServer, code: str, seats: int) -> Page:
    page = await ctx.new_page()
    await page.goto(f"{server.base_url}/console/sessions/{code}")
    await expect(page.locator("#link")).to_have_attribute("data-link", "open", timeout=TIMEOUT_MS)
    await expect(page.locator(".seat")).to_have_count(seats, timeout=TIMEOUT_MS)
    return page


async def sit(ctx: BrowserContext, server: ExamServer, person: Person) -> Page:
    page = await pages.open_page(ctx, server, seat=person.seat)
    await pages.log_in(page, person)
    await pages.screen(page, "confirm")
    await page.click("#confirm-yes")
    await pages.screen(page, "waiting")
    return page


async def hand_in(page: Page) -> None:
    await page.click("#btn-submit")
    await page.click("#submit-confirm")
    await pages.screen(page, "done")


async def test_rehearsal_then_formal_in_one_room(
    exam_server: ExamServer, context: tuple[BrowserContext, PageWatch], screens: Screens
) -> None:
    ctx, _ = context
    rehearsers = await add_rehearsal(exam_server)
    async with exam_server.app[SESSIONMAKER].begin() as db:
        await db.execute(update(models.Assignment).values(leader=True))
    formal_console = await open_console(ctx, exam_server)  # signs the proctor in
    await expect(formal_console.locator("h1 .mode-mark")).to_have_count(0)
    await formal_console.close()

    # The rehearsal: 试考 on the console, the candidate's every screen and the sheets.
    console = await console_of(ctx, exam_server, REHEARSAL, len(rehearsers))
    await expect(console.locator("h1 .mode-mark")).to_have_text("试考")
    await expect(console.locator("#next-sitting-banner")).to_be_hidden()
    await act(console, "open_checkin")
    person = rehearsers[0]  # a formal candidate, with their real ticket
    page = await sit(ctx, exam_server, person)
    await expect(page.locator("#top-mode")).to_be_visible()
    await expect(page.locator("#top-mode")).to_have_text("试考")
    await act(console, "start")
    await pages.screen(page, "exam")
    await expect(page.locator("#top-mode")).to_be_visible()
    await screens.shot(page, "rehearsal-exam")
    await hand_in(page)
    await expect(page.locator("#done-mode")).to_be_visible()
    await page.evaluate("document.body.dataset.returnMs = '300'")  # not a minute, here
    await act(console, "end_session")
    await expect(console.locator("#session-state")).to_have_attribute(
        "data-state", "ended", timeout=TIMEOUT_MS
    )
    # The PC goes back to the login screen by itself, its seat kept for the next sitting.
    await pages.screen(page, "login")
    await expect(page.locator("#login-seat")).to_have_text(str(person.seat))
    assert "seat=" not in page.url
    summary = await ctx.new_page()
    await summary.goto(f"{exam_server.base_url}/paperwork/sessions/{REHEARSAL}/score-summary")
    await expect(summary.locator(".sheet-title .mode-mark")).to_have_text("【试考】")
    await expect(summary.locator("#sign-button")).to_have_count(0)  # never signed
    record = await ctx.new_page()
    await record.goto(f"{exam_server.base_url}/paperwork/sessions/{REHEARSAL}/room-record")
    await expect(record.locator(".sheet-title .mode-mark")).to_have_text("【试考】")
    listing = await ctx.new_page()
    await listing.goto(f"{exam_server.base_url}/console")
    await expect(listing.locator(f'tr[data-session="{REHEARSAL}"] .mode-mark')).to_have_text("试考")
    await expect(listing.locator(f'tr[data-session="{SESSION_CODE}"] .mode-mark')).to_have_count(0)

    # The console offers the room's next sitting; the formal session follows on the same
    # PC, with the same ticket and ID-card number: no mark, and it reaches the centre.
    own = console.locator('.sittings a[aria-current="page"]')
    await expect(own).to_contain_text("已结束")  # the day's list follows the room
    banner = console.locator("#next-sitting-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text(SESSION_CODE)
    await screens.shot(console, "console-next-sitting")
    await console.click("#next-sitting-go")
    await expect(console).to_have_url(f"{exam_server.base_url}/console/sessions/{SESSION_CODE}")
    await expect(console.locator("#link")).to_have_attribute(
        "data-link", "open", timeout=TIMEOUT_MS
    )
    await expect(console.locator("#next-sitting-banner")).to_have_count(0)  # the last one
    # Too early: told when the formal sitting is; the page keeps trying by itself and is
    # in as soon as the proctor opens check-in.
    await pages.log_in(page, person)
    await expect(page.locator("#login-message")).to_contain_text(
        "您的场次「电工（高级）理论知识考试（演示）」安排在", timeout=TIMEOUT_MS
    )
    await act(console, "open_checkin")
    await pages.screen(page, "confirm")
    await page.click("#confirm-yes")
    await pages.screen(page, "waiting")
    await expect(page.locator("#top-mode")).to_be_hidden()
    await act(console, "start")
    await pages.screen(page, "exam")
    await hand_in(page)
    await expect(page.locator("#done-mode")).to_be_hidden()
    await expect(page.locator("#done-result")).to_be_visible(timeout=TIMEOUT_MS)
    async with exam_server.app[SESSIONMAKER]() as db:
        graded = await db.execute(
            select(models.ExamSession.code)
            .select_from(models.Result)
            .join(models.Candidate, models.Candidate.id == models.Result.candidate_id)
            .join(models.ExamSession, models.ExamSession.id == models.Result.session_id)
            .where(models.Candidate.ticket == person.ticket)
        )
        fed = [(row.values["session"], row.ticket) for row in await fetch_all(db, Filters())]
    assert sorted(graded.scalars()) == sorted([REHEARSAL, SESSION_CODE])  # both graded here
    assert fed == [(SESSION_CODE, person.ticket)]  # ...but only the formal one is fed

"""Rehearsal (试考) then formal (正式) in one room, in the browser: the rehearsal is marked
试考 on the candidate page, the console and the sheets, is never signed and never reaches
the centre; the formal sitting after it in the same room is unmarked and does (issue 20)."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import select, update

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.demo import PROCTOR, ROOM_CODE, SESSION_CODE
from cbt_server.enrolment.sample import Person as Entrant
from cbt_server.enrolment.sample import seat_people
from cbt_server.enrolment.sessions import SessionSpec, create_session
from cbt_server.idcard import make_number
from cbt_server.keys import SESSIONMAKER
from cbt_server.results.feed import Filters, fetch_all
from tests.candidate_web import pages
from tests.candidate_web.conftest import (  # the candidate page's fixtures, reused
    ExamServer,
    PageWatch,
    Person,
    Screens,
    browser,
    context,
    demo_template,
    exam_server,
    screens,
)
from tests.console.test_console_browser import TIMEOUT_MS, act, open_console

pytestmark = pytest.mark.browser
__all__ = ["browser", "context", "demo_template", "exam_server", "screens"]  # fixtures

REHEARSAL = "DEMO-00"


async def add_rehearsal(server: ExamServer) -> list[Person]:
    """A rehearsal in the demo's room on a bank file's short paper, three candidates."""
    entrants = [
        Entrant(f"R-{seat:04d}", make_number("320102", date(1991, 3, seat), 200 + seat),
                f"试考{seat}", seat)
        for seat in (1, 2, 3)
    ]  # fmt: skip
    cipher = ContentCipher.from_data_dir(server.settings.data_path)
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
            ),
            actor="test",
        )
        await seat_people(db, cipher, exam, entrants)
        proctor = await db.scalar(select(models.User).where(models.User.username == PROCTOR))
        assert proctor is not None
        db.add(models.Assignment(user_id=proctor.id, session_id=exam.id, leader=True))
    return [Person(e.ticket, e.id_number, e.name, e.seat) for e in entrants]


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

    # The rehearsal: 试考 on the console, the candidate's every screen and the sheets.
    console = await console_of(ctx, exam_server, REHEARSAL, len(rehearsers))
    await expect(console.locator("h1 .mode-mark")).to_have_text("试考")
    await act(console, "open_checkin")
    page = await sit(ctx, exam_server, rehearsers[0])
    await expect(page.locator("#top-mode")).to_be_visible()
    await expect(page.locator("#top-mode")).to_have_text("试考")
    await act(console, "start")
    await pages.screen(page, "exam")
    await expect(page.locator("#top-mode")).to_be_visible()
    await screens.shot(page, "rehearsal-exam")
    await hand_in(page)
    await expect(page.locator("#done-mode")).to_be_visible()
    await act(console, "end_session")
    await expect(console.locator("#session-state")).to_have_attribute(
        "data-state", "ended", timeout=TIMEOUT_MS
    )
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

    # The formal sitting after it, in the same room: no mark, and it reaches the centre.
    formal = exam_server.people[0]
    await formal_console.reload()
    await act(formal_console, "open_checkin")
    page = await sit(ctx, exam_server, formal)
    await expect(page.locator("#top-mode")).to_be_hidden()
    await act(formal_console, "start")
    await pages.screen(page, "exam")
    await hand_in(page)
    await expect(page.locator("#done-mode")).to_be_hidden()
    await expect(page.locator("#done-result")).to_be_visible(timeout=TIMEOUT_MS)
    async with exam_server.app[SESSIONMAKER]() as db:
        rehearsal_graded = await db.scalar(
            select(models.Result)
            .join(models.Candidate, models.Candidate.id == models.Result.candidate_id)
            .where(models.Candidate.ticket == rehearsers[0].ticket)
        )
        fed = [row.ticket for row in await fetch_all(db, Filters())]
    assert rehearsal_graded is not None  # graded at the site...
    assert fed == [formal.ticket]  # ...but only the formal result goes to the centre

"""The room's lab PCs in the console before anyone logs in, the candidate page learning
its seat from the server, and its focus loss reaching the seat card (headless Chromium).

The first test also refreshes the screenshot docs/lab-readiness.md shows
(docs/lab-room-before-login.png).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect
from sqlalchemy import select, update

from cbt_server.db import lab_models, models
from cbt_server.db.types import utcnow
from cbt_server.keys import SESSIONMAKER
from cbt_server.lab import pcs, seatmap
from tests.candidate_web import pages
from tests.candidate_web.conftest import (
    ExamServer,
    PageWatch,
    Screens,
)
from tests.console.test_console_browser import TIMEOUT_MS, open_console, seat

pytestmark = pytest.mark.browser

DOC_SHOT = Path(__file__).resolve().parents[2] / "docs" / "lab-room-before-login.png"


async def set_up_lab(server: ExamServer, first_address: str, count: int) -> str:
    """Register `count` PCs from `first_address` on (the last a spare), map them by the
    address rule; PC 5 has failed a check, PC 7 stopped beating. Returns the room code."""
    exam = await server.exam_session()
    base = [int(part) for part in first_address.split(".")]
    async with server.app[SESSIONMAKER].begin() as db:
        room = await db.get(models.Room, exam.room_id)
        assert room is not None
        for n in range(1, count + 1):
            address = ".".join(str(p) for p in [*base[:3], base[3] + n - 1])
            reg = seatmap.Registration(
                hostname=f"LAB-{n:02d}",
                macs=[f"02:00:00:00:01:{n:02x}"],
                os="Windows 10 (10.0.19045)",
                screen="1366x768",
                failing=["memory"] if n == 5 else [],
                measured=True,
            )
            await pcs.register(db, reg, address, utcnow())
        await db.execute(
            update(lab_models.LabPc)
            .where(lab_models.LabPc.hostname == "LAB-07")
            .values(last_heartbeat_at=utcnow() - timedelta(minutes=3))
        )
        rule = seatmap.SeatRule(first=first_address, seats=count - 1, spares=1)
        await pcs.apply_rule(db, room, rule)
        return room.code


async def test_the_console_lists_the_rooms_pcs_before_anyone_logs_in(
    exam_server: ExamServer, context: tuple[BrowserContext, object], screens: Screens
) -> None:
    ctx, _ = context
    exam = await exam_server.exam_session()
    async with exam_server.app[SESSIONMAKER]() as db:
        room = await db.get(models.Room, exam.room_id)
        assert room is not None
        seats = room.seat_count
    await set_up_lab(exam_server, "10.0.0.2", seats + 1)  # every seat and one spare
    page = await open_console(ctx, exam_server)
    rows = page.locator("#pcs-body tr")
    await expect(rows).to_have_count(seats + 1, timeout=TIMEOUT_MS)
    await expect(page.locator("#pcs")).to_be_visible()
    first = page.locator('#pcs-body tr[data-pc="LAB-01"]')
    await expect(first).to_have_attribute("data-online", "true")
    await expect(first).to_have_attribute("data-seat", "1")
    await expect(first.locator("td").nth(3)).to_have_text("在线 online")
    dead = page.locator('#pcs-body tr[data-pc="LAB-07"]')
    await expect(dead).to_have_attribute("data-online", "false")
    await expect(dead.locator("td").nth(3)).to_have_text("离线 offline")
    await expect(dead.locator("td").nth(5)).to_have_text(re.compile(r"^3 分钟前$"))
    await expect(page.locator('#pcs-body tr[data-pc="LAB-05"] td').nth(4)).to_have_text("memory")
    spare = page.locator(f'#pcs-body tr[data-pc="LAB-{seats + 1:02d}"] td').first
    await expect(spare).to_have_text("备用 spare")
    await expect(page.locator("#pcs-summary")).to_have_text(f"{seats + 1} 台机位，{seats} 台在线")
    # The seat cards say it too, before anyone logged in.
    card7 = page.locator('.seat[data-seat="7"]')
    await expect(card7.locator(".pc")).to_have_text("LAB-07 离线")
    await expect(card7).to_have_class(re.compile(r"\bpc-problem\b"))
    await expect(page.locator('.seat[data-seat="5"] .pc')).to_have_text(
        "LAB-05 在线 · memory 未通过"
    )
    await expect(page.locator('.seat[data-seat="1"] .pc')).to_have_text("LAB-01 在线")
    await expect(page.locator('.seat[data-view="registered"]')).to_have_count(
        len(exam_server.people)
    )
    await screens.shot(page, "console-pcs-before-login")
    await page.screenshot(path=str(DOC_SHOT), type="png")  # the first screen: 1024x768


async def test_the_page_learns_its_seat_and_its_focus_loss_reaches_the_seat_card(
    exam_server: ExamServer, context: tuple[BrowserContext, PageWatch]
) -> None:
    ctx, watch = context
    person = exam_server.people[0]
    # The browser comes from 127.0.0.1: that PC is the person's seat.
    exam = await exam_server.exam_session()
    async with exam_server.app[SESSIONMAKER].begin() as db:
        room = await db.get(models.Room, exam.room_id)
        assert room is not None
        reg = seatmap.Registration(hostname="LAB-HERE", macs=["02:00:00:00:02:01"])
        await pcs.register(db, reg, "127.0.0.1", utcnow())
        places = {"LAB-HERE": seatmap.Place(person.seat)}
        await pcs.apply_places(db, room, places, replace=True)
    console = await open_console(ctx, exam_server)
    await console.locator('.room-actions button[data-action="open_checkin"]').click()
    await console.click("#dialog-confirm")
    await expect(console.locator("#session-state")).to_have_attribute("data-state", "checkin")

    candidate = await pages.open_page(ctx, exam_server, seat=None)  # no ?seat=
    await expect(candidate.locator("#login-seat")).to_have_text(str(person.seat))
    await pages.log_in(candidate, person)
    await pages.screen(candidate, "confirm")
    await candidate.click("#confirm-yes")
    await pages.screen(candidate, "waiting")
    # Context menu and copy are off once logged in; the page carries on.
    blocked = await candidate.evaluate(
        """() => ['contextmenu', 'copy', 'paste'].map((name) => {
             const event = new Event(name, { bubbles: true, cancelable: true });
             document.body.dispatchEvent(event);
             return event.defaultPrevented;
           })"""
    )
    assert blocked == [True, True, True]
    await candidate.evaluate("() => window.dispatchEvent(new Event('blur'))")
    await candidate.evaluate("() => window.dispatchEvent(new Event('focus'))")
    await candidate.evaluate("() => window.dispatchEvent(new Event('blur'))")
    card = seat(console, person)
    await expect(card.locator(".focus")).to_have_text("⚠ 切屏 2 次", timeout=TIMEOUT_MS)
    await expect(card).to_have_attribute("data-focus-lost", "2")
    await pages.screen(candidate, "waiting")  # nothing blocked
    # The unlock dialog offers the room's PCs; the one chosen is named in the command.
    await card.locator('button[data-action="unlock"]').click()
    await expect(console.locator("#pc-field")).to_be_visible()
    await expect(console.locator("#dialog-pc option")).to_have_count(2)
    await console.select_option("#dialog-pc", "LAB-HERE")
    await console.fill("#dialog-reason", "换机测试")
    await console.click("#dialog-confirm")
    await expect(console.locator("#action-dialog")).to_be_hidden(timeout=TIMEOUT_MS)
    async with exam_server.app[SESSIONMAKER]() as db:
        actions = list(
            await db.scalars(
                select(models.AuditEntry.action).where(
                    models.AuditEntry.action == "candidate.focus_lost"
                )
            )
        )
        unlock = await db.scalar(
            select(models.AuditEntry).where(models.AuditEntry.action == "candidate.unlock")
        )
    assert len(actions) == 2
    assert unlock is not None and unlock.data == {"pc": "LAB-HERE"}
    assert watch.problems == []

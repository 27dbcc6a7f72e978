"""结束考试 in the browser: a room with two no-shows is ended in one confirmed action,
then the examiner leader signs; signing before that is refused in Chinese, naming who."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, BrowserContext, expect
from sqlalchemy import select, update

from cbt_server.db import models
from cbt_server.demo import SESSION_CODE
from cbt_server.keys import SESSIONMAKER
from tests.candidate_web import pages
from tests.candidate_web.conftest import (
    ExamServer,
    PageWatch,
    Screens,
)
from tests.console.test_console_browser import TIMEOUT_MS, open_console, seat, start_room

pytestmark = pytest.mark.browser


async def test_end_with_two_no_shows_then_sign(
    exam_server: ExamServer,
    browser: Browser,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    ctx, watch = context
    people = exam_server.people
    came, real, no_shows = people[:2], people[2], people[3:5]
    async with exam_server.app[SESSIONMAKER].begin() as db:
        await db.execute(update(models.Assignment).values(leader=True))  # the proctor leads
        # A room of five: the demo's other candidates were excused before the day.
        excused = [p.ticket for p in people[5:]]
        await db.execute(
            update(models.Candidate)
            .where(models.Candidate.ticket.in_(excused))
            .values(state="absent")
        )
    page = await open_console(ctx, exam_server)
    candidate_page, sims = await start_room(page, exam_server, ctx, came, real)
    try:
        for candidate in sims:
            assert candidate.client is not None
            seq = await candidate.client.next_seq()
            await candidate.client.send({"type": "submit", "seq": seq})
            await candidate.client.expect("ack", seq=seq)
        await candidate_page.click("#btn-submit")
        await candidate_page.click("#submit-confirm")
        await pages.screen(candidate_page, "done")
        for person in (*came, real):
            await expect(seat(page, person)).to_have_attribute("data-view", "submitted")
    finally:
        for candidate in sims:
            await candidate.close()

    # Signing now is refused in Chinese, naming the two who never came.
    summary = await ctx.new_page()
    url = f"{exam_server.base_url}/paperwork/sessions/{SESSION_CODE}/score-summary"
    await summary.goto(url)
    summary.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await summary.click("#sign-button")
    refusal = summary.get_by_text(re.compile("不能签字"))
    await expect(refusal).to_be_visible()
    for person in no_shows:
        await expect(refusal).to_contain_text(person.ticket)
    await expect(refusal).to_contain_text("未登录")
    # The refusal is an HTTP 409, which Chromium logs as an error: expected here only.
    watch.problems[:] = [p for p in watch.problems if "409 (Conflict)" not in p]

    # 结束考试: the dialog lists both no-shows; one confirmation ends the session.
    await page.locator('.room-actions button[data-action="end_session"]').click()
    await expect(page.locator("#dialog-warning")).to_be_visible()
    listed = page.locator("#dialog-list li").first
    await expect(listed).to_contain_text("将记为缺考（未登录）2 人")
    for person in no_shows:
        await expect(listed).to_contain_text(person.ticket)
    await screens.shot(page, "console-end-session")
    await page.click("#dialog-confirm")
    await expect(page.locator("#action-dialog")).to_be_hidden(timeout=TIMEOUT_MS)
    await expect(page.locator("#session-state")).to_have_attribute(
        "data-state", "ended", timeout=TIMEOUT_MS
    )
    for person in no_shows:
        await expect(seat(page, person)).to_have_attribute("data-view", "absent")
    await expect(page.locator('.room-actions button[data-action="end_session"]')).to_be_disabled()

    # The candidate who handed in, at another PC (no resume token): told the paper is in.
    other_pc = await browser.new_context(locale="zh-CN")
    try:
        again = await pages.open_page(other_pc, exam_server, seat=30)
        await pages.log_in(again, real)
        await expect(again.locator("#login-message")).to_have_text(
            "您的试卷已经交卷，无需再次登录。请按监考员指示离开考场。"
        )
    finally:
        await other_pc.close()

    # Once graded, the leader signs.
    await expect(seat(page, real).locator(".answered")).to_have_text(
        re.compile(r"分 (合格|不合格)$"), timeout=TIMEOUT_MS
    )
    await summary.goto(url)
    await expect(summary.locator('[data-figure="absent"]')).to_have_text("27")
    summary.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await summary.click("#sign-button")
    await expect(summary.locator("#sign-status")).to_have_class(re.compile("signed"))
    async with exam_server.app[SESSIONMAKER]() as db:
        exam = await db.scalar(
            select(models.ExamSession).where(models.ExamSession.code == SESSION_CODE)
        )
        entry = await db.scalar(
            select(models.AuditEntry)
            .where(models.AuditEntry.action == "session.end")
            .order_by(models.AuditEntry.id.desc())
        )
    assert exam is not None and exam.state == "ended" and exam.signed_at is not None
    assert entry is not None and sorted(entry.data["absent"]) == sorted(p.ticket for p in no_shows)

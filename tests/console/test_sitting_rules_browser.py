"""The rules of a sitting in the browser: the waiting screen shows them, a late login is
refused and then admitted from the console, the hand-in waits for its time, the 15- and
5-minute warnings cannot be missed, and the calculator works from the keyboard."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import select

from cbt_server.db import models
from cbt_server.demo import SESSION_CODE
from cbt_server.keys import SESSIONMAKER
from tests.candidate_web import pages
from tests.candidate_web.conftest import (
    ExamServer,
    PageWatch,
    Screens,
)
from tests.console.test_console_browser import TIMEOUT_MS, act, open_console, seat

pytestmark = pytest.mark.browser


async def shift_start(server: ExamServer, minutes: float) -> None:
    """Move the start `minutes` into the past, as if that much of the exam had gone by."""
    async with server.app[SESSIONMAKER].begin() as db:
        exam = await db.scalar(
            select(models.ExamSession).where(models.ExamSession.code == SESSION_CODE)
        )
        assert exam is not None and exam.started_at is not None
        exam.started_at -= timedelta(minutes=minutes)


async def reload_exam(page: Page) -> None:
    await page.reload()
    await pages.screen(page, "exam")


async def test_rules_of_the_sitting(
    exam_server: ExamServer, context: tuple[BrowserContext, PageWatch], screens: Screens
) -> None:
    ctx, _ = context
    await exam_server.set_session(late_minutes=15, min_submit_minutes=30, calculator=True)
    on_time, late = exam_server.people[0], exam_server.people[1]
    console = await open_console(ctx, exam_server)
    await act(console, "open_checkin")

    # The waiting screen: the paper's figures and the rules; the top bar the ticket number.
    page = await pages.open_page(ctx, exam_server, seat=on_time.seat)
    await pages.log_in(page, on_time)
    await pages.screen(page, "confirm")
    await page.click("#confirm-yes")
    await pages.screen(page, "waiting")
    await expect(page.locator("#wait-facts li")).to_have_text(
        ["试题 100 题", "满分 100 分", "合格线 60 分"]
    )
    await expect(page.locator("#wait-duration")).to_have_text("考试时长 90 分钟")
    await expect(page.locator("#wait-rules li")).to_have_text(
        [
            "开考 15 分钟后不得入场。",
            "开考 30 分钟后方可交卷。",
            "距考试结束 15 分钟和 5 分钟时会弹出提醒；时间到系统自动交卷。",
            "本场考试可使用页面上的计算器。",
        ]
    )
    await expect(page.locator("#top-candidate")).to_contain_text(f"准考证号 {on_time.ticket}")
    await screens.shot(page, "waiting-rules")

    await act(console, "start")
    await pages.screen(page, "exam")
    # The hand-in is not open yet: the button says from when.
    submit = page.locator("#btn-submit")
    await expect(submit).to_be_disabled()
    await expect(submit).to_have_text(re.compile(r"^\d\d:\d\d 后可交卷$"))

    # The calculator, from the keyboard only; nothing of it reaches the answers.
    await page.click("#btn-calc")
    await expect(page.locator("#calc-panel")).to_be_focused()
    await page.keyboard.type("12*3.5=")
    await expect(page.locator("#calc-display")).to_have_text("42")
    await page.keyboard.type("/0=")
    await expect(page.locator("#calc-display")).to_have_text("Error")
    await page.keyboard.press("Delete")
    await expect(page.locator("#calc-display")).to_have_text("0")
    await page.keyboard.press("Escape")
    await expect(page.locator("#calc-panel")).to_be_hidden()
    assert await exam_server.stored_answers(on_time.ticket) == {}

    # Twenty minutes in: a first login is refused as late...
    await shift_start(exam_server, 20)
    late_page = await pages.open_page(ctx, exam_server, seat=late.seat)
    await pages.log_in(late_page, late)
    await expect(late_page.locator("#login-message")).to_have_text(
        "已超过开考后允许入场的时间，不能登录。如有特殊情况，请举手联系监考员。"
    )
    # ...until a proctor admits them, with a reason for the room record.
    await act(console, "admit_late", late, reason="公交延误，经考点主任同意入场")
    await expect(seat(console, late).locator('button[data-action="admit_late"]')).to_have_count(
        0, timeout=TIMEOUT_MS
    )
    await pages.log_in(late_page, late)
    await pages.screen(late_page, "confirm")
    await late_page.click("#confirm-yes")
    await pages.screen(late_page, "exam")
    await expect(seat(console, late)).to_have_attribute("data-view", "answering")

    # Still before thirty minutes: no hand-in.
    await reload_exam(page)
    await expect(submit).to_be_disabled()

    # Fifteen minutes left: a warning that stays until acknowledged.
    await shift_start(exam_server, 90 - 20 - 15 + 0.05)
    await reload_exam(page)
    warning = page.locator("#time-warning")
    await expect(warning).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.locator("#time-warning-text")).to_have_text(
        "距离考试结束还有 15 分钟，请检查答案。"
    )
    await expect(submit).to_be_enabled()
    await expect(submit).to_have_text("交卷")
    await page.wait_for_timeout(1000)
    await expect(warning).to_be_visible()  # not a toast that goes away by itself
    await page.click("#time-warning-ok")
    await expect(warning).to_be_hidden()

    # Five minutes left.
    await shift_start(exam_server, 10)
    await reload_exam(page)
    await expect(warning).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.locator("#time-warning-text")).to_have_text(
        "距离考试结束还有 5 分钟，请检查答案。"
    )
    await screens.shot(page, "five-minute-warning")
    await page.click("#time-warning-ok")
    await page.click("#btn-submit")
    await page.click("#submit-confirm")
    await pages.screen(page, "done")

    async with exam_server.app[SESSIONMAKER]() as db:
        entry = await db.scalar(
            select(models.AuditEntry).where(models.AuditEntry.action == "candidate.admit_late")
        )
    assert entry is not None and entry.reason == "公交延误，经考点主任同意入场"
    record = await ctx.new_page()
    await record.goto(f"{exam_server.base_url}/paperwork/sessions/{SESSION_CODE}/room-record")
    await expect(record.locator('tr[data-kind="准许迟到入场"]')).to_have_count(1)

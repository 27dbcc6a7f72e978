"""Proctor commands reach the open page: pause overlay, frozen clock, resume, extra time,
and the five-minute warning, all without a reload."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.candidate_web import pages
from tests.candidate_web.conftest import ExamServer, PageWatch, Proctor, Screens

pytestmark = pytest.mark.browser

CLOCK = re.compile(r"^(\d\d):(\d\d):(\d\d)$")


async def clock_seconds(page: Page) -> int:
    text = await page.locator("#clock-value").inner_text()
    match = CLOCK.match(text)
    assert match, text
    hours, minutes, seconds = (int(part) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


async def test_pause_overlay_blocks_answering_and_freezes_the_clock_until_resumed(
    exam_server: ExamServer,
    proctor: Proctor,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    ctx, _ = context
    person = exam_server.people[5]
    # A short exam: under five minutes left from the start shows the warning.
    await exam_server.set_session(duration_s=4 * 60 + 30)
    page = await pages.open_page(ctx, exam_server, seat=person.seat)
    await pages.log_in(page, person)
    await pages.screen(page, "confirm")
    await page.click("#confirm-yes")
    await pages.screen(page, "waiting")
    await proctor.command("start")
    await pages.screen(page, "exam")

    await expect(page.locator("#top-clock")).to_have_attribute("data-level", "warning")
    # The warning stays until acknowledged (issue 20: not missable).
    await expect(page.locator("#time-warning-text")).to_have_text(
        "距离考试结束还有 5 分钟，请检查答案。"
    )
    before = await clock_seconds(page)
    assert 240 <= before <= 270
    await page.wait_for_timeout(2100)
    assert await clock_seconds(page) < before  # it runs
    await screens.shot(page, "five-minute-warning")
    await page.click("#time-warning-ok")
    await expect(page.locator("#time-warning")).to_be_hidden()

    await proctor.command("pause", reason="监考员检查机房电源")
    overlay = page.locator("#pause-overlay")
    await expect(overlay).to_be_visible()
    await expect(page.locator("#pause-scope")).to_have_text("监考员暂停了本考场的考试。")
    await expect(page.locator("#pause-reason")).to_have_text("原因：监考员检查机房电源")
    await expect(page.locator("#top-clock")).to_have_attribute("data-level", "paused")
    frozen = await clock_seconds(page)
    await screens.shot(page, "paused")

    # Answering is blocked: keys do nothing, clicks land on the overlay.
    await page.keyboard.press("B")
    await page.mouse.click(300, 280)
    await page.wait_for_timeout(2100)
    assert await clock_seconds(page) == frozen
    assert await exam_server.stored_answers(person.ticket) == {}
    assert (await pages.item(page)).selected == []

    await proctor.command("resume")
    await expect(overlay).to_be_hidden()
    await page.keyboard.press("B")
    await pages.saved(page)
    shown = await pages.item(page)
    assert await exam_server.stored_answers(person.ticket) == {shown.item_id: [shown.options[1]]}
    # The clock restarts from the server's figure: paused time did not count.
    resumed = await clock_seconds(page)
    assert frozen - 2 <= resumed <= frozen

    # One candidate paused alone, then resumed.
    candidate_id = await exam_server.candidate_id(person.ticket)
    await proctor.command("pause", candidate_id=candidate_id, reason="核对身份")
    await expect(page.locator("#pause-scope")).to_have_text("监考员暂停了您的考试。")
    await expect(page.locator("#btn-submit")).to_be_disabled()
    await proctor.command("resume", candidate_id=candidate_id)
    await expect(overlay).to_be_hidden()
    await expect(page.locator("#btn-submit")).to_be_enabled()

    # Extra time: the page takes the server's new figure at once.
    before_extra = await clock_seconds(page)
    await proctor.command(
        "extra_time", candidate_id=candidate_id, seconds=600, reason="电脑故障补时"
    )
    await expect(page.locator("#toast")).to_have_text("监考员为您延长了考试时间 10 分钟。")
    assert await clock_seconds(page) >= before_extra + 590
    await expect(page.locator("#top-clock")).to_have_attribute("data-level", "normal")
    await screens.shot(page, "extra-time")


async def test_a_forced_submit_ends_the_exam_on_the_page(
    exam_server: ExamServer,
    proctor: Proctor,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    ctx, _ = context
    person = exam_server.people[6]
    await exam_server.set_session(show_scores=False)
    page = await pages.open_page(ctx, exam_server, seat=person.seat)
    await pages.log_in(page, person)
    await pages.screen(page, "confirm")
    await page.click("#confirm-yes")
    await proctor.command("start")
    await pages.screen(page, "exam")
    await page.keyboard.press("A")
    await pages.saved(page)
    candidate_id = await exam_server.candidate_id(person.ticket)
    await proctor.command("force_submit", candidate_id=candidate_id, reason="考生违纪")
    await pages.screen(page, "done")
    await expect(page.locator("#done-reason")).to_have_text("监考员已为您收卷。")
    await expect(page.locator("#done-no-score")).to_be_visible()
    await expect(page.locator("#done-result")).to_be_hidden()
    await screens.shot(page, "force-submitted")
    # A reload shows the same, and the page holds no answers it could send.
    await page.reload()
    await pages.screen(page, "done")
    await expect(page.locator("#done-reason")).to_have_text("监考员已为您收卷。")

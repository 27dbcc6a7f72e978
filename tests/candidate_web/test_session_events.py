"""What the session does to the page: check-in not open yet, time running out, and a
candidate moved to another PC by the proctor."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from tests.candidate_web import pages
from tests.candidate_web.conftest import VIEWPORT, ExamServer, PageWatch, Proctor, Screens

pytestmark = pytest.mark.browser


async def test_login_before_check_in_opens_goes_on_by_itself(
    exam_server: ExamServer,
    console: Proctor,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    ctx, _ = context
    person = exam_server.people[9]
    page = await pages.open_page(ctx, exam_server, seat=person.seat)
    await pages.log_in(page, person)
    await expect(page.locator("#login-message")).to_have_text(
        "考试尚未开放签到，请稍候。系统将自动重试…", timeout=pages.TIMEOUT_MS
    )
    await screens.shot(page, "check-in-not-open")
    await console.command("open_checkin")
    await pages.screen(page, "confirm")
    await expect(page.locator("#id-name")).to_have_text(person.name)


async def test_time_running_out_submits_the_paper_with_every_answer(
    exam_server: ExamServer,
    proctor: Proctor,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    ctx, _ = context
    person = exam_server.people[10]
    await exam_server.set_session(duration_s=6)
    page = await pages.open_page(ctx, exam_server, seat=person.seat)
    await pages.log_in(page, person)
    await pages.screen(page, "confirm")
    await page.click("#confirm-yes")
    await proctor.command("start")
    await pages.screen(page, "exam")
    await page.keyboard.press("C")
    await pages.saved(page)
    shown = await pages.item(page)
    await pages.screen(page, "done")
    await expect(page.locator("#done-reason")).to_have_text("考试时间到，系统已自动交卷。")
    await screens.shot(page, "timed-out")
    assert await exam_server.stored_answers(person.ticket) == {shown.item_id: shown.selected}
    result = None
    for _ in range(100):  # grading follows the submission
        result = await exam_server.result(person.ticket)
        if result is not None:
            break
        await asyncio.sleep(0.1)
    assert result is not None and result.submit_reason == "timeout"


async def test_moving_to_another_pc_needs_the_proctor_and_keeps_the_answers(
    exam_server: ExamServer,
    proctor: Proctor,
    browser: Browser,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    ctx, watch = context
    person = exam_server.people[11]
    old_pc = await pages.open_page(ctx, exam_server, seat=person.seat)
    await pages.log_in(old_pc, person)
    await pages.screen(old_pc, "confirm")
    await old_pc.click("#confirm-yes")
    await proctor.command("start")
    await pages.screen(old_pc, "exam")
    await old_pc.keyboard.press("D")
    await pages.saved(old_pc)
    shown = await pages.item(old_pc)

    # Another PC is another browser profile: no localStorage, no resume token.
    other = await browser.new_context(viewport=VIEWPORT)
    other.on("page", watch.attach)
    try:
        new_pc = await pages.open_page(other, exam_server, seat=30)
        await pages.log_in(new_pc, person)
        await expect(new_pc.locator("#login-message")).to_have_text(
            "该考生已在其他电脑登录。如需换机，请举手请监考员解锁。"
        )
        await screens.shot(new_pc, "refused-elsewhere")

        candidate_id = await exam_server.candidate_id(person.ticket)
        await proctor.command("unlock", candidate_id=candidate_id, reason="原机位故障")
        await pages.log_in(new_pc, person)
        await pages.screen(new_pc, "confirm")
        await expect(new_pc.locator("#id-seat")).to_have_text(str(person.seat))
        await new_pc.click("#confirm-yes")
        await pages.screen(new_pc, "exam")
        assert (await pages.item(new_pc)).selected == shown.selected
        await screens.shot(new_pc, "continued-on-new-pc")

        # The old PC is told, and sends nothing more.
        await pages.screen(old_pc, "login")
        await expect(old_pc.locator("#login-message")).to_have_text(
            "您已在另一台电脑登录，本机的登录已结束。"
        )
        await screens.shot(old_pc, "old-pc-logged-out")
    finally:
        await other.close()

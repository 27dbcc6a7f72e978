"""The candidate's whole exam in a real browser: login to result, every item type."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, expect

from tests.candidate_web import pages
from tests.candidate_web.conftest import ExamServer, PageWatch, Proctor, Screens

pytestmark = pytest.mark.browser


async def test_login_answer_every_type_submit_and_see_the_result(
    exam_server: ExamServer,
    proctor: Proctor,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    ctx, _ = context
    person = exam_server.people[0]
    page = await pages.open_page(ctx, exam_server, seat=person.seat)
    await expect(page.locator("#login-seat")).to_have_text(str(person.seat))
    assert "seat=" not in page.url  # the seat went to localStorage, not the address bar
    await screens.shot(page, "login")

    # A wrong ID-card number is refused with a clear message.
    await page.fill("#ticket", person.ticket)
    await page.fill("#id-number", "110101199003070000")
    await page.click("#login-submit")
    await expect(page.locator("#login-message")).to_have_text("准考证号或身份证号不正确。")
    await screens.shot(page, "login-refused")

    await pages.log_in(page, person)
    await pages.screen(page, "confirm")
    await expect(page.locator("#id-name")).to_have_text(person.name)
    await expect(page.locator("#id-occupation")).to_have_text("电工")
    await expect(page.locator("#id-level")).to_have_text("高级（三级）")
    await expect(page.locator("#id-seat")).to_have_text(str(person.seat))
    await screens.shot(page, "identity")
    await page.click("#confirm-yes")
    await pages.screen(page, "waiting")
    await expect(page.locator("#wait-duration")).to_have_text("考试时长 90 分钟")
    await expect(page.locator("#item-options button")).to_have_count(0)  # nothing yet
    await screens.shot(page, "waiting-room")

    await proctor.command("start")
    await pages.screen(page, "exam")
    first = await pages.at_item(page, 1)
    assert first.type_label == "单选题"
    await expect(page.locator("#clock-value")).to_have_text(re.compile(r"^01:(29|30):\d\d$"))
    await expect(page.locator("#sheet-count")).to_have_text("已答 0 / 100")

    # Single choice: click option B.
    await page.locator("#item-options button.option").nth(1).click()
    await pages.saved(page)
    single = await pages.item(page)
    assert single.selected == [single.options[1]]
    await screens.shot(page, "single-choice")

    # Multiple choice (section 2 starts at 61): options A and C, via the answer sheet.
    multiple = await pages.jump(page, 61)
    assert multiple.type_label == "多选题"
    await page.locator("#item-options button.option").nth(0).click()
    await page.locator("#item-options button.option").nth(2).click()
    await pages.saved(page)
    multiple = await pages.item(page)
    assert multiple.selected == [multiple.options[0], multiple.options[2]]
    await page.click("#btn-flag")  # flag it for review
    await expect(page.locator("#item-flag-badge")).to_be_visible()
    await pages.saved(page)
    await screens.shot(page, "multiple-choice-flagged")

    # True/false (section 3 starts at 81): 错误 is the second choice.
    tf = await pages.jump(page, 81)
    assert tf.type_label == "判断题"
    await expect(page.locator("#item-options button.option")).to_have_text(["A正确", "B错误"])
    await page.locator("#item-options button.option").nth(1).click()
    await pages.saved(page)
    await screens.shot(page, "true-false")

    # Next / previous buttons move one item.
    await page.click("#btn-next")
    await pages.at_item(page, 82)
    await page.click("#btn-prev")
    assert (await pages.at_item(page, 81)).selected == ["false"]

    assert {"answered", "current"} <= await pages.cell_classes(page, 81)
    assert {"answered", "flagged"} <= await pages.cell_classes(page, 61)
    assert "answered" not in await pages.cell_classes(page, 2)
    await expect(page.locator("#sheet-count")).to_have_text("已答 3 / 100")

    # What the server holds is exactly what the page shows.
    assert await exam_server.stored_answers(person.ticket) == {
        single.item_id: [single.options[1]],
        multiple.item_id: sorted([multiple.options[0], multiple.options[2]]),
        tf.item_id: ["false"],
    }
    assert await exam_server.stored_flags(person.ticket) == {multiple.item_id}

    # Submit: the confirmation counts unanswered and flagged items; going back is possible.
    await page.click("#btn-submit")
    dialog = page.locator("#submit-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#submit-answered")).to_have_text("已答 3 / 100 题")
    await expect(page.locator("#submit-unanswered")).to_have_text("未答 97 题")
    await expect(page.locator("#submit-flagged")).to_have_text("标记待检查 1 题")
    await expect(page.locator("#submit-flagged-list")).to_have_text("标记题号：61")
    await screens.shot(page, "submit-confirmation")
    await page.click("#submit-cancel")
    await expect(dialog).to_be_hidden()
    await page.click("#btn-submit")
    await page.click("#submit-confirm")

    await pages.screen(page, "done")
    await expect(page.locator("#done-heading")).to_have_text("试卷已提交")
    await expect(page.locator("#done-reason")).to_have_text("您已交卷。")
    # DEMO-01 shows scores: the graded result arrives without a reload.
    await expect(page.locator("#done-result")).to_be_visible(timeout=pages.TIMEOUT_MS)
    result = await exam_server.result(person.ticket)
    assert result is not None
    total = f"{round(result.score, 2):g}"
    await expect(page.locator("#result-total")).to_have_text(
        f"{total} 分（满分 {round(result.max_score, 2):g} 分）"
    )
    await expect(page.locator("#result-verdict")).to_have_text(
        "合格" if result.passed else "不合格"
    )
    await screens.shot(page, "result")

    await page.click("#done-exit")
    await pages.screen(page, "login")
    await expect(page.locator("#ticket")).to_have_value("")


async def test_language_switch_to_english_and_back(
    exam_server: ExamServer,
    proctor: Proctor,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    ctx, _ = context
    person = exam_server.people[1]
    page = await pages.open_page(ctx, exam_server, seat=person.seat)
    await page.locator("#screen-login .lang-toggle").click()
    await expect(page.locator("#screen-login h1")).to_have_text("Candidate login")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await pages.log_in(page, person)
    await pages.screen(page, "confirm")
    await page.click("#confirm-yes")
    await pages.screen(page, "waiting")
    await proctor.command("start")
    await pages.screen(page, "exam")
    await expect(page.locator("#item-type")).to_have_text("Single choice")
    await expect(page.locator("#item-number")).to_have_text("Item 1 of 100")
    await screens.shot(page, "exam-in-english")
    # The choice survives a reload.
    await page.reload()
    await pages.screen(page, "exam")
    await expect(page.locator("#item-number")).to_have_text("Item 1 of 100")
    await page.locator("#topbar .lang-toggle").click()
    await expect(page.locator("#item-number")).to_have_text("第 1 题 / 共 100 题")
    await expect(page.locator("#sheet-title")).to_have_text("答题卡")

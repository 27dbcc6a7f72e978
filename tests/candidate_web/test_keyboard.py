"""The whole exam without a mouse: login, identity, answering every type, submitting."""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.candidate_web import pages
from tests.candidate_web.conftest import ExamServer, PageWatch, Proctor, Screens

pytestmark = pytest.mark.browser


async def focused_id(page: Page) -> str:
    return str(await page.evaluate("document.activeElement && document.activeElement.id"))


async def tab_to(page: Page, element_id: str, limit: int = 25) -> None:
    for _ in range(limit):
        if await focused_id(page) == element_id:
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


async def test_keyboard_only_exam(
    exam_server: ExamServer,
    proctor: Proctor,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    ctx, _ = context
    person = exam_server.people[7]
    await exam_server.set_session(show_scores=False)
    page = await pages.open_page(ctx, exam_server, seat=person.seat)
    keys = page.keyboard

    # Login: the ticket field has focus; Tab to the ID field; Enter submits.
    assert await focused_id(page) == "ticket"
    await keys.type(person.ticket)
    await keys.press("Tab")
    await keys.type(person.id_number.lower())  # a lowercase x is accepted
    await keys.press("Enter")
    await pages.screen(page, "confirm")
    assert await focused_id(page) == "confirm-yes"
    await keys.press("Enter")
    await pages.screen(page, "waiting")
    await proctor.command("start")
    await pages.screen(page, "exam")

    # Single choice by digit, then by letter on the next item.
    await keys.press("2")
    first = await pages.item(page)
    assert first.selected == [first.options[1]]
    await keys.press("ArrowRight")
    await pages.at_item(page, 2)
    await keys.press("c")
    second = await pages.item(page)
    assert second.selected == [second.options[2]]
    await keys.press("ArrowLeft")
    assert (await pages.at_item(page, 1)).selected == [first.options[1]]

    # Multiple choice: item 61, toggling with letters; flag it with M.
    await keys.press("Home")
    for _ in range(60):
        await keys.press("PageDown")
    multiple = await pages.at_item(page, 61)
    assert multiple.type_label == "多选题"
    for key in ("A", "D", "A", "B"):
        await keys.press(key)
    multiple = await pages.item(page)
    assert multiple.selected == [multiple.options[1], multiple.options[3]]
    await keys.press("m")
    await expect(page.locator("#item-flag-badge")).to_be_visible()
    # Arrow down moves focus onto the options; Space toggles the focused one.
    await keys.press("ArrowDown")
    await keys.press("ArrowDown")
    await keys.press("ArrowDown")
    await keys.press("Space")
    multiple = await pages.item(page)
    assert multiple.selected == [multiple.options[1], multiple.options[2], multiple.options[3]]

    # True/false: the last item; 1 is 正确.
    await keys.press("End")
    tf = await pages.at_item(page, 100)
    assert tf.type_label == "判断题"
    await keys.press("1")
    assert (await pages.item(page)).selected == ["true"]

    # Text size with + and -.
    card = page.locator("#item-card")
    await expect(card).to_have_class("item-card size-1")
    await keys.press("+")
    await keys.press("+")
    await expect(card).to_have_class("item-card size-3")
    await screens.shot(page, "larger-text")
    await keys.press("-")
    await expect(card).to_have_class("item-card size-2")

    await pages.saved(page)
    assert await exam_server.stored_answers(person.ticket) == {
        first.item_id: [first.options[1]],
        second.item_id: [second.options[2]],
        multiple.item_id: sorted(multiple.selected),
        tf.item_id: ["true"],
    }
    assert await exam_server.stored_flags(person.ticket) == {multiple.item_id}

    # Submit: Tab reaches 交卷; Escape closes the confirmation, Enter on 确认交卷 submits.
    await tab_to(page, "btn-submit")
    await keys.press("Enter")
    await expect(page.locator("#submit-dialog")).to_be_visible()
    assert await focused_id(page) == "submit-cancel"
    await keys.press("Escape")
    await expect(page.locator("#submit-dialog")).to_be_hidden()
    assert await focused_id(page) == "btn-submit"
    await keys.press("Enter")
    await expect(page.locator("#submit-unanswered")).to_have_text("未答 96 题")
    await keys.press("Tab")
    assert await focused_id(page) == "submit-confirm"
    await screens.shot(page, "submit-by-keyboard")
    await keys.press("Enter")
    await pages.screen(page, "done")
    await expect(page.locator("#done-no-score")).to_have_text("成绩经考评组审核签字后公布。")
    assert await focused_id(page) == "done-exit"
    await screens.shot(page, "done-without-score")

"""Practice (练习) in the browser: a candidate starts a practice with the code a proctor
gave out, checks an item and sees right/wrong with the key (the item is then locked),
hands in and reviews every item with its key; every screen says 练习 (issue 20)."""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.enrolment.sessions import SessionSpec, create_session
from cbt_server.keys import SESSIONMAKER
from tests.candidate_web import pages
from tests.candidate_web.conftest import ExamServer, PageWatch, Screens

pytestmark = pytest.mark.browser

CODE = "KX7P2M9Q"


async def add_practice(server: ExamServer) -> None:
    async with server.app[SESSIONMAKER].begin() as db:
        await create_session(
            db,
            SessionSpec(
                code="PRACTICE-01",
                blueprint_id="childcare-4-standard",
                room_code="PRACTICE-ROOM",
                seats=30,
                title="育婴员（中级）练习",
                mode="practice",
                feedback="item",
                practice_code=CODE,
            ),
            actor="test",
        )


async def test_practice_by_code_check_an_item_see_the_key_hand_in_and_review(
    exam_server: ExamServer, context: tuple[BrowserContext, PageWatch], screens: Screens
) -> None:
    ctx, _ = context
    await add_practice(exam_server)
    page = await pages.open_page(ctx, exam_server, seat=None)
    await expect(page.locator("#practice-form")).to_be_hidden()  # folded: exam day first
    summary = page.locator("#practice-login summary")
    await expect(summary).to_have_text("练习登录（凭练习码）")
    await summary.click()
    await page.fill("#practice-code", "kx7p-2m9q")  # as a candidate types it off the board
    await screens.shot(page, "practice-login")
    await page.click("#practice-submit")
    await pages.screen(page, "exam")  # no proctor start, no identity to confirm
    await expect(page.locator("#top-mode")).to_have_text("练习")
    await expect(page.locator("#top-mode")).to_be_visible()

    first = await pages.item(page)
    await expect(page.locator("#btn-check")).to_be_disabled()  # nothing to check yet
    await page.click("#item-options button.option >> nth=0")
    await pages.saved(page)
    await expect(page.locator("#btn-check")).to_be_enabled()
    await page.click("#btn-check")
    result = page.locator("#check-result")
    await expect(result).to_be_visible(timeout=pages.TIMEOUT_MS)
    await expect(result).to_contain_text("正确答案：")
    await expect(result).to_contain_text("你的答案：A")
    outcome = await result.get_attribute("data-outcome")
    await expect(result).to_contain_text("回答正确" if outcome == "correct" else "回答错误")
    await expect(page.locator("#btn-check")).to_be_hidden()
    # Locked: the options no longer take a click.
    await expect(page.locator("#item-options button.option >> nth=1")).to_be_disabled()
    await screens.shot(page, "practice-checked")

    async with exam_server.app[SESSIONMAKER]() as db:
        answer = await db.get(models.Answer, (await _only_candidate(db), first.item_id))
        assert answer is not None and answer.checked_at is not None

    await page.click("#btn-submit")
    await page.click("#submit-confirm")
    await pages.screen(page, "done")
    await expect(page.locator("#done-mode")).to_have_text("练习")
    await page.click("#btn-review")
    rows = page.locator("#review-list li")
    await expect(rows.first).to_be_visible(timeout=pages.TIMEOUT_MS)
    count = await rows.count()
    assert count == len(
        await page.evaluate("() => [...document.querySelectorAll('#sheet-grid button.cell')]")
    )
    await expect(rows.first).to_contain_text("正确答案：")
    await expect(rows.nth(1)).to_contain_text("未作答")
    await expect(page.locator("#review-summary")).to_contain_text(f"共 {count} 题")
    await screens.shot(page, "practice-review")


async def _only_candidate(db: AsyncSession) -> int:
    found = await db.scalar(
        select(models.Candidate.id)
        .join(models.ExamSession, models.ExamSession.id == models.Candidate.session_id)
        .where(models.ExamSession.code == "PRACTICE-01")
    )
    assert found is not None
    return found

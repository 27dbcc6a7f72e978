"""Fault, in a real browser: the candidate page lives through a SIGKILLed server.

Headless Chromium runs the real candidate page against the server child process. The
server is killed with SIGKILL while the candidate answers; the candidate answers on
while it is down (the page keeps those answers in localStorage and says it is offline);
the server is started again on the same database and port. The page must reconnect by
itself (no reload, no login), send what it kept, and show the clock with the downtime
given back.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.faults.checks import stored_answers
from tests.faults.conftest import Room, RoomFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000
DOWN_FOR_S = 8.0


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def screen(page: Page, name: str) -> None:
    await expect(page.locator("body")).to_have_attribute("data-screen", name, timeout=TIMEOUT_MS)


async def status(page: Page, state: str) -> None:
    await expect(page.locator("#status")).to_have_attribute("data-state", state, timeout=TIMEOUT_MS)


async def answer(page: Page, number: int, option: int) -> tuple[str, list[str]]:
    """Go to item `number` on the answer sheet, choose an option; (item id, selection)."""
    await page.click(f"#sheet-grid button.cell[data-index='{number - 1}']")
    card = page.locator("#item-card")
    await expect(card).to_have_attribute("data-number", str(number), timeout=TIMEOUT_MS)
    await page.locator("#item-options button.option").nth(option).click()
    chosen = page.locator("#item-options button.option[aria-checked='true']")
    await expect(chosen).not_to_have_count(0)
    ids = [str(await o.get_attribute("data-option-id")) for o in await chosen.all()]
    return str(await card.get_attribute("data-item-id")), ids


async def clock_s(page: Page) -> int:
    text = await page.locator("#clock-value").inner_text()
    match = re.fullmatch(r"(\d+):(\d\d):(\d\d)", text.strip())
    assert match, f"clock shows {text!r}"
    hours, minutes, seconds = (int(g) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


async def start_exam(room: Room, browser: Browser, errors: list[str]) -> Page:
    """Log the first candidate in on a fresh browser profile; uncaught page errors are
    collected in `errors`."""
    person = room.exam.people[0]
    context = await browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{room.server.base_url}/?seat={person.seat}")
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await page.fill("#ticket", person.ticket)
    await page.fill("#id-number", person.id_number)
    await page.click("#login-submit")
    await screen(page, "confirm")
    await page.click("#confirm-yes")
    await screen(page, "waiting")
    await room.proctor("start")
    await screen(page, "exam")
    return page


async def test_the_candidate_page_reconnects_by_itself_after_a_server_kill(
    room_factory: RoomFactory, browser: Browser
) -> None:
    room = await room_factory("sqlite", candidates=2)
    await room.server.start()
    errors: list[str] = []
    page = await start_exam(room, browser, errors)
    loop = asyncio.get_running_loop()
    chosen: dict[str, list[str]] = {}
    for number in (1, 2, 3):
        item, ids = await answer(page, number, number % 2)
        chosen[item] = ids
    await status(page, "saved")
    before_s, before_at = await clock_s(page), loop.time()

    await room.server.kill()
    for number in (4, 5, 61):  # answered while the server is down: kept on the PC
        item, ids = await answer(page, number, 1)
        chosen[item] = ids
    await status(page, "offline")
    assert "3" in await page.locator("#status").inner_text()  # three waiting to be saved
    await asyncio.sleep(DOWN_FOR_S)
    await room.server.start()

    await status(page, "saved")  # reconnected, logged in again and resent, by itself
    await screen(page, "exam")
    after_s, after_at = await clock_s(page), loop.time()
    person = room.exam.people[0]
    stored = (await stored_answers(room.settings, [person.id]))[person.id]
    assert {i: sorted(r.response) for i, r in stored.items()} == {
        i: sorted(r) for i, r in chosen.items()
    }
    # The page shows the server's figure: the downtime was given back (default policy),
    # so far less time is gone than the wall clock says (second-resolution display).
    gone = before_s - after_s
    wall = after_at - before_at
    assert gone <= wall - DOWN_FOR_S + 3, f"{gone=} s of {wall=:.1f} s"
    assert errors == []
    await page.context.close()

"""Driving the candidate page the way a candidate does (helpers for the browser tests)."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import BrowserContext, Page, expect

from tests.candidate_web.conftest import ExamServer, Person

TIMEOUT_MS = 15_000


async def open_page(ctx: BrowserContext, server: ExamServer, seat: int | None) -> Page:
    page = await ctx.new_page()
    query = f"?seat={seat}" if seat is not None else ""
    await page.goto(server.base_url + "/" + query)
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page


async def screen(page: Page, name: str) -> None:
    """Wait until screen `name` (login, confirm, waiting, exam, done) is the one shown."""
    await expect(page.locator("body")).to_have_attribute("data-screen", name, timeout=TIMEOUT_MS)
    await expect(page.locator(f"#screen-{name}")).to_be_visible()


async def log_in(page: Page, person: Person) -> None:
    await page.fill("#ticket", person.ticket)
    await page.fill("#id-number", person.id_number)
    await page.click("#login-submit")


async def saved(page: Page) -> None:
    """Wait until every answer on this page is acknowledged by the server."""
    await expect(page.locator("#status")).to_have_attribute(
        "data-state", "saved", timeout=TIMEOUT_MS
    )
    await expect(page.locator("#status")).to_have_text("已保存")


@dataclass(frozen=True)
class ItemOnScreen:
    item_id: str
    number: int
    type_label: str
    options: list[str]  # option ids in display order
    selected: list[str]


async def item(page: Page) -> ItemOnScreen:
    card = page.locator("#item-card")
    options = page.locator("#item-options button.option")
    ids = [str(await o.get_attribute("data-option-id")) for o in await options.all()]
    chosen = [
        str(await o.get_attribute("data-option-id"))
        for o in await options.all()
        if await o.get_attribute("aria-checked") == "true"
    ]
    return ItemOnScreen(
        item_id=str(await card.get_attribute("data-item-id")),
        number=int(str(await card.get_attribute("data-number"))),
        type_label=await page.locator("#item-type").inner_text(),
        options=ids,
        selected=chosen,
    )


async def at_item(page: Page, number: int) -> ItemOnScreen:
    await expect(page.locator("#item-card")).to_have_attribute(
        "data-number", str(number), timeout=TIMEOUT_MS
    )
    return await item(page)


async def jump(page: Page, number: int) -> ItemOnScreen:
    """Go to item `number` by clicking its cell on the answer sheet (答题卡)."""
    await page.click(f"#sheet-grid button.cell[data-index='{number - 1}']")
    return await at_item(page, number)


async def cell_classes(page: Page, number: int) -> set[str]:
    cell = page.locator(f"#sheet-grid button.cell[data-index='{number - 1}']")
    return set(str(await cell.get_attribute("class")).split())

"""The console fits the room, and identity at the seat, in headless Chromium.

A room of 40 seats (the demo's 30 and ten more) is shown without scrolling at 1024×768
and at 1366×768, laid out 5 × 8 as derived from its seat count; the candidate's photo is
on the confirm screen and on the seat card; the proctor marks a candidate 已核验 from the
card; three selected seats are paused in one bulk action; the banner clears itself.
The 1024×768 screenshot is saved as artifacts/screenshots/<test>/…-console-40-seats.png
(the README's picture, docs/img/console-40-seats.png, is a copy of it).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import select

from cbt_server.db import models
from cbt_server.demo import SESSION_CODE
from cbt_server.enrolment.photo_store import store_photos
from cbt_server.enrolment.photos import read_photos
from cbt_server.idcard import make_number
from cbt_server.keys import SESSIONMAKER
from tests.candidate_web import pages
from tests.candidate_web.conftest import (
    ExamServer,
    PageWatch,
    Person,
    Screens,
)
from tests.console.test_console_browser import TIMEOUT_MS, act, open_console, seat, sim
from tests.runtime.test_photos import jpeg, zipped

pytestmark = pytest.mark.browser

NO_SCROLL = """() => {
  const d = document.documentElement;
  return [d.scrollWidth, d.clientWidth, d.scrollHeight, d.clientHeight];
}"""


async def forty_seats(server: ExamServer) -> list[Person]:
    """Grow the demo room to 40 seats with ten more candidates; photos for seats 1–3."""
    async with server.app[SESSIONMAKER].begin() as db:
        exam = await db.scalar(
            select(models.ExamSession).where(models.ExamSession.code == SESSION_CODE)
        )
        assert exam is not None
        room = await db.get(models.Room, exam.room_id)
        assert room is not None
        room.seat_count = 40
        extra = [
            Person(
                f"2026900{n:03d}", make_number("320102", date(1990, 1, n - 30), n), f"考生{n}", n
            )
            for n in range(31, 41)
        ]
        db.add_all(
            models.Candidate(
                ticket=p.ticket,
                id_number=p.id_number,
                name=p.name,
                seat=p.seat,
                occupation=exam.occupation,
                level=exam.level,
                session_id=exam.id,
            )
            for p in extra
        )
        await db.flush()
        people = server.people[:3]
        photos = read_photos(
            zipped(
                {
                    f"{p.ticket}.jpg": jpeg(colour=c)
                    for p, c in zip(people, ("red", "green", "blue"), strict=True)
                }
            )
        )
        await store_photos(db, photos, "test")
    server.people = [*server.people, *extra]
    return server.people


async def assert_fits(page: Page) -> None:
    sizes = await page.evaluate(NO_SCROLL)
    scroll_w, client_w, scroll_h, client_h = sizes
    assert scroll_w <= client_w and scroll_h <= client_h, sizes


async def loaded(page: Page, selector: str) -> None:
    """The image is shown and decoded (a refused or broken one has no natural width)."""
    image = page.locator(selector)
    await expect(image).to_be_visible(timeout=TIMEOUT_MS)
    width = await image.evaluate("(img) => img.complete && img.naturalWidth")
    assert width and width > 0, selector


async def test_forty_seats_fit_photos_identity_and_bulk_pause(
    exam_server: ExamServer, context: tuple[BrowserContext, PageWatch], screens: Screens
) -> None:
    ctx, _ = context
    people = await forty_seats(exam_server)
    page = await open_console(ctx, exam_server)  # 1024×768
    assert await page.locator(".seat").count() == 40
    await expect(page.locator("#seats")).to_have_attribute("data-cols", "8")
    # Laid out as the room: seat 9 opens the second row, seat 40 ends the fifth.
    first, ninth, last = [await seat(page, people[n]).bounding_box() for n in (0, 8, 39)]
    assert first and ninth and last
    assert abs(ninth["x"] - first["x"]) < 2 and ninth["y"] > first["y"] + first["height"] - 2
    assert last["x"] > first["x"] and last["y"] > ninth["y"]
    await assert_fits(page)
    await expect(page.locator("#tab-chart")).to_be_disabled()

    # The candidate sees their photo on the confirm screen …
    await act(page, "open_checkin")
    holder = people[0]
    candidate = await pages.open_page(ctx, exam_server, seat=holder.seat)
    await pages.log_in(candidate, holder)
    await pages.screen(candidate, "confirm")
    await loaded(candidate, "#id-photo")
    await screens.shot(candidate, "confirm-with-photo")
    await candidate.click("#confirm-yes")
    await pages.screen(candidate, "waiting")
    # … and the proctor on the seat card; one without a photo shows none.
    await loaded(page, f'.seat[data-ticket="{holder.ticket}"] .photo')
    await expect(seat(page, people[3]).locator(".photo")).to_be_hidden()

    # 已核验 from the card: the dialog shows the photo large.
    await seat(page, holder).locator(".seat-who").click()
    await loaded(page, "#dialog-photo")
    await page.click("#dialog-confirm")
    await expect(seat(page, holder).locator(".verified")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.locator("#message")).to_have_text(re.compile("身份核验"))
    await expect(page.locator("#message")).to_be_hidden(timeout=10_000)  # clears itself

    # Three answering candidates, paused together.
    sims = [sim(p) for p in people[1:4]]
    try:
        for one in sims:
            await one.log_in(exam_server.ws_url)
        await page.locator('.room-actions button[data-action="start"]').click()
        await page.click("#dialog-confirm")
        await expect(page.locator("#session-state")).to_have_attribute("data-state", "started")
        for one in sims:
            await one.wait_paper()
        await pages.screen(candidate, "exam")
        await expect(page.locator("#bulk-count")).to_have_text("0")
        for person in people[1:4]:
            await seat(page, person).locator(".select").check()
        await expect(page.locator("#bulk-count")).to_have_text("3")
        await page.click('button[data-bulk="pause"]')
        await expect(page.locator("#dialog-title")).to_have_text(re.compile("3 个座位：2、3、4 号"))
        await page.fill("#dialog-reason", "三台机器同时蓝屏")
        await page.click("#dialog-confirm")
        for person in people[1:4]:
            await expect(seat(page, person)).to_have_attribute(
                "data-view", "paused", timeout=TIMEOUT_MS
            )
        await expect(seat(page, people[0])).to_have_attribute("data-view", "answering")
        await expect(page.locator("#message")).to_have_text(re.compile(r"3 个座位：2、3、4 号"))
        await expect(page.locator("#bulk-count")).to_have_text("0")
        for one in sims:
            assert one.client is not None
            paused = await one.client.expect("paused", wait=10)
            assert paused["reason"] == "三台机器同时蓝屏"
        await assert_fits(page)
        await screens.shot(page, "console-40-seats")
        await page.set_viewport_size({"width": 1366, "height": 768})
        await assert_fits(page)
        await screens.shot(page, "console-40-seats-1366")
    finally:
        for one in sims:
            await one.close()

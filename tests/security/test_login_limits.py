"""Login brute force is rate-limited: once the limit is reached, even the right
credentials are refused until the window has passed.

Candidates log in over /ws/candidate (ticket + ID-card number): 5 failures per ticket,
10 per seat and 30 per client address within the window. Staff sign in on /staff/login:
a number of attempts per client address and per username within the window (then 429
with Retry-After). The limiters take the moment of each attempt as an argument; here they
are handed a clock the test moves on, so that a window passes when the test says, and
not while a loaded machine hashes passwords.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from cbt_server.auth.config import AuthConfig
from cbt_server.keys import LOGIN_LIMITER, LOGIN_LIMITS
from cbt_server.protocol import SUBPROTOCOL
from tests.auth.factories import new_client, try_login
from tests.runtime.exam_setup import Person
from tests.runtime.wsclient import Client
from tests.security.conftest import ADMIN, PASSWORD, Site, SiteData, start_site

WRONG_ID = "110101199003070000"
WINDOW = 1.5


async def pc(site: Site, address: str = "127.0.0.1") -> Client:
    """A lab PC's connection to /ws/candidate, from `address` (another 127.0.0.x is
    another PC as far as the server can tell)."""
    ws = await connect(
        f"{site.ws_url}/ws/candidate",
        subprotocols=[Subprotocol(SUBPROTOCOL)],
        local_addr=(address, 0),
        ping_interval=None,
        open_timeout=10,
    )
    return Client(ws)


async def hello(client: Client, ticket: str, id_number: str, **extra: Any) -> dict[str, Any]:
    """Try a login on `client`: the `state` on success, else the `error`."""
    await client.send(
        {"type": "hello", "protocol": SUBPROTOCOL, "ticket": ticket, "id_number": id_number} | extra
    )
    while True:
        reply = await client.recv()
        if reply["type"] in ("state", "error"):
            return reply


class LimiterClock:
    """The monotonic seconds handed to a limiter in place of the server's own."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_000.0
        self._monkeypatch = monkeypatch

    def drive(self, limiter: object, *methods: str) -> None:
        """Make `limiter.method(key, now)` see this clock's `now`."""
        for name in methods:
            real = getattr(limiter, name)
            self._monkeypatch.setattr(
                limiter, name, lambda key, _now, real=real: real(key, self.now)
            )

    def advance(self, seconds: float) -> None:
        self.now += seconds


def shorten_windows(site: Site, monkeypatch: pytest.MonkeyPatch) -> LimiterClock:
    limits = site.app[LOGIN_LIMITS]
    clock = LimiterClock(monkeypatch)
    for limiter in (limits.ticket, limits.seat, limits.address):
        limiter.window = WINDOW
        clock.drive(limiter, "wait_time", "record")
    return clock


async def test_a_ticket_guessed_at_is_held_even_with_the_right_id(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = shorten_windows(site, monkeypatch)
    victim = site.s1.people[3]
    client = await pc(site)
    for _ in range(5):
        assert (await hello(client, victim.ticket, WRONG_ID))["code"] == "login_failed"
    refused = await hello(client, victim.ticket, victim.id_number)
    assert refused.get("code") == "rate_limited", refused.get("type")
    # The limit is on the ticket: the right ID-card number from another PC waits too.
    other_pc = await pc(site, "127.0.0.2")
    assert (await hello(other_pc, victim.ticket, victim.id_number))["code"] == "rate_limited"
    clock.advance(WINDOW + 0.2)
    state = await hello(other_pc, victim.ticket, victim.id_number)
    assert state["type"] == "state" and state["candidate"]["ticket"] == victim.ticket
    await client.close()
    await other_pc.close()


async def test_one_pc_cannot_spray_guesses_over_tickets_by_claiming_other_seats(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`seat` is the client's own claim, so each failure also counts against the address
    it came from (30 in the window, looser than the 10 per seat: a room behind a proxy
    shares one address)."""
    clock = shorten_windows(site, monkeypatch)
    people: list[Person] = site.s1.people
    client = await pc(site)
    for n in range(30):
        guess = await hello(client, people[10 + n].ticket, WRONG_ID, seat=100 + n)
        assert guess.get("code") == "login_failed", guess
    # The 31st attempt from this PC, right credentials, yet another seat: refused.
    target = people[50]
    refused = await hello(client, target.ticket, target.id_number, seat=999)
    assert refused.get("code") == "rate_limited", refused.get("type")
    # Another PC is not held up by this one.
    neighbour = await pc(site, "127.0.0.3")
    other = people[51]
    assert (await hello(neighbour, other.ticket, other.id_number))["type"] == "state"
    clock.advance(WINDOW + 0.2)
    assert (await hello(client, target.ticket, target.id_number, seat=7))["type"] == "state"
    await client.close()
    await neighbour.close()


async def test_a_pc_that_names_its_seat_is_held_after_ten_failures(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    shorten_windows(site, monkeypatch)
    people: list[Person] = site.s1.people
    client = await pc(site)
    for n in range(10):
        guess = await hello(client, people[60 + n].ticket, WRONG_ID, seat=12)
        assert guess.get("code") == "login_failed", guess
    target = people[75]
    assert (await hello(client, target.ticket, target.id_number, seat=12))["code"] == (
        "rate_limited"
    )
    await client.close()


async def test_junk_hellos_claiming_a_seat_do_not_block_that_seat_on_another_pc(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seat is the client's claim: the seat limit counts per claiming address, so ten
    junk logins naming seat 29 hold their own PC, not the real seat-29 PC (issue 18)."""
    shorten_windows(site, monkeypatch)
    people: list[Person] = site.s1.people
    junk = await pc(site, "127.0.0.2")
    for n in range(10):
        guess = await hello(junk, f"NOSUCH-{n}", WRONG_ID, seat=29)
        assert guess.get("code") == "login_failed", guess
    held = await hello(junk, people[80].ticket, people[80].id_number, seat=29)
    assert held.get("code") == "rate_limited", held.get("type")
    seat_29 = await pc(site, "127.0.0.4")
    real = people[81]
    state = await hello(seat_29, real.ticket, real.id_number, seat=29)
    assert state["type"] == "state", state
    await junk.close()
    await seat_29.close()


async def test_staff_login_is_refused_with_the_right_password_until_the_window_passes(
    site_template: SiteData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = 3
    site, runner = await start_site(
        tmp_path / "site",
        site_template,
        auth=AuthConfig(login_attempts=attempts, login_window_seconds=2, lockout_threshold=10),
    )
    clock = LimiterClock(monkeypatch)
    clock.drive(site.app[LOGIN_LIMITER], "hit")
    try:
        base = site.base_url
        async with new_client() as http:
            for _ in range(attempts):
                assert (await try_login(http, base, ADMIN, "not the password")).status == 401
            limited = await try_login(http, base, ADMIN, PASSWORD)
            assert limited.status == 429
            assert 1 <= int(limited.headers["Retry-After"]) <= 2
            assert "cbt_staff" not in limited.cookies
            clock.advance(2.2)
            signed_in = await try_login(http, base, ADMIN, PASSWORD)
            assert signed_in.status == 303
            assert signed_in.cookies["cbt_staff"].value
    finally:
        await runner.cleanup()

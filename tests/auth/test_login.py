"""Staff sign-in against a live server: cookies, lockout, rate limit, logout, expiry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yarl import URL

from cbt_server.auth.config import AuthConfig
from cbt_server.db.models import AuditEntry, LoginLock, StaffSession, User
from cbt_server.db.types import utcnow
from tests.auth.factories import PASSWORD, Site, login_token, new_client, signed_in, try_login
from tests.conftest import LiveServer

Maker = async_sessionmaker[AsyncSession]
StartServer = Callable[[AuthConfig], Awaitable[LiveServer]]


async def _actions(maker: Maker, actor: str) -> list[str]:
    async with maker() as db:
        return list(
            await db.scalars(
                select(AuditEntry.action).where(AuditEntry.actor == actor).order_by(AuditEntry.id)
            )
        )


async def test_login_sets_a_strict_httponly_cookie_and_audits(
    staff_server: LiveServer, sessionmaker: Maker
) -> None:
    base = staff_server.base_url
    async with new_client() as http:
        resp = await try_login(http, base, "proctor")
        assert resp.status == 303
        assert resp.headers["Location"] == "/console"
        cookie = resp.cookies["cbt_staff"]
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Strict"
        assert cookie["path"] == "/"
        assert not cookie["secure"]  # plain HTTP here; HTTPS requests get Secure
        assert len(cookie.value) >= 43
        async with http.get(f"{base}/console") as page:
            assert page.status == 200
            assert "proctor 老师" in await page.text()
    async with sessionmaker() as db:
        row = await db.scalar(select(StaffSession))
    assert row is not None and row.id != cookie.value  # only the hash is stored
    assert await _actions(sessionmaker, "proctor") == ["login.success"]


async def test_wrong_password_and_unknown_user_look_the_same(staff_server: LiveServer) -> None:
    base = staff_server.base_url
    async with new_client() as http:
        wrong = await try_login(http, base, "proctor", "not the password")
        unknown = await try_login(http, base, "nobody", "not the password")
        assert wrong.status == unknown.status == 401
        assert "cbt_staff" not in wrong.cookies
        async with http.get(f"{base}/console", allow_redirects=False) as page:
            assert page.status == 303
            assert page.headers["Location"].startswith("/staff/login?next=")


async def test_five_failures_lock_the_account_from_that_address_only(
    staff_server: LiveServer, sessionmaker: Maker
) -> None:
    base = staff_server.base_url
    async with new_client() as http:
        statuses = [(await try_login(http, base, "leader", f"guess-{i}")).status for i in range(5)]
        assert statuses == [401, 401, 401, 401, 423]
        # Locked here: even the right password is refused, and not checked.
        right = await try_login(http, base, "leader", PASSWORD)
        assert right.status == 423
        assert "cbt_staff" not in right.cookies
    # The owner of the account, at another PC, is not locked out.
    async with new_client(local_address="127.0.0.2") as http:
        assert (await try_login(http, base, "leader")).status == 303
    # The lab administrator sees where the account is locked from.
    http, _ = await signed_in(base, "admin")
    async with http, http.get(f"{base}/staff/users") as page:
        assert "在 127.0.0.1 上锁定" in await page.text()
    async with sessionmaker() as db:
        user = await db.scalar(select(User).where(User.username == "leader"))
        lock = await db.get(LoginLock, (site_user(user), "127.0.0.1"))
    assert user is not None and user.locked_until is None
    assert lock is not None and lock.locked_until is not None
    remaining = lock.locked_until - utcnow()
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
    assert await _actions(sessionmaker, "leader") == ["login.failure"] * 4 + [
        "login.locked",
        "login.refused",
        "login.success",
    ]
    # Once the lock has run out, the right password works from there again.
    async with sessionmaker.begin() as db:
        await db.execute(
            update(LoginLock)
            .where(LoginLock.address == "127.0.0.1")
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    async with new_client() as http:
        assert (await try_login(http, base, "leader")).status == 303


def site_user(user: User | None) -> int:
    assert user is not None
    return user.id


async def test_login_is_rate_limited_per_address(configured_server: StartServer) -> None:
    server = await configured_server(AuthConfig(login_attempts=4, login_window_seconds=60))
    base = server.base_url
    async with new_client() as http:
        statuses = [(await try_login(http, base, f"ghost{i}", "x")).status for i in range(4)]
        assert statuses == [401] * 4
        limited = await try_login(http, base, "proctor")
        assert limited.status == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert "cbt_staff" not in limited.cookies


async def test_login_form_token_is_required(staff_server: LiveServer) -> None:
    base = staff_server.base_url
    async with new_client() as http:
        await login_token(http, base)  # sets the cookie, but the form omits the token
        async with http.post(
            f"{base}/staff/login",
            data={"username": "proctor", "password": PASSWORD, "login_token": "forged"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 403
            assert "cbt_staff" not in resp.cookies
    async with (
        new_client() as http,  # no cookie at all (a cross-site form post)
        http.post(
            f"{base}/staff/login",
            data={"username": "proctor", "password": PASSWORD, "login_token": "x" * 43},
            allow_redirects=False,
        ) as resp,
    ):
        assert resp.status == 403


async def test_next_only_goes_to_this_site(staff_server: LiveServer) -> None:
    base = staff_server.base_url
    for target, expected in [
        ("/paperwork/sessions/S1/room-record", "/paperwork/sessions/S1/room-record"),
        ("//evil.example/x", "/console"),
        ("https://evil.example/", "/console"),
        ("/\\evil.example", "/console"),
    ]:
        async with new_client() as http:
            token = await login_token(http, base)
            async with http.post(
                f"{base}/staff/login",
                data={
                    "username": "proctor",
                    "password": PASSWORD,
                    "login_token": token,
                    "next": target,
                },
                allow_redirects=False,
            ) as resp:
                assert resp.status == 303
                assert resp.headers["Location"] == expected


async def test_logout_ends_the_session_for_good(
    staff_server: LiveServer, sessionmaker: Maker
) -> None:
    base = staff_server.base_url
    http, csrf = await signed_in(base, "supervisor")
    async with http:
        stolen = http.cookie_jar.filter_cookies(URL(base))["cbt_staff"].value
        async with http.post(
            f"{base}/staff/logout", data={"csrf_token": csrf}, allow_redirects=False
        ) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/staff/login"
    # Replaying the old cookie after logout gets nowhere.
    async with (
        new_client() as other,
        other.get(
            f"{base}/api/staff/audit/verify", headers={"Cookie": f"cbt_staff={stolen}"}
        ) as resp,
    ):
        assert resp.status == 401
    assert await _actions(sessionmaker, "supervisor") == ["login.success", "logout"]


async def test_idle_and_disabled_sessions_end(
    staff_server: LiveServer, sessionmaker: Maker
) -> None:
    base = staff_server.base_url
    http, _ = await signed_in(base, "proctor")
    async with http:
        async with sessionmaker.begin() as db:
            await db.execute(
                update(StaffSession).values(last_seen_at=utcnow() - timedelta(hours=5))
            )
        async with http.get(f"{base}/console", allow_redirects=False) as resp:
            assert resp.status == 303
    http, _ = await signed_in(base, "proctor")
    async with http:
        async with sessionmaker.begin() as db:
            await db.execute(update(User).where(User.username == "proctor").values(disabled=True))
        async with http.get(f"{base}/api/staff/sessions/S1/audit") as resp:
            assert resp.status == 401


async def test_a_new_login_replaces_the_browser_session(
    staff_server: LiveServer, site: Site, sessionmaker: Maker
) -> None:
    base = staff_server.base_url
    async with new_client() as http:
        assert (await try_login(http, base, "proctor")).status == 303
        assert (await try_login(http, base, "supervisor")).status == 303
    async with sessionmaker() as db:
        rows = list(await db.scalars(select(StaffSession).order_by(StaffSession.created_at)))
    assert [r.user_id for r in rows] == [site.users["proctor"], site.users["supervisor"]]
    assert rows[0].revoked_at is not None and rows[1].revoked_at is None


async def test_guesses_at_one_account_from_many_addresses_lock_it_everywhere(
    configured_server: StartServer, sessionmaker: Maker
) -> None:
    """No in-memory limit per username (it locked the owner out too); the account-wide
    count in the database stops spraying from many addresses instead."""
    server = await configured_server(AuthConfig(login_attempts=3, account_lockout_threshold=4))
    base = server.base_url
    statuses = []
    for n in (2, 3, 4, 5):  # four different client addresses, one account
        async with new_client(local_address=f"127.0.0.{n}") as http:
            statuses.append((await try_login(http, base, "proctor", "bad")).status)
    assert statuses == [401, 401, 401, 423]
    async with new_client(local_address="127.0.0.6") as http:
        locked = await try_login(http, base, "proctor", PASSWORD)
        assert locked.status == 423
        assert "cbt_staff" not in locked.cookies
        # The address itself is not limited: another account logs in from it.
        assert (await try_login(http, base, "leader")).status == 303
    async with sessionmaker() as db:
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.action == "login.locked"))
    assert entry is not None and entry.data["scope"] == "account"
    assert entry.reason == "4 failed logins from any address"

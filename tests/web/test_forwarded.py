"""X-Forwarded-For and X-Forwarded-Proto are believed from configured trusted proxies
only: from anyone else a forged header changes neither the client's address (its limits,
the audit log) nor the scheme (the cookies' Secure flag)."""

from __future__ import annotations

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from cbt_server.protocol import SUBPROTOCOL
from cbt_server.settings import Settings
from cbt_server.web.forwarded import client_address, trusted
from tests.conftest import LiveServer, ServerFactory

PROXY = ("127.0.0.1/32",)


async def socket_from(
    server: LiveServer, address: str, forwarded_for: str
) -> ClientConnection | InvalidStatus:
    """An idle /ws/candidate socket from `address` claiming to forward `forwarded_for`;
    the refusal if the upgrade is refused."""
    try:
        return await connect(
            f"{server.ws_url}/ws/candidate",
            subprotocols=[Subprotocol(SUBPROTOCOL)],
            local_addr=(address, 0),
            additional_headers={"X-Forwarded-For": forwarded_for},
            open_timeout=10,
        )
    except InvalidStatus as refused:
        return refused


async def login_cookie_is_secure(server: LiveServer) -> bool:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.base_url}/staff/login", headers={"X-Forwarded-Proto": "https"}) as page,
    ):
        assert page.status == 200
        return all(morsel["secure"] for morsel in page.cookies.values())


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    server_factory: ServerFactory, settings: Settings
) -> None:
    server = await server_factory(settings.replace(ws_pending_per_address=1))
    assert not await login_cookie_is_secure(server)
    first = await socket_from(server, "127.0.0.1", "10.0.0.1")
    assert isinstance(first, ClientConnection)
    # Another forged client address does not escape this PC's cap.
    second = await socket_from(server, "127.0.0.1", "10.0.0.2")
    assert isinstance(second, InvalidStatus) and second.response.status_code == 429
    assert b"from 127.0.0.1 " in second.response.body
    await first.close()


async def test_a_trusted_proxy_names_the_client_and_its_scheme(
    server_factory: ServerFactory, settings: Settings
) -> None:
    server = await server_factory(settings.replace(ws_pending_per_address=1, trusted_proxies=PROXY))
    assert await login_cookie_is_secure(server)
    opened = [await socket_from(server, "127.0.0.1", f"10.0.0.{n}") for n in (1, 2)]
    assert all(isinstance(s, ClientConnection) for s in opened)
    again = await socket_from(server, "127.0.0.1", "10.0.0.1")
    assert isinstance(again, InvalidStatus) and again.response.status_code == 429
    assert b"from 10.0.0.1 " in again.response.body
    # 127.0.0.2 is no trusted proxy: its header is ignored, its own address counts.
    other = await socket_from(server, "127.0.0.2", "10.0.0.3")
    assert isinstance(other, ClientConnection)
    forged = await socket_from(server, "127.0.0.2", "10.0.0.4")
    assert isinstance(forged, InvalidStatus) and b"from 127.0.0.2 " in forged.response.body
    for socket in (*opened, other):
        assert isinstance(socket, ClientConnection)
        await socket.close()


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("10.0.0.7", ["1.2.3.4"], "10.0.0.7"),  # not a proxy: the header is ignored
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["10.0.0.5"], "10.0.0.5"),
        ("127.0.0.1", ["6.6.6.6, 10.0.0.5"], "10.0.0.5"),  # the left is the client's own
        ("127.0.0.1", ["6.6.6.6", "10.0.0.5, 127.0.0.1"], "10.0.0.5"),  # proxies in a row
        ("127.0.0.1", ["10.0.0.5, junk"], "127.0.0.1"),
        ("::ffff:127.0.0.1", ["10.0.0.5"], "10.0.0.5"),
    ],
)
def test_the_client_is_the_nearest_address_no_trusted_proxy_added(
    peer: str, header: list[str], client: str
) -> None:
    import ipaddress

    networks = [ipaddress.ip_network("127.0.0.0/8")]
    assert client_address(peer, header, networks) == client
    assert trusted("127.0.0.9", networks) and not trusted("junk", networks)

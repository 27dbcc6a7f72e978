"""`X-Forwarded-For` and `X-Forwarded-Proto`, believed only from trusted proxies.

Behind a TLS terminator on the same machine the server sees every client at the proxy's
address and over plain HTTP. A proxy listed in the setting `trusted_proxies` may tell
the client's address (for the login limits, the caps on sockets not logged in and the
audit log) and whether the client came over HTTPS (for the cookies' Secure flag). From
anyone else these headers are ignored: a lab PC writing `X-Forwarded-For: 10.0.0.99`
must not escape its own address's limits.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def trusted(address: str | None, networks: Sequence[Network]) -> bool:
    found = _address(address) if address else None
    return found is not None and any(found in network for network in networks)


def client_address(peer: str, forwarded_for: Sequence[str], networks: Sequence[Network]) -> str:
    """The client's address: the peer, unless it is a trusted proxy; then the nearest
    address in X-Forwarded-For that is not itself a trusted proxy (read from the right,
    since a client may put anything at the left)."""
    if not trusted(peer, networks):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage from a proxy's client: keep the last address known to be true
        client = str(address)
        if not trusted(client, networks):
            break
    return client


def middlewares(trusted_proxies: Sequence[str]) -> list[Middleware]:
    """The middleware that corrects `remote` and `scheme` from a trusted proxy's headers;
    none when no proxy is trusted (the headers are then never read)."""
    networks = tuple(ipaddress.ip_network(n, strict=False) for n in trusted_proxies)
    if not networks:
        return []

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote
        if peer is None or not trusted(peer, networks):
            return await handler(request)
        remote = client_address(peer, request.headers.getall("X-Forwarded-For", []), networks)
        protos = request.headers.getall("X-Forwarded-Proto", [])
        scheme = protos[-1].split(",")[-1].strip().lower() if protos else request.scheme
        if scheme not in ("http", "https"):
            scheme = request.scheme
        return await handler(request.clone(remote=remote, scheme=scheme))

    return [forwarded]

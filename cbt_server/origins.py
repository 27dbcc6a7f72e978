"""Which browser origins are this site: the WebSocket upgrade's Origin check.

An Origin is accepted when it is one of the site's configured public origins (setting
`public_origins`, plus `allowed_origins`), or when it names, as an IP address literal
(or `localhost` on a loopback address), the very address and port the connection
arrived at. The request's own Host header is never trusted: a DNS-rebinding page at
`http://evil.example:8080`, its name pointed at the server, sends a matching Host and
Origin, and passed the old check (issue 18). No I/O here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize(origin: str) -> str:
    """`scheme://host[:port]` in lower case without a default port; ValueError if `origin`
    is not an http(s) origin (no path, query, user or fragment)."""
    parts = urlsplit(origin.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an http(s) origin: {origin!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"an origin is scheme://host[:port] only: {origin!r}")
    port = parts.port  # ValueError if out of range
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_origins(text: str) -> tuple[str, ...]:
    """A comma-separated list of origins, normalized (for the settings)."""
    return tuple(normalize(part) for part in text.split(",") if part.strip())


def own_origin(origin: str, local_address: str | None, local_port: int | None) -> bool:
    """Whether `origin` names the address and port the connection arrived at, as an IP
    literal, or as `localhost` when that address is a loopback one."""
    if local_address is None or local_port is None:
        return False
    try:
        parts = urlsplit(origin)
        scheme = parts.scheme.lower()
        port = parts.port or DEFAULT_PORTS.get(scheme)
        local = ipaddress.ip_address(local_address.split("%", 1)[0])
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or port != local_port:
        return False
    if host == "localhost":
        return local.is_loopback
    try:
        named = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: only the configured origins may be names
    if isinstance(local, ipaddress.IPv6Address) and local.ipv4_mapped is not None:
        local = local.ipv4_mapped
    return named == local


def accepted(
    origin: str,
    configured: Iterable[str],
    local_address: str | None,
    local_port: int | None,
) -> bool:
    """Whether a browser page at `origin` may open a WebSocket here."""
    try:
        if normalize(origin) in {normalize(o) for o in configured}:
            return True
    except ValueError:
        return False
    return own_origin(origin, local_address, local_port)

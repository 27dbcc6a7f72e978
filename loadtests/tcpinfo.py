"""Bytes a TCP connection carried, from the kernel's `TCP_INFO` (Linux).

`tcpi_bytes_acked` (sent by us and acknowledged by the peer) and `tcpi_bytes_received`
are TCP payload bytes: here the HTTP upgrade and the WebSocket frames, compressed as they
went over the wire, without TCP/IP headers.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Protocol

_BYTES_OFFSET = 120  # struct tcp_info: ... tcpi_max_pacing_rate (u64) ends at 120
_INFO_LEN = 136


class HasSockopt(Protocol):
    """A socket, or asyncio's TransportSocket wrapper of one."""

    def getsockopt(self, level: int, option: int, buflen: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Traffic:
    sent: int
    received: int


def traffic(sock: HasSockopt) -> Traffic | None:
    """Payload bytes sent and received so far on `sock`; None if the kernel does not say."""
    tcp_info = getattr(socket, "TCP_INFO", None)
    if tcp_info is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, tcp_info, _INFO_LEN)
    except OSError:
        return None
    if len(raw) < _INFO_LEN:
        return None  # a kernel older than 4.2 has no byte counters
    sent, received = struct.unpack_from("=QQ", raw, _BYTES_OFFSET)
    return Traffic(sent=sent, received=received)


class TrafficMeter:
    """The byte counts of one connection, remembered as it goes: a socket the server has
    already closed cannot be asked any more, so the last reading stands in for it."""

    def __init__(self, sock: HasSockopt | None) -> None:
        self._sock = sock
        self.last: Traffic | None = None

    def read(self) -> Traffic | None:
        if self._sock is not None:
            now = traffic(self._sock)
            if now is not None:
                self.last = now
        return self.last

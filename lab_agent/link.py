"""The link to the CBT server: round trip, download and upload throughput, report upload.

Standard library only (http.client) so the agent needs nothing extra on a lab PC.
All endpoints live under ``/api/v1/lab/`` (see docs/lab-readiness.md). Every
failure becomes a ``ServerError`` whose message names the URL and the cause.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import ssl
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from . import __version__

API_PREFIX = "/api/v1/lab"
MAX_TRANSFER = 16 * 1024 * 1024
FIRST_TRANSFER = 256 * 1024
CHUNK = 64 * 1024
DEFAULT_TIMEOUT = 20.0

# Called with (bytes done, seconds since the transfer started).
ProgressFn = Callable[[int, float], None]


class TransferProgress(Protocol):
    """Follows one transfer: its bytes as they go, then its measured duration."""

    def __call__(self, done: int, elapsed: float) -> None: ...

    def finished(self, nbytes: int, seconds: float) -> None: ...


class ServerError(Exception):
    """The server could not be reached, or did not answer as a CBT server should."""


@dataclass(frozen=True)
class LinkFigures:
    """Measured link to the server."""

    down_mbps: float
    up_mbps: float
    rtt_ms: float


def mbps(nbytes: int, seconds: float) -> float:
    """Megabits (10^6 bits) per second."""
    return nbytes * 8 / seconds / 1e6 if seconds > 0 else float("inf")


class LabClient:
    """HTTP client for the server's lab endpoints, over one kept-alive connection."""

    def __init__(
        self,
        server: str,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        source_address: str | None = None,
    ):
        parts = urlsplit(server.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"--server must be an http:// or https:// URL with a host, not {server!r}"
            )
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"--server has a bad port: {server!r}") from None
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = port
        self.base_path = parts.path.rstrip("/")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.token = token
        self.timeout = timeout
        self.source = (source_address, 0) if source_address else None
        self._conn: http.client.HTTPConnection | None = None

    def url(self, endpoint: str, query: dict[str, Any] | None = None) -> str:
        """Full URL of a lab endpoint, e.g. ``url("ping")``."""
        return self.origin + self._path(endpoint, query)

    def close(self) -> None:
        """Close the connection (the client reconnects on its next request)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def ping(self) -> float:
        """One round trip to ``GET ping``; returns its duration in seconds."""
        started = time.perf_counter()
        data = self._call("GET", "ping")
        elapsed = time.perf_counter() - started
        if not isinstance(data, dict) or data.get("ok") is not True:
            raise ServerError(f"{self.url('ping')} did not answer like a CBT server: {data!r}")
        return elapsed

    def rtt_ms(self, count: int, on_progress: Callable[[int], None] | None = None) -> float:
        """Median round trip in ms over ``count`` pings, after one that opens the connection."""
        self.ping()
        samples = []
        for i in range(max(count, 1)):
            samples.append(self.ping() * 1000)
            if on_progress is not None:
                on_progress(i + 1)
        return statistics.median(samples)

    def download(self, nbytes: int, on_progress: ProgressFn | None = None) -> float:
        """Fetch ``nbytes`` random bytes; returns seconds from request to last byte."""
        path = self._path("download", {"bytes": nbytes})
        url = self.origin + path
        with _translate(url):
            conn = self._connection()
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=self._headers())
                resp = conn.getresponse()
                if resp.status != 200:
                    _raise_status(url, resp.status, resp.reason, resp.read(2048))
                received = 0
                while True:
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    received += len(chunk)
                    if on_progress is not None:
                        on_progress(received, time.perf_counter() - started)
            except BaseException:
                self.close()
                raise
            elapsed = time.perf_counter() - started
        if received != nbytes:
            raise ServerError(f"{url} sent {received} bytes instead of {nbytes}")
        return elapsed

    def upload(self, nbytes: int, on_progress: ProgressFn | None = None) -> float:
        """Send ``nbytes`` random bytes; returns seconds from first byte to the server's answer."""
        path = self._path("upload")
        url = self.origin + path
        with _translate(url):
            conn = self._connection()
            started = time.perf_counter()
            try:
                conn.putrequest("POST", path, skip_accept_encoding=True)
                headers = self._headers()
                headers["Content-Type"] = "application/octet-stream"
                headers["Content-Length"] = str(nbytes)
                for name, value in headers.items():
                    conn.putheader(name, value)
                conn.endheaders()
                sent = 0
                while sent < nbytes:
                    chunk = os.urandom(min(CHUNK, nbytes - sent))
                    conn.send(chunk)
                    sent += len(chunk)
                    if on_progress is not None:
                        on_progress(sent, time.perf_counter() - started)
                resp = conn.getresponse()
                body = resp.read()
            except BaseException:
                self.close()
                raise
            elapsed = time.perf_counter() - started
        if resp.status != 200:
            _raise_status(url, resp.status, resp.reason, body)
        data = _json(url, body)
        if not isinstance(data, dict) or data.get("bytes") != nbytes:
            raise ServerError(f"{url} counted {data!r} instead of {nbytes} bytes")
        return elapsed

    def send_report(self, report: dict[str, Any]) -> Any:
        """Store this PC's report on the server; returns the server's answer."""
        body = json.dumps(report, ensure_ascii=False).encode("utf-8")
        return self._call("POST", "reports", body, {"Content-Type": "application/json"})

    def register(self, registration: dict[str, Any]) -> Any:
        """Register this PC (``POST pcs``); the answer holds its id and this run's agent id."""
        body = json.dumps(registration, ensure_ascii=False).encode("utf-8")
        return self._call("POST", "pcs", body, {"Content-Type": "application/json"})

    def heartbeat(self, pc_id: int, agent_id: str) -> Any:
        """This run of the agent still runs on PC ``pc_id``; the answer holds its seat."""
        body = json.dumps({"agent_id": agent_id}).encode("utf-8")
        return self._call(
            "POST", f"pcs/{pc_id}/heartbeat", body, {"Content-Type": "application/json"}
        )

    def seat(self) -> Any:
        """The seat the server maps this PC to, and whether its room has an exam open."""
        return self._call("GET", "seat")

    def _call(
        self,
        method: str,
        endpoint: str,
        body: bytes | None = None,
        extra: dict[str, str] | None = None,
    ) -> Any:
        path = self._path(endpoint)
        url = self.origin + path
        headers = self._headers()
        headers.update(extra or {})
        with _translate(url):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except BaseException:
                self.close()
                raise
        if resp.status not in (200, 201):
            _raise_status(url, resp.status, resp.reason, data)
        return _json(url, data)

    def _path(self, endpoint: str, query: dict[str, Any] | None = None) -> str:
        path = f"{self.base_path}{API_PREFIX}/{endpoint}"
        return f"{path}?{urlencode(query)}" if query else path

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"cbt-lab-agent/{__version__}", "Accept-Encoding": "identity"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    self.host,
                    self.port,
                    timeout=self.timeout,
                    source_address=self.source,
                    context=ssl.create_default_context(),
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout, source_address=self.source
                )
        return self._conn


def throughput(
    transfer: Callable[[int, ProgressFn | None], float],
    target_seconds: float,
    on_attempt: Callable[[int], TransferProgress] | None = None,
    first: int = FIRST_TRANSFER,
    cap: int = MAX_TRANSFER,
) -> float:
    """Mbit/s of the first transfer lasting ``target_seconds`` (or of the largest allowed).

    Starts small so a slow link is not kept busy for minutes, then grows the size
    to what should take the target time, so a fast link is measured long enough.
    """
    size = min(first, cap)
    while True:
        progress = on_attempt(size) if on_attempt is not None else None
        seconds = transfer(size, progress)
        if progress is not None:
            progress.finished(size, seconds)
        if seconds >= target_seconds or size >= cap:
            return mbps(size, seconds)
        grow = target_seconds / max(seconds, 1e-3) * 1.2
        size = min(cap, max(size * 2, int(size * grow)))


@contextlib.contextmanager
def _translate(url: str) -> Iterator[None]:
    """Turn socket, TLS and HTTP failures into a ServerError naming the URL."""
    try:
        yield
    except (OSError, http.client.HTTPException) as exc:
        raise ServerError(f"cannot reach the CBT server at {url}: {describe(exc)}") from exc


def describe(exc: BaseException) -> str:
    """A short, plain reason for a network failure."""
    if isinstance(exc, socket.timeout):
        return "no answer in time (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running, and is the port right?)"
    if isinstance(exc, socket.gaierror):
        return f"host name not found ({exc.strerror or exc})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return "the server closed the connection"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


REFUSALS = ("stale_agent", "unknown_pc", "mac_bound", "invalid_input")
"""Error codes of the PC endpoints the agent acts on (the others keep the plain message)."""


class RefusedError(ServerError):
    """The server understood the request and refused it: ``code`` says why
    (``stale_agent``, ``unknown_pc``, ``mac_bound``, ...)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _raise_status(url: str, status: int, reason: str, body: bytes) -> None:
    text = body[:300].decode("utf-8", errors="replace").strip()
    try:
        error = json.loads(body.decode("utf-8"))["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        code = message = ""
    if code in REFUSALS:
        raise RefusedError(f"{url} refused (HTTP {status}, {code}): {message}", code)
    if status in (401, 403):
        raise ServerError(
            f"{url} refused the request (HTTP {status} {reason}): pass --token with a "
            f"token of scope lab:report. Server said: {text}"
        )
    if status == 404 and code == "not_found" and message and message != "Not Found":
        # The CBT server answered and names what it lacks (`--room NOPE`): say that.
        raise ServerError(f"{url} refused (HTTP 404, {code}): {message}")
    if status == 404:
        raise ServerError(f"{url} not found (HTTP 404): is this the CBT server's address?")
    raise ServerError(f"{url} answered HTTP {status} {reason}: {text}")


def _json(url: str, body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        snippet = body[:120].decode("utf-8", errors="replace")
        raise ServerError(f"{url} did not answer with JSON: {snippet!r}") from None

"""Pull one site's results: resume, check the site key, verify, append durably.

One pull:
1. takes the site's lock, loads its state and cuts the JSON-lines files back to the
   lengths the state counts (undoing lines appended by a pull that stopped early);
2. fetches GET /api/v1/keys and pins the Ed25519 key on the first pull; a different key
   later is refused (a site whose key changed must be re-pinned by a person);
3. pages through GET /api/v1/results from the stored cursor; verifies each result's
   signature; appends good ones to `<site>.jsonl` and refused ones to
   `<site>.rejected.jsonl`, fsyncs, and only then saves the new cursor.
Refused results do not stop the pull; the report lists them and the CLI exits non-zero.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack
from urllib.parse import urlsplit

import aiohttp

from cbt_server.centre.state import (
    SiteState,
    StateError,
    load_state,
    save_state,
    state_path,
)
from cbt_server.centre.store import (
    append_durably,
    cut_back,
    json_line,
    rejected_path,
    results_path,
    site_lock,
)
from cbt_server.results.signing import key_id, public_key_from_b64, verify_document

PAGE_LIMIT = 200
_SITE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class PullError(Exception):
    """A pull that cannot go on; `exit_code` 1 for refusals, 2 for network trouble."""

    exit_code = 1


class NetworkError(PullError):
    exit_code = 2


class CursorAhead(PullError):
    """The site answered 409 `cursor_ahead`: its feed is behind the stored cursor (its
    database was restored from an older backup)."""


class KeyChanged(PullError):
    pass


class TokenRefused(PullError):
    """The site answered 401 or 403 to the token."""


@dataclass(frozen=True, slots=True)
class Refusal:
    ticket: str
    reason: str


@dataclass
class PullReport:
    site: str
    pulled: int = 0
    refused: list[Refusal] = field(default_factory=list)
    discarded_bytes: int = 0
    pinned_now: bool = False


ProgressFn = Callable[[int, int], None]  # (results kept so far, refused so far)


def normalise_server(url: str) -> str:
    """The server's base URL without a trailing slash; PullError if it is not http(s)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PullError(f"--server must be an http:// or https:// URL, not {url!r}")
    if parts.query or parts.fragment:
        raise PullError(f"--server must not have a query or fragment: {url!r}")
    return url.strip().rstrip("/")


def default_site_name(server: str) -> str:
    parts = urlsplit(server)
    name = parts.hostname or "site"
    if parts.port:
        name = f"{name}_{parts.port}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:64]


def check_site_name(site: str) -> str:
    if not _SITE_NAME.match(site):
        raise PullError(
            f"--site {site!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return site


class SiteClient:
    """The few HTTP calls a pull makes, with errors turned into PullError/NetworkError."""

    def __init__(self, http: aiohttp.ClientSession, server: str, token: str) -> None:
        self.http = http
        self.server = server
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        url = self.server + path
        try:
            async with self.http.get(url, params=params, headers=self.headers) as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = str(exc) or exc.__class__.__name__
            raise NetworkError(f"cannot reach {url}: {reason}") from None
        try:
            data = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            data = None
        if status >= 400:
            message = _error_message(data) or f"HTTP {status}"
            if status in (401, 403):
                raise TokenRefused(f"{self.server} refused the token ({status}): {message}")
            if status >= 500:
                raise NetworkError(f"{url} failed on the server ({status}): {message}")
            if status == 409 and _error_code(data) == "cursor_ahead":
                raise CursorAhead(f"{url} answered 409 cursor_ahead: {message}")
            raise PullError(f"{url} answered {status}: {message}")
        if data is None:
            raise NetworkError(f"{url} answered with something that is not JSON")
        return data


def _error_code(data: Any) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        code = data["error"].get("code")
        return code if isinstance(code, str) else None
    return None


def _error_message(data: Any) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        message = data["error"].get("message")
        return message if isinstance(message, str) else None
    return None


def offered_key(data: Any, server: str) -> tuple[str, str]:
    """(kid, base64 key) of the site's Ed25519 key from GET /api/v1/keys."""
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise NetworkError(f"{server}/api/v1/keys: no key list in the answer")
    for entry in keys:
        if isinstance(entry, dict) and entry.get("alg") == "Ed25519":
            b64 = entry.get("public_key")
            if not isinstance(b64, str):
                break
            try:
                raw = public_key_from_b64(b64).public_bytes_raw()
            except ValueError as exc:
                raise PullError(f"{server}/api/v1/keys: unusable Ed25519 key: {exc}") from None
            return key_id(raw), b64
    raise PullError(f"{server}/api/v1/keys: the site offers no Ed25519 key")


def _check_pin(state: SiteState, kid: str, b64: str, report: PullReport) -> None:
    if state.public_key is None:
        state.kid, state.public_key = kid, b64
        report.pinned_now = True
        return
    if state.public_key != b64:
        raise KeyChanged(
            f"site {state.site!r} now signs with key {kid}, but key {state.kid} was pinned "
            "on the first pull. Results are not pulled. If the site's key was replaced on "
            "purpose, confirm the new key with the site out of band, then remove "
            f"'public_key' and 'kid' from {state.site}.state.json to pin the new one."
        )


def read_page(data: Any, url: str) -> tuple[list[Any], str | None]:
    if not isinstance(data, dict):
        raise NetworkError(f"{url}: the answer is not a JSON object")
    results, next_cursor = data.get("results"), data.get("next")
    if not isinstance(results, list) or not (next_cursor is None or isinstance(next_cursor, str)):
        raise NetworkError(f"{url}: the answer has no 'results' list and 'next' cursor")
    return results, next_cursor


def ticket_of(result: Any) -> str:
    ticket = result.get("ticket") if isinstance(result, dict) else None
    return ticket if isinstance(ticket, str) and ticket else "(no ticket)"


async def pull_site(
    server: str,
    token: str,
    out_dir: Path,
    site: str | None = None,
    *,
    limit: int = PAGE_LIMIT,
    progress: ProgressFn | None = None,
    http_timeout: aiohttp.ClientTimeout | None = None,
) -> PullReport:
    """Pull everything new from `server` into `out_dir` (see the module docstring)."""
    server = normalise_server(server)
    site = check_site_name(site or default_site_name(server))
    _make_folder(out_dir)
    try:
        with site_lock(out_dir, site):
            return await _pull_locked(server, token, out_dir, site, limit, progress, http_timeout)
    except StateError as exc:
        raise PullError(str(exc)) from None
    except OSError as exc:
        raise PullError(f"writing to {out_dir}: {exc}") from None


def _make_folder(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PullError(f"--out {out_dir}: cannot create the folder: {exc.strerror}") from None


async def _pull_locked(
    server: str,
    token: str,
    out_dir: Path,
    site: str,
    limit: int,
    progress: ProgressFn | None,
    http_timeout: aiohttp.ClientTimeout | None,
) -> PullReport:
    report = PullReport(site=site)
    state = load_state(out_dir, site)
    good_file, bad_file = results_path(out_dir, site), rejected_path(out_dir, site)
    report.discarded_bytes = cut_back(good_file, state.results_bytes)
    report.discarded_bytes += cut_back(bad_file, state.rejected_bytes)
    http_timeout = http_timeout or aiohttp.ClientTimeout(sock_connect=15, sock_read=120)
    async with aiohttp.ClientSession(timeout=http_timeout) as http:
        client = SiteClient(http, server, token)
        kid, b64 = offered_key(await client.get_json("/api/v1/keys"), server)
        _check_pin(state, kid, b64, report)
        state.server = server
        public_key = public_key_from_b64(b64)
        if report.pinned_now:
            save_state(out_dir, state)
        while True:
            params = {"limit": str(limit)}
            if state.cursor is not None:
                params["after"] = state.cursor
            url = f"{server}/api/v1/results"
            try:
                answer = await client.get_json("/api/v1/results", params)
            except CursorAhead as ahead:
                raise PullError(
                    f'{ahead}. To pull {site} again from the start, set "cursor" to null in '
                    f"{state_path(out_dir, site)} (the pinned key stays) and pull again: its "
                    "results come again, and the last line of each ticket is the one that counts"
                ) from None
            results, next_cursor = read_page(answer, url)
            good: list[bytes] = []
            bad: list[bytes] = []
            for result in results:
                if isinstance(result, dict) and verify_document(public_key, result):
                    good.append(json_line(result))
                    continue
                refusal = Refusal(ticket_of(result), "signature does not verify")
                report.refused.append(refusal)
                bad.append(
                    json_line(
                        {"ticket": refusal.ticket, "reason": refusal.reason, "result": result}
                    )
                )
            if good:
                state.results_bytes = append_durably(good_file, good)
            if bad:
                state.rejected_bytes = append_durably(bad_file, bad)
            report.pulled += len(good)
            state.pulled += len(good)
            state.refused += len(bad)
            moved = next_cursor != state.cursor
            state.cursor = next_cursor
            save_state(out_dir, state)
            if progress is not None:
                progress(report.pulled, len(report.refused))
            if len(results) < limit or next_cursor is None:
                break
            if not moved:
                raise NetworkError(f"{url}: a full page came with the same cursor again")
    return report


class PullOptions(TypedDict, total=False):
    """Keyword options of `pull_site`, passed through by `run_pull`."""

    limit: int
    progress: ProgressFn | None
    http_timeout: aiohttp.ClientTimeout | None


def run_pull(
    server: str, token: str, out_dir: Path, site: str | None = None, **options: Unpack[PullOptions]
) -> PullReport:
    """Synchronous entry point (for the CLI)."""
    return asyncio.run(pull_site(server, token, out_dir, site, **options))

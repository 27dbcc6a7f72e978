"""A site's calls to its centre, with the token the centre issued it (Bearer cbtc_…).

Used by the site's CLI (`cbt-server centre request send`, `cbt-server package fetch`,
`cbt-server package key`, `cbt-server centre assignments pull`). Every failure is a
`CentreCallError` with the centre's own message when it gave one.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp

from cbt_server.centre.puller import PullError, normalise_server

TIMEOUT = aiohttp.ClientTimeout(total=120, connect=15)
MAX_PACKAGE_BYTES = 200 * 1024 * 1024


class CentreCallError(Exception):
    """The centre could not be reached, or refused; the message says which and why."""


class CentreClient:
    def __init__(self, centre_url: str, token: str) -> None:
        try:
            self.base = normalise_server(centre_url)
        except PullError:
            raise CentreCallError(
                f"--centre must be an http:// or https:// URL, not {centre_url!r}"
            ) from None
        token = token.strip()
        if not token:
            raise CentreCallError("--token: the token the centre issued this site")
        self.headers = {"Authorization": f"Bearer {token}"}

    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        try:
            async with (
                aiohttp.ClientSession(timeout=TIMEOUT, headers=self.headers) as http,
                http.request(method, self.base + path, json=body) as resp,
            ):
                data = await resp.content.read(MAX_PACKAGE_BYTES + 1)
                if len(data) > MAX_PACKAGE_BYTES:
                    raise CentreCallError(f"{path}: the answer is larger than allowed")
                if resp.status >= 400:
                    raise CentreCallError(f"the centre refused ({resp.status}): {_message(data)}")
                return resp.status, data
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CentreCallError(f"cannot reach the centre at {self.base}: {exc}") from None

    async def _json(self, method: str, path: str, body: Any = None) -> Any:
        _, data = await self._call(method, path, body)
        try:
            return json.loads(data)
        except ValueError:
            raise CentreCallError(f"{path}: the centre's answer is not JSON") from None

    async def request_papers(self, request: dict[str, Any]) -> dict[str, Any]:
        answer = await self._json("POST", "/centre/api/v1/paper-requests", request)
        return dict(answer)

    async def request_state(self, request_id: int) -> dict[str, Any]:
        return dict(await self._json("GET", f"/centre/api/v1/paper-requests/{request_id}"))

    async def package(self, request_id: int) -> bytes:
        _, data = await self._call("GET", f"/centre/api/v1/paper-requests/{request_id}/package")
        return data

    async def content_key(self, request_id: int) -> bytes:
        answer = await self._json("GET", f"/centre/api/v1/paper-requests/{request_id}/key")
        try:
            key = base64.b64decode(answer["key"], validate=True)
        except (KeyError, TypeError, ValueError):
            raise CentreCallError("the centre's key answer has no valid key") from None
        if len(key) != 32:
            raise CentreCallError("the centre's key is not 32 bytes")
        return key

    async def push_readiness(self, verdict: Any) -> dict[str, Any]:
        return dict(await self._json("POST", "/centre/api/v1/readiness", verdict))

    async def assignments(self) -> dict[str, Any]:
        return dict(await self._json("GET", "/centre/api/v1/assignments"))


async def own_readiness(site_url: str, lab_token: str, room: int | None) -> Any:
    """This site's verdict from its own server (GET /api/v1/lab/readiness, lab:report)."""
    try:
        base = normalise_server(site_url)
    except PullError:
        raise CentreCallError(
            f"--site must be an http:// or https:// URL, not {site_url!r}"
        ) from None
    params = {"room": str(room)} if room else {}
    headers = {"Authorization": f"Bearer {lab_token.strip()}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT, headers=headers) as http,
            http.get(base + "/api/v1/lab/readiness", params=params) as resp,
        ):
            data = await resp.content.read(MAX_PACKAGE_BYTES)
            if resp.status >= 400:
                raise CentreCallError(f"this site refused ({resp.status}): {_message(data)}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise CentreCallError(f"cannot reach this site at {base}: {exc}") from None
    try:
        return json.loads(data)
    except ValueError:
        raise CentreCallError("this site's readiness answer is not JSON") from None


def _message(data: bytes) -> str:
    try:
        body = json.loads(data)
    except ValueError:
        return data[:300].decode("utf-8", "replace")
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or error)
        return str(error)
    return str(body)[:300]

"""Bearer tokens guard the results API: none or bad 401, wrong scope 403, JSON errors."""

from __future__ import annotations

import pytest

from cbt_server.tokens import revoke_token
from tests.results.conftest import Site

GUARDED = ("/api/v1/results", "/api/v1/results.csv")


@pytest.mark.parametrize("path", GUARDED)
async def test_no_token_is_401_with_error_shape(site: Site, path: str) -> None:
    status, body, headers = await site.get(path, token=None)
    assert status == 401
    assert body["error"]["code"] == "not_authenticated"
    assert body["error"]["message"]
    assert headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", GUARDED)
async def test_unknown_token_is_401(site: Site, path: str) -> None:
    status, body, _ = await site.get(path, token="cbt_not-a-real-token")
    assert status == 401
    assert set(body["error"]) == {"code", "message"}


async def test_malformed_authorization_header_is_401(site: Site) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as http,
        http.get(
            site.url + "/api/v1/results", headers={"Authorization": f"Basic {site.token}"}
        ) as resp,
    ):
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "not_authenticated"


async def test_revoked_token_is_401(site: Site) -> None:
    assert (await site.get("/api/v1/results"))[0] == 200
    async with site.sessionmaker.begin() as db:
        await revoke_token(db, "city-centre")
    status, body, _ = await site.get("/api/v1/results")
    assert status == 401
    assert "revoked" in body["error"]["message"]


@pytest.mark.parametrize("path", GUARDED)
async def test_wrong_scope_is_403(site: Site, path: str) -> None:
    status, body, _ = await site.get(path, token=site.lab_token)
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    assert "results:read" in body["error"]["message"]


async def test_auth_is_checked_before_parameters(site: Site) -> None:
    status, _, _ = await site.get("/api/v1/results", {"limit": "0"}, token=None)
    assert status == 401


async def test_keys_need_no_token(site: Site) -> None:
    status, body, _ = await site.get("/api/v1/keys", token=None)
    assert status == 200
    [key] = body["keys"]
    assert key["alg"] == "Ed25519"
    assert key["kid"].startswith("ed25519:")
    assert "BEGIN PUBLIC KEY" in key["public_key_pem"]

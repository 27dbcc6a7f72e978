"""A NUL character from a hostile client: PostgreSQL cannot hold or even compare text with
one, so without a check it surfaced as a 500 (a URL naming a session, a staff login) or as
`unavailable`, the answer for a database outage, to a candidate's `hello`. Each is refused
as bad input instead, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest

from cbt_server.keys import SESSIONMAKER
from cbt_server.protocol import SUBPROTOCOL
from cbt_server.protocol.base import ProtocolError
from cbt_server.protocol.codec import parse_candidate, parse_proctor
from cbt_server.tokens import create_token
from tests.conftest import LiveServer


def test_a_message_holding_nul_is_an_invalid_message() -> None:
    hello = {"type": "hello", "protocol": "cbt.v1", "ticket": "T1\x00", "id_number": "1"}
    with pytest.raises(ProtocolError) as refused:
        parse_candidate(json.dumps(hello))
    assert refused.value.code == "invalid_message" and "NUL" in refused.value.message
    note = {"type": "note", "seq": 4, "text": "ok \x00"}
    with pytest.raises(ProtocolError) as refused:
        parse_proctor(json.dumps(note))
    assert refused.value.ref_seq == 4
    # The text "\u0000" written out (an escaped backslash) is no NUL.
    assert parse_proctor(json.dumps({"type": "note", "seq": 5, "text": "a\\u0000"}))


async def test_nul_in_urls_forms_and_hello_is_bad_input(live_server: LiveServer) -> None:
    base = live_server.base_url
    async with live_server.app[SESSIONMAKER].begin() as db:
        token = (await create_token(db, "city-centre", "results:read")).secret
    bearer = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for path in (
            "/api/v1/sessions/%00",
            "/api/v1/lab/rooms/%00/pcs",
            "/paperwork/sessions/%00/score-summary",
            "/console/sessions/%00",
            "/api/v1/results?occupation=a%00",
        ):
            async with http.get(base + path, headers=bearer, allow_redirects=False) as resp:
                assert resp.status == 400, path
                assert (await resp.json())["error"]["code"] == "invalid_input", path

        async with http.get(f"{base}/staff/login") as resp:
            login_token = re.search(r'name="login_token" value="([^"]+)"', await resp.text())
        assert login_token
        form = {"username": "admin\x00", "password": "x", "login_token": login_token.group(1)}
        async with http.post(f"{base}/staff/login", data=form, allow_redirects=False) as resp:
            assert resp.status == 400
            assert "NUL" in (await resp.json())["error"]["message"]

        ws = await http.ws_connect(
            base.replace("http", "ws") + "/ws/candidate", protocols=(SUBPROTOCOL,)
        )
        hello = {"type": "hello", "protocol": SUBPROTOCOL, "ticket": "T\x00", "id_number": "1"}
        await ws.send_str(json.dumps({**hello, "seat": 1, "resume_token": None}))
        answer = await ws.receive_json(timeout=10)
        assert (answer["type"], answer["code"]) == ("error", "invalid_message")
        await ws.close()

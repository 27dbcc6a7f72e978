"""The README's day in the lab, followed literally (issue 19).

Every ```sh block of README.md is run as written, each in a new `bash` started in an empty
folder where `.venv/bin/activate` puts the installed `cbt-server` on PATH (as the
README's set-up does) and a decoy `cbt` (as Google Cloud's Bigtable CLI installs) sits
on PATH too. The blocks are the set-up, the preparation, `cbt-server serve` (left
running) and the centre's pull; between those, the console and candidate steps the
README describes (open check-in, log in, start, hand in, sign) are done over the
protocol and the console API, as a browser would. The one change made to the README's
text: the server's port, 8080, becomes a free port (also given as CBT_PORT).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cbt_server.protocol import SUBPROTOCOL
from tests.conftest import free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
SESSION = "2026-DG3-01"
PASSWORD = "wang's long password 2026"
HIDDEN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')


def sh_blocks(text: str) -> list[str]:
    """The ```sh blocks of a Markdown text, in order."""
    return [block.strip() for block in re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)]


def _folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An empty working folder set up as the README's reader has it after installing,
    and the environment of a new shell there."""
    work = tmp_path / "checkout"
    work.mkdir()
    for name in ("item_bank", "docs"):  # what the README's commands read from the checkout
        (work / name).symlink_to(ROOT / name)
    (work / "wang-password.txt").write_text(PASSWORD + "\n", encoding="utf-8")
    installed = Path(sys.executable).parent
    assert (installed / "cbt-server").exists(), "cbt-server is not installed beside python"
    (work / ".venv" / "bin").mkdir(parents=True)
    (work / ".venv" / "bin" / "activate").write_text(
        f'PATH="{installed}:$PATH"; export PATH\n', encoding="utf-8"
    )
    decoys = tmp_path / "decoys"
    decoys.mkdir()
    decoy = decoys / "cbt"
    decoy.write_text('#!/bin/sh\necho "Unknown command \\"$1\\"" >&2\nexit 1\n', encoding="utf-8")
    decoy.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{decoys}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "CBT_DATA_DIR": str(work / "var"),
    }
    env.pop("CBT_DATABASE_URL", None)
    return work, env


def _run(block: str, work: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", ". .venv/bin/activate\n" + block],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"README block failed:\n{block}\n{done.stdout}\n{done.stderr}"
    return done.stdout


async def _sign_in(base: str, username: str, password: str) -> tuple[aiohttp.ClientSession, str]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{base}/staff/login") as resp:
        token = HIDDEN_TOKEN.search(await resp.text())
    assert token
    form = {"username": username, "password": password, "login_token": token.group(1)}
    async with http.post(f"{base}/staff/login", data=form, allow_redirects=False) as resp:
        assert resp.status == 303
    async with http.get(f"{base}/api/staff/me") as resp:
        csrf = (await resp.json())["csrf_token"]
    return http, str(csrf)


async def _until(ws: aiohttp.ClientWebSocketResponse, wanted: str) -> dict[str, Any]:
    while True:
        message = await ws.receive_json(timeout=30)
        if message["type"] == wanted:
            return dict(message)
        assert message["type"] != "error", message


async def _exam_day(base: str, roster: list[list[str]]) -> None:
    """Steps 3 to 7: open check-in, candidates log in, start, hand in, the leader signs."""
    http, csrf = await _sign_in(base, "wang", PASSWORD)
    async with http:
        async with http.get(f"{base}/api/staff/sessions", params={"code": SESSION}) as resp:
            [session] = (await resp.json())["sessions"]
        console = await http.ws_connect(f"{base}/ws/proctor", protocols=(SUBPROTOCOL,))
        await console.send_json(
            {"type": "hello", "protocol": SUBPROTOCOL, "session_id": session["id"]}
        )
        await _until(console, "room")
        async with aiohttp.ClientSession() as lab:
            early = await lab.ws_connect(f"{base}/ws/candidate", protocols=(SUBPROTOCOL,))
            hello = {"type": "hello", "protocol": SUBPROTOCOL, "seat": 1, "resume_token": None}
            await early.send_json({**hello, "ticket": roster[0][0], "id_number": roster[0][1]})
            refused = await early.receive_json(timeout=30)
            assert refused["type"] == "error" and refused["code"] == "not_started"
            await early.close()

            await console.send_json({"type": "open_checkin", "seq": 1})
            await _until(console, "ack")
            pcs = []
            for ticket, id_number, *_rest in roster:
                pc = await lab.ws_connect(f"{base}/ws/candidate", protocols=(SUBPROTOCOL,))
                await pc.send_json({**hello, "ticket": ticket, "id_number": id_number})
                state = await _until(pc, "state")
                assert state["candidate"]["state"] == "checked_in" and state["paper"] is None
                pcs.append(pc)
            await console.send_json({"type": "start", "seq": 2})
            for pc in pcs:
                state = await _until(pc, "state")
                first = state["paper"]["sections"][0]["items"][0]
                answer = {"type": "answer", "seq": 1, "item_id": first["item_id"]}
                await pc.send_json({**answer, "response": [first["options"][0]["id"]]})
                await pc.send_json({"type": "submit", "seq": 2})
                await _until(pc, "submitted")
                await pc.close()
        await console.close()

        headers = {"Accept": "application/json", "X-CSRF-Token": csrf}

        async def signed() -> dict[str, Any] | None:
            # Grading runs in the background: the sign-off waits for the last one.
            async with http.post(f"{base}/paperwork/sessions/{SESSION}/sign", headers=headers) as r:
                body = await r.json()
                if r.status == 409 and body["error"]["code"] == "not_finished":
                    return None
                assert r.status == 200, body
                return dict(body)

        sign_off = await wait_until(signed, "the leader's sign-off", within=30, every=0.2)
        assert sign_off["final"] is True and sign_off["results"] == len(roster)


@pytest.mark.slow
async def test_the_readme_day_runs_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"(^|[`\s(])cbt (?!-)", readme), "the README still runs `cbt …`"
    blocks = sh_blocks(readme)
    assert blocks[0] == ". .venv/bin/activate"
    serve = [i for i, block in enumerate(blocks) if block == "cbt-server serve"]
    assert len(serve) == 1 and "centre pull" in blocks[-1], blocks
    work, env = _folder(tmp_path)
    port = free_port()
    env["CBT_PORT"] = str(port)
    before, after = blocks[1 : serve[0]], blocks[serve[0] + 1 :]

    for block in before:
        await asyncio.to_thread(_run, block, work, env)
    roster = [
        line.split(",")
        for line in (ROOT / "docs/examples/roster.csv").read_text("utf-8").splitlines()[1:]
    ]
    assert (work / "centre-token.txt").read_text().startswith("cbt_")

    log = tmp_path / "serve.log"
    with log.open("wb") as errors:
        server = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            ". .venv/bin/activate\nexec " + blocks[serve[0]],
            cwd=work,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
        )
    try:
        assert server.stdout is not None
        ready = (await asyncio.wait_for(server.stdout.readline(), 60)).decode()
        assert ready.startswith(f"CBT server ready on http://127.0.0.1:{port}"), log.read_text()
        await _exam_day(f"http://127.0.0.1:{port}", roster)
        for block in after:
            out = await asyncio.to_thread(_run, block.replace(":8080", f":{port}"), work, env)
    finally:
        server.terminate()
        await server.communicate()
    assert f"{len(roster)} new result(s)" in out
    pulled = next((work / "results").glob("*.jsonl"))
    results = [json.loads(line) for line in pulled.read_text("utf-8").splitlines()]
    assert sorted(r["ticket"] for r in results) == sorted(row[0] for row in roster)
    assert all(r["final"] and r["session"] == SESSION for r in results)
    assert shutil.which("cbt", path=env["PATH"])  # the decoy was there all along

"""Fixtures for the lab agent: a live server with a lab:report token, and the agent run
as a real subprocess (``python -m lab_agent``) against it."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from cbt_server.accounts import create_user
from cbt_server.keys import SESSIONMAKER
from cbt_server.settings import Settings
from cbt_server.tokens import create_token
from tests.auth.factories import PASSWORD, signed_in
from tests.conftest import LiveServer, ServerFactory

REPO = Path(__file__).resolve().parents[2]
AGENT_TIMEOUT = 180.0


@dataclass
class AgentRun:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class LabServer:
    live: LiveServer
    token: str

    @property
    def url(self) -> str:
        return self.live.base_url

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def issue_token(live: LiveServer, name: str = "lab-agents", scope: str = "lab:report") -> str:
    async with live.app[SESSIONMAKER].begin() as session:
        return (await create_token(session, name, scope)).secret


async def admin_client(live: LiveServer) -> aiohttp.ClientSession:
    """An HTTP client signed in as a lab administrator (readiness is theirs to read)."""
    async with live.app[SESSIONMAKER].begin() as session:
        await create_user(session, "lab-admin", PASSWORD, "lab_admin")
    http, _ = await signed_in(live.base_url, "lab-admin")
    return http


@pytest.fixture
async def lab_server(server_factory: ServerFactory, settings: Settings) -> LabServer:
    """A running server with a named lab administrator and a lab:report token."""
    live = await server_factory(settings.replace(lab_admin_name="张立 Zhang Li"))
    return LabServer(live, await issue_token(live))


@pytest.fixture
def fake_browsers(tmp_path: Path) -> Path:
    """A PATH folder holding only a fake ``chromium`` that prints its version, so the
    browser check does not depend on what this machine has installed."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "chromium"
    script.write_text('#!/bin/sh\necho "Chromium 120.0.6099.224 built on Debian"\n')
    script.chmod(0o755)
    return folder


async def run_agent(
    *args: str, path: Path | None = None, env: dict[str, str] | None = None
) -> AgentRun:
    """Run ``python -m lab_agent ARGS`` from the repository root without blocking the loop
    (the live server runs in this same event loop)."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CBT_LAB_")}
    child_env.pop("DISPLAY", None)
    if path is not None:
        child_env["PATH"] = str(path)
    child_env.update(env or {})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lab_agent",
        *args,
        cwd=str(REPO),
        env=child_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), AGENT_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return AgentRun(proc.returncode, out.decode(), err.decode())


def check_args(server: str, *extra: str, token: str | None = None) -> Sequence[str]:
    """Arguments of a quick ``check`` run with a baseline every CPU meets."""
    args = ["check", "--server", server, "--quick", "--baseline-single", "1"]
    args += ["--baseline-multi", "1"]
    if token is not None:
        args += ["--token", token]
    return [*args, *extra]

"""`cbt-server centre demo`: two demo sites whose sitting is graded by the real services,
a centre that pulls them and re-grades every result to the same score."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select, update

from cbt_server.centre.ingest import pull_all
from cbt_server.centre.keybank import KeyBank
from cbt_server.centre.models import CentrePaperRequest, CentreResult, CentreSite
from cbt_server.cli import cli
from cbt_server.content_crypto import ContentCipher
from cbt_server.db.migrate import migrated
from cbt_server.settings import load_settings
from tests.conftest import ServerFactory


async def test_the_demo_flows_from_sites_to_the_centre(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    root = tmp_path / "demo"
    args = ["centre", "demo", "--dir", str(root), "--port", "18190", "--no-serve"]
    first = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert first.exit_code == 0, first.output
    assert "site-a: 20 candidates sat DEMO-01" in first.output
    assert "site-b: 10 candidates sat DEMO-01" in first.output
    password = json.loads((root / "centre" / "centre-credentials.json").read_text())["password"]
    again = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert again.exit_code == 0 and "sat DEMO-01" not in again.output
    assert "approve it at http://127.0.0.1:18190/centre/requests" in again.output
    assert f"password {password}" in again.output  # kept between runs

    urls: dict[str, str] = {}
    for code in ("site-a", "site-b"):
        settings = load_settings({}, data_dir=str(root / code))
        urls[code] = (await server_factory(settings)).base_url
    centre = load_settings({}, data_dir=str(root / "centre"))
    async with migrated(centre) as sessionmaker:
        async with sessionmaker.begin() as db:
            for code, url in urls.items():
                await db.execute(update(CentreSite).where(CentreSite.code == code).values(url=url))
        reports = await pull_all(
            sessionmaker, KeyBank(ContentCipher.from_data_dir(centre.data_path))
        )
        async with sessionmaker() as db:
            rows: list[Any] = list(await db.scalars(select(CentreResult)))
            requests = list(await db.scalars(select(CentrePaperRequest)))
    assert sorted((r.site, r.pulled, r.mismatched, r.status) for r in reports) == [
        ("site-a", 20, 0, "ok"),
        ("site-b", 10, 0, "ok"),
    ]
    assert all(r.status == "ok" and r.centre_score == r.site_score for r in rows)
    final = {code: sum(r.final for r in rows if r.site_id == n) for n, code in enumerate(urls, 1)}
    assert final == {"site-a": 20, "site-b": 0}
    assert {r.passed for r in rows} == {True, False}
    # One paper request (two runs made it once), waiting for the demo's user to approve.
    assert [(r.session, r.status) for r in requests] == [("DEMO-02", "requested")]

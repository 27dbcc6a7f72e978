"""`cbt-server centre pull` against a live site: resumes, verifies, refuses tampered results,
pins the key, survives interruption without duplicates, and reports network trouble."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import text

from cbt_server.centre.state import StateError
from cbt_server.centre.store import site_lock
from cbt_server.cli import main
from cbt_server.cli.centre import centre_group
from cbt_server.keys import SETTINGS
from tests.conftest import ServerFactory, free_port
from tests.results.conftest import Site


async def _pull(site: Site, out: Path, *extra: str, token: str | None = None) -> Result:
    args = ["pull", "--server", site.url, "--token", token or site.token, "--out", str(out)]
    args += ["--site", "site-a", *extra]
    return await asyncio.to_thread(CliRunner().invoke, centre_group, args)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def _tickets(out: Path) -> list[str]:
    return [r["ticket"] for r in _lines(out / "site-a.jsonl")]


async def test_pull_resumes_and_gets_each_result_once(site: Site, tmp_path: Path) -> None:
    first = [await site.seed.result("S1", name=f"学员{n}") for n in range(7)]
    result = await _pull(site, tmp_path, "--page-size", "3")
    assert result.exit_code == 0, result.output
    assert "7 new result(s)" in result.output
    assert "pinned the signing key" in result.output
    assert _tickets(tmp_path) == first
    assert _lines(tmp_path / "site-a.jsonl")[0]["name"] == "学员0"

    result = await _pull(site, tmp_path, "--page-size", "3")
    assert result.exit_code == 0 and "0 new result(s)" in result.output

    more = [await site.seed.result("S2") for _ in range(2)]
    result = await _pull(site, tmp_path, "--page-size", "3")
    assert result.exit_code == 0 and "2 new result(s)" in result.output
    assert _tickets(tmp_path) == first + more
    state = json.loads((tmp_path / "site-a.state.json").read_text())
    assert state["pulled"] == 9 and state["cursor"] and state["public_key"]
    assert state["results_bytes"] == (tmp_path / "site-a.jsonl").stat().st_size


async def test_edited_result_is_refused_and_named(site: Site, tmp_path: Path) -> None:
    tickets = [await site.seed.result("S1", correct=50, wrong=50) for _ in range(3)]
    async with site.sessionmaker.begin() as db:
        await db.execute(
            text(
                "UPDATE results SET score = 60, passed = true WHERE candidate_id = "
                "(SELECT id FROM candidates WHERE ticket = :t)"
            ),
            {"t": tickets[1]},
        )
    result = await _pull(site, tmp_path)
    assert result.exit_code == 1
    assert f"tickets {tickets[1]}" in result.output
    assert "Traceback" not in result.output
    assert _tickets(tmp_path) == [tickets[0], tickets[2]]
    [refused] = _lines(tmp_path / "site-a.rejected.jsonl")
    assert refused["ticket"] == tickets[1] and refused["result"]["score"] == "60.00"


async def test_result_edited_after_it_was_pulled_is_refused(site: Site, tmp_path: Path) -> None:
    ticket = await site.seed.result("S1")
    assert (await _pull(site, tmp_path)).exit_code == 0
    async with site.sessionmaker.begin() as db:
        await db.execute(text("UPDATE results SET final = true"))  # not via the app: unsigned
    result = await _pull(site, tmp_path)
    assert result.exit_code == 1 and ticket in result.output
    assert _tickets(tmp_path) == [ticket]  # the original, verified copy stays alone


async def test_changed_site_key_is_refused(
    site: Site, tmp_path: Path, server_factory: ServerFactory
) -> None:
    await site.seed.result("S1")
    assert (await _pull(site, tmp_path)).exit_code == 0
    await site.seed.result("S1")
    # The same database served by a server with another key (e.g. a rebuilt machine).
    settings = site.server.app[SETTINGS]
    other = await server_factory(settings.replace(data_dir=str(tmp_path / "other-data")))
    args = ["pull", "--server", other.base_url, "--token", site.token, "--out", str(tmp_path)]
    result = await asyncio.to_thread(CliRunner().invoke, centre_group, [*args, "--site", "site-a"])
    assert result.exit_code == 1
    assert "now signs with key" in result.output and "was pinned" in result.output
    assert len(_tickets(tmp_path)) == 1


async def test_interrupted_pull_leaves_no_duplicates(site: Site, tmp_path: Path) -> None:
    first = [await site.seed.result("S1") for _ in range(3)]
    assert (await _pull(site, tmp_path)).exit_code == 0
    saved = tmp_path / "saved-state.json"
    shutil.copy(tmp_path / "site-a.state.json", saved)
    more = [await site.seed.result("S1") for _ in range(2)]
    assert (await _pull(site, tmp_path)).exit_code == 0
    # Crash simulation: the lines of the second pull reached the disk, its cursor did not;
    # and half a line was being written when the power went.
    shutil.copy(saved, tmp_path / "site-a.state.json")
    _append(tmp_path / "site-a.jsonl", b'{"ticket": "half')
    result = await _pull(site, tmp_path)
    assert result.exit_code == 0, result.output
    assert "interrupted pull" in result.output and "2 new result(s)" in result.output
    assert _tickets(tmp_path) == first + more


async def test_a_restored_site_says_how_to_pull_from_the_start(site: Site, tmp_path: Path) -> None:
    """docs/operations.md: after a restore from an older backup the centre's cursor is
    ahead of the site's feed; the puller says how to start over, and that works."""
    tickets = [await site.seed.result("S1") for _ in range(3)]
    assert (await _pull(site, tmp_path)).exit_code == 0
    state_file = tmp_path / "site-a.state.json"
    state = json.loads(state_file.read_text())
    ahead = json.loads(state_file.read_text())
    ahead["cursor"] = "Y2J0LWZlZWQ6djE6OTk5OQ"  # the opaque cursor of feed number 9999
    state_file.write_text(json.dumps(ahead))
    result = await _pull(site, tmp_path)
    assert result.exit_code == 1
    assert "409" in result.output and '"cursor" to null' in result.output
    assert str(state_file) in result.output.replace("\n", "")
    state["cursor"] = None
    state_file.write_text(json.dumps(state))
    result = await _pull(site, tmp_path)
    assert result.exit_code == 0, result.output
    assert _tickets(tmp_path) == tickets + tickets


async def test_bad_token_is_a_clear_refusal(site: Site, tmp_path: Path) -> None:
    result = await _pull(site, tmp_path, token="cbt_wrong")
    assert result.exit_code == 1
    assert "refused the token (401)" in result.output
    result = await _pull(site, tmp_path, token=site.lab_token)
    assert result.exit_code == 1 and "(403)" in result.output


def test_network_error_exits_2_without_traceback(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    args = ["pull", "--server", url, "--token", "t", "--out", str(tmp_path), "--quiet"]
    result = CliRunner().invoke(centre_group, args)
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot reach")
    assert "Traceback" not in result.output


def test_cbt_mounts_the_centre_group(tmp_path: Path, capsys: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code = main(["centre", "pull", "--server", url, "--token", "t", "--out", str(tmp_path)])
    assert code == 2
    assert "cannot reach" in capsys.readouterr().err


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    for args, word in (
        (["--server", "ftp://x", "--site", "a"], "--server"),
        (["--server", "http://x", "--site", "../up"], "--site"),
    ):
        result = CliRunner().invoke(
            centre_group, ["pull", "--token", "t", "--out", str(tmp_path), *args]
        )
        assert result.exit_code == 1 and word in result.output


def test_a_second_pull_of_the_same_site_waits_its_turn(tmp_path: Path) -> None:
    with site_lock(tmp_path, "site-a"):
        try:
            with site_lock(tmp_path, "site-a"):
                raise AssertionError("the lock was taken twice")
        except StateError as error:
            assert "another pull" in str(error)


async def test_garbled_stored_row_is_served_and_refused_not_a_500(
    site: Site, tmp_path: Path
) -> None:
    ticket = await site.seed.result("S1")
    good = await site.seed.result("S1")
    async with site.sessionmaker.begin() as db:
        await db.execute(
            text(
                'UPDATE results SET responses = \'{"not": "a list"}\' WHERE candidate_id = '
                "(SELECT id FROM candidates WHERE ticket = :t)"
            ),
            {"t": ticket},
        )
    status, body, _ = await site.get("/api/v1/results")
    assert status == 200
    assert [r["responses"] for r in body["results"] if r["ticket"] == ticket] == [[]]
    result = await _pull(site, tmp_path)
    assert result.exit_code == 1 and f"tickets {ticket}" in result.output
    assert _tickets(tmp_path) == [good]

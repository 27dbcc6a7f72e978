"""The `cbt-server` command: user errors give a message and an exit code, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cbt_server.cli import main


def run_cbt(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cbt(capsys, "--help")
    assert code == 0
    for command in ("serve", "demo", "db", "token"):
        assert command in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("no-such-command",), "No such command"),
        (("serve", "--port", "99999"), "--port"),
        (("token", "create", "--name", "x", "--scope", "everything"), "--scope"),
        (("token", "create", "--scope", "results:read"), "--name"),
    ],
)
def test_usage_errors(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], fragment: str
) -> None:
    code, _, err = run_cbt(capsys, *args)
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err


def test_bad_environment_is_a_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CBT_PORT", "eighty")
    code, _, err = run_cbt(capsys, "db", "upgrade")
    assert code == 1
    assert err.startswith("error: CBT_PORT")


def test_workers_need_postgresql(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cbt(capsys, "--data-dir", str(tmp_path), "serve", "--workers", "2")
    assert code == 1
    assert "PostgreSQL" in err


def test_unreachable_database_is_a_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    code, _, err = run_cbt(capsys, "--database-url", url, "db", "upgrade")
    assert code == 1
    assert "database unreachable" in err


def test_token_lifecycle(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = ("--data-dir", str(tmp_path))
    code, secret, _ = run_cbt(
        capsys, *base, "token", "create", "--name", "city", "--scope", "results:read"
    )
    assert code == 0 and secret.strip().startswith("cbt_")
    code, _, err = run_cbt(
        capsys, *base, "token", "create", "--name", "city", "--scope", "results:read"
    )
    assert code == 1 and "exists already" in err
    code, out, _ = run_cbt(capsys, *base, "token", "list", "--json")
    listed = json.loads(out)
    assert [(t["name"], t["revoked"]) for t in listed] == [("city", False)]
    assert secret.strip() not in out
    assert run_cbt(capsys, *base, "token", "revoke", "city")[0] == 0
    code, out, _ = run_cbt(capsys, *base, "token", "list", "--json")
    assert json.loads(out)[0]["revoked"] is True
    code, _, err = run_cbt(capsys, *base, "token", "revoke", "nobody")
    assert code == 1 and "no token named" in err


def test_console_script_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cbt_server", "--data-dir", str(tmp_path), "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "database at revision" in done.stdout


CORPUS = Path(__file__).resolve().parent / "item_bank" / "data" / "qti21"
SAMPLES = Path(__file__).resolve().parents[1] / "item_bank" / "samples"


def _stored_item_ids(data_dir: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(data_dir / "cbt.sqlite3") as db:
        return {row[0] for row in db.execute("SELECT id FROM items")}


def test_item_bank_import_stores_into_the_server(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base = ("--data-dir", str(tmp_path))
    code, out, _ = run_cbt(
        capsys, *base, "item-bank", "import", str(CORPUS / "choice.xml"), "--json"
    )
    assert code == 0
    assert json.loads(out) == {
        "imported": [{"id": "choice", "type": "single", "options": 3, "key": ["ChoiceA"]}],
        "rejected": [],
    }
    code, out, _ = run_cbt(
        capsys, *base, "item-bank", "import", str(SAMPLES / "childcare-4.yaml"), "--json"
    )
    assert code == 0 and len(json.loads(out)["imported"]) >= 150
    stored = _stored_item_ids(tmp_path)
    assert "choice" in stored and "childcare-4-0001" in stored


def test_item_bank_import_rejects_whole_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base = ("--data-dir", str(tmp_path))
    code, out, _ = run_cbt(
        capsys, *base, "item-bank", "import", str(CORPUS / "text_entry.xml"), "--json"
    )
    assert code == 1
    report = json.loads(out)
    assert report["imported"] == []
    assert "textEntryInteraction" in report["rejected"][0]["reason"]
    assert not (tmp_path / "cbt.sqlite3").exists() or _stored_item_ids(tmp_path) == set()


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_port_in_use_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    """A second server on a taken port (the demo still running) says so in one line,
    naming the address, instead of a traceback from deep in the event loop."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code, _, err = run_cbt(capsys, "--data-dir", str(tmp_path), command, "--port", str(port))
    assert code == 1
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert "--port" in err
    assert "Traceback" not in err

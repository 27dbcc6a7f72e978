"""`cbt-server backup` and `cbt-server restore` as an administrator types them: text
output, refusals as one line, and a restore whose checks fail exits 1 naming them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from cbt_server.audit import record
from cbt_server.cli import main
from cbt_server.db.migrate import migrated
from cbt_server.results.hooks import install_result_signing
from cbt_server.results.signing import load_or_create_key
from cbt_server.settings import Settings
from tests.backup.conftest import PASSPHRASE
from tests.results.seed import Seeder


async def run(
    capsys: pytest.CaptureFixture[str], settings: Settings, *args: str
) -> tuple[int, str, str]:
    """The command in a thread of its own (it runs its own event loop, as from a shell)."""
    argv = ["--data-dir", settings.data_dir, "--database-url", settings.database_url, *args]
    code = await asyncio.to_thread(main, argv)
    out, err = capsys.readouterr()
    return code, out, err


async def seed_site(settings: Settings, tamper: bool) -> None:
    """Two signed results and two audit entries; with `tamper`, one score and one audit
    entry edited behind the ORM's back, as an intruder with the database file would."""
    async with migrated(settings) as sessionmaker:
        install_result_signing(sessionmaker, load_or_create_key(settings.data_path))
        seeder = Seeder(sessionmaker)
        await seeder.result("S-1", ticket="T-1")
        await seeder.result("S-1", ticket="T-2")
        async with sessionmaker.begin() as session:
            await record(session, "cli:root", "admin", "session.open", "session:S-1")
            await record(session, "cli:root", "admin", "session.start", "session:S-1")
        if tamper:
            async with sessionmaker.begin() as session:
                await session.execute(text("UPDATE results SET score = 99 WHERE id = 1"))
                await session.execute(text("UPDATE audit_log SET actor = 'x' WHERE id = 1"))


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase.txt"
    path.write_text(PASSPHRASE + "\n")
    return path


async def test_backup_and_restore_in_text(
    site: Settings, spare: Settings, secret: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    await seed_site(site, tamper=False)
    out = tmp_path / "b.tar"
    code, said, _ = await run(
        capsys, site, "backup", "--out", str(out), "--passphrase-file", str(secret)
    )
    assert code == 0
    assert said.startswith(f"backup written: {out} (")
    assert ", keys keys/site-signing.pem, " in said  # the seeded site has no content key yet
    code, said, _ = await run(capsys, spare, "restore", str(out), "--passphrase-file", str(secret))
    assert code == 0, said
    lines = said.splitlines()
    assert lines[0].startswith(f"restored {out} (made ")
    assert lines[1].startswith("ok   row_counts: ")
    assert lines[2].startswith("ok   audit_chain: 2 entries intact, tail ")
    assert lines[3].startswith("ok   result_signatures: 2 of 2 results verify under ed25519:")


async def test_a_tampered_site_restores_but_fails_its_checks(
    site: Settings, spare: Settings, secret: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    await seed_site(site, tamper=True)
    out = tmp_path / "b.tar"
    assert (await run(capsys, site, "backup", "--out", str(out), "--passphrase-file", str(secret)))[
        0
    ] == 0
    code, said, err = await run(
        capsys, spare, "restore", str(out), "--passphrase-file", str(secret), "--json"
    )
    assert code == 1
    report = json.loads(said)
    checks = {check["name"]: check for check in report["checks"]}
    assert report["ok"] is False
    assert checks["row_counts"]["ok"] is True
    assert checks["audit_chain"]["ok"] is False
    assert "broken at entry 1" in checks["audit_chain"]["detail"]
    assert checks["result_signatures"]["ok"] is False
    assert "1 of 2 results verify" in checks["result_signatures"]["detail"]
    assert "Traceback" not in err


async def test_refusals_are_one_line(
    site: Settings, secret: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    await seed_site(site, tamper=False)
    taken = tmp_path / "taken.tar"
    taken.write_text("")
    code, _, err = await run(capsys, site, "backup", "--out", str(taken))
    assert (code, err.strip()) == (1, f"error: {taken}: already exists (choose a new file name)")
    missing = tmp_path / "no-such-folder" / "b.tar"
    code, _, err = await run(capsys, site, "backup", "--out", str(missing))
    assert (code, err.strip()) == (1, f"error: {missing.parent}: no such folder")
    monkeypatch.setenv("CBT_BACKUP_PASSPHRASE", "short")
    code, _, err = await run(capsys, site, "backup", "--out", str(tmp_path / "b.tar"))
    assert code == 1
    assert "at least 8 characters" in err
    assert not (tmp_path / "b.tar").exists()
    code, _, err = await run(capsys, site, "restore", str(tmp_path / "none.tar"),
                       "--passphrase-file", str(secret))  # fmt: skip
    assert (code, err.strip()) == (1, f"error: {tmp_path / 'none.tar'}: no such file")


async def test_serve_refuses_automatic_backups_without_a_readable_passphrase(
    site: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("CBT_BACKUP_DIR", str(tmp_path))
    monkeypatch.setenv("CBT_BACKUP_PASSPHRASE_FILE", str(tmp_path / "missing.txt"))
    code, _, err = await run(capsys, site, "serve", "--port", "1")
    assert code == 1
    assert err.startswith("error: automatic backups: ")
    assert "missing.txt: cannot read the backup passphrase" in err


async def test_demo_refuses_automatic_backups_without_a_readable_passphrase(
    site: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """`demo` serves as `serve` does: the same one-line refusal, not a traceback."""
    monkeypatch.setenv("CBT_BACKUP_DIR", str(tmp_path))
    monkeypatch.setenv("CBT_BACKUP_PASSPHRASE_FILE", str(tmp_path / "missing.txt"))
    code, _, err = await run(capsys, site, "demo", "--port", "1")
    assert code == 1
    assert err.startswith("error: automatic backups: ")
    assert "missing.txt: cannot read the backup passphrase" in err


@pytest.mark.parametrize("command", ["serve", "demo"])
async def test_serve_refuses_a_backup_folder_that_is_missing_or_a_file(
    site: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, command: str,
) -> None:  # fmt: skip
    """An unmounted stick is said at start, in one line naming the folder; the folder is
    not created (it would be on the server's own disk)."""
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    monkeypatch.setenv("CBT_BACKUP_PASSPHRASE_FILE", str(secret))
    missing = tmp_path / "usb" / "backups"
    monkeypatch.setenv("CBT_BACKUP_DIR", str(missing))
    code, _, err = await run(capsys, site, command, "--port", "1")
    assert code == 1
    assert err.startswith(f"error: automatic backups: {missing}: no such folder")
    assert err.count("\n") == 1
    assert not missing.exists()
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("CBT_BACKUP_DIR", str(tmp_path / "afile"))
    code, _, err = await run(capsys, site, command, "--port", "1")
    assert (code, err.strip()) == (1, f"error: automatic backups: {tmp_path / 'afile'}: "
                                      "not a folder (CBT_BACKUP_DIR)")  # fmt: skip


def test_a_folder_the_server_cannot_write_into_is_named(tmp_path: Path) -> None:
    from cbt_server.cli.serve import backup_folder_problem

    assert backup_folder_problem(tmp_path) is None
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind
    # /proc takes no files, not even from root (as a read-only mount would not)
    problem = backup_folder_problem(Path("/proc"))
    assert problem is not None and problem.startswith("cannot write into this folder")

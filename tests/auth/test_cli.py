"""`cbt-server user ...` and `audit verify`: accounts, assignments, and tamper detection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.accounts import verify_password
from cbt_server.cli import cli, main
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.migrate import upgrade
from cbt_server.db.models import AuditEntry, LoginLock, User
from tests.auth.factories import seed_site

T = TypeVar("T")


def in_db(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = make_engine(url)
        try:
            await upgrade(engine)
            async with make_sessionmaker(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.fixture
def db_url(any_db_url: str) -> str:
    async def seed() -> None:
        engine = make_engine(any_db_url)
        await upgrade(engine)
        await seed_site(make_sessionmaker(engine))
        await engine.dispose()

    asyncio.run(seed())
    return any_db_url


@pytest.fixture
def cbt(
    capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path
) -> Callable[..., tuple[int, str, str]]:
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path), "--database-url", db_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_add_list_and_password_file(
    cbt: Callable[..., tuple[int, str, str]], db_url: str, tmp_path: Path
) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text("s3cret enough\n", encoding="utf-8")
    code, out, err = cbt(
        "user", "add", "--role", "proctor", "--username", "wang", "--password-file", str(secret),
        "--display-name", "王老师",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert "wang" in out and "proctor" in out
    code, out, _ = cbt("user", "list", "--json")
    rows = {row["username"]: row for row in json.loads(out)}
    assert rows["wang"]["display_name"] == "王老师" and rows["wang"]["role"] == "proctor"
    assert rows["leader"]["sessions"] == ["S1 (leader)"]

    async def stored(session: AsyncSession) -> str:
        user = await session.scalar(select(User).where(User.username == "wang"))
        assert user is not None
        return user.password_hash

    password_hash = in_db(db_url, stored)
    assert password_hash.startswith("$argon2id$")
    assert verify_password(password_hash, "s3cret enough")


def test_add_prompts_for_the_password(db_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(tmp_path), "--database-url", db_url,
         "user", "add", "--role", "supervisor", "--username", "li"],
        input="typed password\ntyped password\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "typed password" not in result.output  # hidden input


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("--role", "proctor", "--username", "leader"), 1, "exists already"),
        (("--role", "proctor", "--username", "x", "--password-file", "missing"), 1, "cannot read"),
        (("--role", "root", "--username", "x"), 2, "--role"),
        (("--role", "proctor", "--username", "y", "--password-file", "SHORT"), 1, "at least 10"),
        (("--role", "proctor", "--username", "=x"), 1, "username: '=x' starts with '='"),
        (("--role", "proctor", "--username", "wang\x07"), 1, "username: holds the control"),
        (("--role", "proctor", "--username", "x" * 65), 1, "username: longer than 64"),
        (("--role", "proctor", "--username", "z", "--display-name", "王\n五"), 1, "line break"),
    ],
)
def test_add_errors(
    cbt: Callable[..., tuple[int, str, str]],
    tmp_path: Path,
    args: tuple[str, ...],
    code: int,
    fragment: str,
) -> None:
    short = tmp_path / "short.txt"
    short.write_text("short\n", encoding="utf-8")
    full = tmp_path / "ok.txt"
    full.write_text("long enough password\n", encoding="utf-8")
    args = tuple(str(short) if a == "SHORT" else a for a in args)
    if "--password-file" not in args and code == 1:
        args = (*args, "--password-file", str(full))
    got, _, err = cbt("user", "add", *args)
    assert got == code
    assert fragment in err
    assert "Traceback" not in err


def test_assign_and_leader_rules(cbt: Callable[..., tuple[int, str, str]]) -> None:
    code, out, _ = cbt("user", "assign", "--username", "outsider", "--session", "S1")
    assert code == 0 and "assigned to S1" in out
    # S1 has a leader already.
    code, _, err = cbt("user", "assign", "--username", "outsider", "--session", "S1", "--leader")
    assert code == 1 and "'leader' is the examiner leader of S1" in err
    # Hand leadership over: demote, then promote.
    assert cbt("user", "assign", "--username", "leader", "--session", "S1")[0] == 0
    code, out, _ = cbt("user", "assign", "--username", "outsider", "--session", "S1", "--leader")
    assert code == 0 and "examiner leader of S1" in out
    for args, fragment in [
        (("--username", "supervisor", "--session", "S1", "--leader"), "only a proctor"),
        (("--username", "admin", "--session", "S1"), "lab_admin"),
        (("--username", "ghost", "--session", "S1"), "no user"),
        (("--username", "proctor", "--session", "S9"), "no exam session"),
    ]:
        code, _, err = cbt("user", "assign", *args)
        assert code == 1 and fragment in err, (args, err)


def test_unlock(cbt: Callable[..., tuple[int, str, str]], db_url: str) -> None:
    async def lock(session: AsyncSession) -> None:
        user = await session.scalar(select(User).where(User.username == "proctor"))
        assert user is not None
        user.locked_until = datetime(2999, 1, 1, tzinfo=UTC)
        session.add(
            LoginLock(
                user_id=user.id,
                address="10.0.0.7",
                failed_logins=0,
                locked_until=datetime(2999, 1, 1, tzinfo=UTC),
            )
        )
        session.add(
            LoginLock(user_id=user.id, address="10.0.0.8", failed_logins=2, locked_until=None)
        )
        leader = await session.scalar(select(User).where(User.username == "leader"))
        assert leader is not None
        leader.locked_until = datetime(2000, 1, 1, tzinfo=UTC)  # run out long ago

    in_db(db_url, lock)
    code, out, _ = cbt("user", "list", "--json")
    rows = {r["username"]: r for r in json.loads(out)}
    assert rows["proctor"]["locked_until"] and rows["proctor"]["locked_from"] == ["10.0.0.7"]
    assert rows["leader"]["locked_until"] is None and rows["leader"]["locked_from"] == []
    assert "locked from 10.0.0.7" in cbt("user", "list")[1]
    assert cbt("user", "unlock", "--username", "proctor")[0] == 0
    code, out, _ = cbt("user", "list", "--json")
    row = next(r for r in json.loads(out) if r["username"] == "proctor")
    assert row["locked_until"] is None and row["locked_from"] == []

    async def counts(session: AsyncSession) -> int:
        return len(list(await session.scalars(select(LoginLock))))

    assert in_db(db_url, counts) == 0


def test_audit_verify_finds_an_edited_entry(
    cbt: Callable[..., tuple[int, str, str]], db_url: str, tmp_path: Path
) -> None:
    # Some real entries: accounts and assignments made through the CLI.
    secret = tmp_path / "pw.txt"
    secret.write_text("long enough password\n", encoding="utf-8")
    for name in ("a1", "a2", "a3"):
        cbt("user", "add", "--role", "proctor", "--username", name, "--password-file", str(secret))
        cbt("user", "assign", "--username", name, "--session", "S2")
    code, out, err = cbt("audit", "verify")
    assert code == 0, err
    assert out.startswith("audit log intact: 6 entries, tail ")

    async def edit(session: AsyncSession) -> int:
        ids = list(await session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
        await session.execute(
            text("UPDATE audit_log SET reason = 'nothing to see' WHERE id = :id"), {"id": ids[3]}
        )
        return ids[3]

    edited = in_db(db_url, edit)
    code, out, err = cbt("audit", "verify")
    assert code == 1
    assert err.startswith(f"error: audit log broken at entry {edited}: ")
    assert "edited" in err

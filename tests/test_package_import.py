"""`cbt-server package import`: a sealed package is stored whole; a tampered one not at all."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cbt_server.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "item_bank" / "samples"


def cbt(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    keys = tmp_path / "keys"
    assert cbt(capsys, "item-bank", "keygen", "--out", str(keys))[0] == 0
    out = tmp_path / "childcare.cbtpkg"
    code, _, err = cbt(
        capsys,
        "item-bank",
        "seal",
        "--bank",
        str(SAMPLES / "childcare-4.yaml"),
        "--blueprint",
        str(SAMPLES / "blueprints" / "childcare-4-standard.yaml"),
        "--key",
        str(keys / "package.key"),
        "--signing-key",
        str(keys / "signing-key.pem"),
        "--out",
        str(out),
    )
    assert code == 0, err
    return out, keys


def _counts(data_dir: Path) -> tuple[int, int, int]:
    database = data_dir / "cbt.sqlite3"
    if not database.exists():
        return (0, 0, 0)
    with sqlite3.connect(database) as db:
        return tuple(  # type: ignore[return-value]
            db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("items", "blueprints", "audit_log")
        )


def test_sealed_package_imports_whole(
    package: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, keys = package
    data = tmp_path / "site"
    code, out, err = cbt(
        capsys,
        "--data-dir",
        str(data),
        "package",
        "import",
        str(path),
        "--key",
        str(keys / "package.key"),
        "--verify-key",
        str(keys / "verify-key.pem"),
        "--actor",
        "lab-admin",
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["items_added"] >= 150 and summary["blueprints"] == 1
    assert _counts(data) == (summary["items_added"], 1, 1)
    raw = (data / "cbt.sqlite3").read_bytes()
    assert "婴幼儿".encode() not in raw


@pytest.mark.parametrize("where", [0.1, 0.5, 0.99])
def test_tampered_package_stores_nothing(
    package: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    where: float,
) -> None:
    path, keys = package
    blob = bytearray(path.read_bytes())
    blob[int(len(blob) * where)] ^= 0x01
    bad = tmp_path / "bad.cbtpkg"
    bad.write_bytes(bytes(blob))
    data = tmp_path / "site"
    code, _, err = cbt(
        capsys,
        "--data-dir",
        str(data),
        "package",
        "import",
        str(bad),
        "--key",
        str(keys / "package.key"),
        "--verify-key",
        str(keys / "verify-key.pem"),
    )
    assert code == 1
    assert err.startswith("error: package refused")
    assert "Traceback" not in err
    assert _counts(data) == (0, 0, 0)


def test_missing_key_file_is_a_message(
    package: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, keys = package
    code, _, err = cbt(
        capsys,
        "--data-dir",
        str(tmp_path / "site"),
        "package",
        "import",
        str(path),
        "--key",
        str(tmp_path / "nope.key"),
        "--verify-key",
        str(keys / "verify-key.pem"),
    )
    assert code == 1 and "nope.key" in err

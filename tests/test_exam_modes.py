"""Exam modes from the command line: a formal session takes its paper from a sealed package
with a validity window, once; a rehearsal takes a bank file's paper (issue 20)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cbt_server.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "item_bank" / "samples"
BLUEPRINT = "childcare-4-standard"


def cbt(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_formal_from_a_package_once_inside_its_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys, package = tmp_path / "keys", tmp_path / "formal.cbtpkg"
    assert cbt(capsys, "item-bank", "keygen", "--out", str(keys))[0] == 0
    seal = (
        "item-bank", "seal", "--bank", str(SAMPLES / "childcare-4.yaml"),
        "--blueprint", str(SAMPLES / "blueprints" / f"{BLUEPRINT}.yaml"),
        "--key", str(keys / "package.key"), "--signing-key", str(keys / "signing-key.pem"),
        "--out", str(package),
    )  # fmt: skip
    code, _, err = cbt(capsys, *seal, "--not-before", "2026-12-05T18:00+0800",
                       "--not-after", "2026-12-05T08:00+0800")  # fmt: skip
    assert code == 1 and "ends before it begins" in err
    window = ("--not-before", "2026-12-05T08:00+0800", "--not-after", "2026-12-05T18:00+0800")
    code, _, err = cbt(capsys, *seal, *window)
    assert code == 0, err
    keys_args = ("--key", str(keys / "package.key"), "--verify-key", str(keys / "verify-key.pem"))
    code, out, _ = cbt(capsys, "item-bank", "inspect", str(package), *keys_args, "--json")
    manifest = json.loads(out)
    assert manifest["not_before"] == "2026-12-05T00:00:00+00:00"
    assert manifest["not_after"] == "2026-12-05T10:00:00+00:00"

    site = ("--data-dir", str(tmp_path / "var"))
    code, _, err = cbt(capsys, *site, "package", "import", str(package), *keys_args)
    assert code == 0, err
    create = ("session", "create", "--blueprint", BLUEPRINT, "--room", "R1", "--seats", "30")
    # A rehearsal never uses the formal package.
    code, _, err = cbt(capsys, *site, *create, "--code", "T-0", "--mode", "rehearsal")
    assert code == 1 and "never the formal package" in err
    # A formal session is scheduled inside the window, or refused.
    code, _, err = cbt(capsys, *site, *create, "--code", "F-0")
    assert code == 1 and "the scheduled time must be given" in err
    code, _, err = cbt(
        capsys, *site, *create, "--code", "F-0", "--scheduled-at", "2026-12-06T09:00+0800"
    )
    assert code == 1 and "不在有效期内" in err and "validity window" in err
    code, _, err = cbt(
        capsys, *site, *create, "--code", "F-1", "--scheduled-at", "2026-12-05T09:00+0800"
    )
    assert code == 0, err
    # The package's papers serve one session, once.
    code, _, err = cbt(
        capsys, *site, *create, "--code", "F-2", "--scheduled-at", "2026-12-05T14:00+0800"
    )
    assert code == 1 and "used by session F-1 already" in err
    code, out, _ = cbt(capsys, *site, "session", "list", "--json")
    (row,) = json.loads(out)
    assert (row["code"], row["mode"]) == ("F-1", "formal")
    assert row["scheduled_at"] == "2026-12-05T01:00:00+00:00"

    # The same blueprint imported from a file is no longer sealed: no formal session on it.
    blueprint_file = SAMPLES / "blueprints" / f"{BLUEPRINT}.yaml"
    assert cbt(capsys, *site, "blueprint", "import", str(blueprint_file))[0] == 0
    code, _, err = cbt(capsys, *site, *create, "--code", "F-3")
    assert code == 1 and "only from a sealed package" in err
    code, _, err = cbt(capsys, *site, *create, "--code", "T-1", "--mode", "rehearsal")
    assert code == 0, err

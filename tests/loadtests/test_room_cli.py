"""Argument handling of `python -m loadtests.room` (no room is run here)."""

from pathlib import Path

import pytest
from click.testing import CliRunner

import loadtests.room as room
from loadtests.report import Thresholds


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(room.main, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        ((), "Missing option '--candidates'"),
        (("--candidates", "0"), "--candidates"),
        (("--candidates", "5", "--link-mbit", "-1"), "--link-mbit"),
        (("--candidates", "5", "--think-scale", "0"), "--think-scale"),
        (("--candidates", "5", "--database", "mysql"), "--database"),
        (("--candidates", "5", "--driver", "jmeter"), "--driver"),
        (("--candidates", "5", "--workers", "2"), "several workers need --database postgresql"),
        (("--candidates", "5", "--backup-every", "0.1"), "--backup-every"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(args: tuple[str, ...], complaint: str) -> None:
    code, output = invoke(*args)
    assert code == 2
    assert complaint in output


def test_a_shaped_link_without_root_says_so_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(room, "is_root", lambda: False)
    monkeypatch.setattr(room.tempfile, "tempdir", str(tmp_path))
    report = tmp_path / "report.json"
    code, output = invoke("--candidates", "3", "--link-mbit", "10", "--json", str(report))
    assert code == 2
    assert "a shaped link needs root" in output
    assert "--link-mbit 0" in output
    assert not report.exists()
    assert list(tmp_path.iterdir()) == [], "the work folder was not removed"


def test_help_documents_exit_codes_and_options() -> None:
    code, output = invoke("--help")
    assert code == 0
    for text in ("--candidates", "--link-mbit", "--database", "--json", "--think-scale", "130"):
        assert text in output


def config(**changes: object) -> room.RunConfig:
    values: dict[str, object] = {
        "candidates": 30,
        "link_mbit": 10.0,
        "database": "sqlite",
        "think_scale": 1.0,
        "driver": "locust",
        "thresholds": Thresholds(3.0, 300.0),
        "pg_url": room.DEFAULT_PG_URL,
        "compression": True,
        "seed": 1,
        "keep": False,
        "spawn_rate": 10.0,
    }
    values.update(changes)
    return room.RunConfig(**values)  # type: ignore[arg-type]


def test_time_limit_scales_with_think_time_and_stays_above_the_exam() -> None:
    realistic = config()
    quick = config(think_scale=0.02)
    # A realistic exam of 100 items at ~23 s each is about 40 minutes.
    assert 35 * 60 < realistic.expected_exam_s() < 50 * 60
    assert realistic.run_time_limit_s() > 2 * realistic.expected_exam_s()
    assert quick.expected_exam_s() == pytest.approx(realistic.expected_exam_s() * 0.02)
    assert quick.run_time_limit_s() < 6 * 60
    short = config(answer_items=10)  # a big room answering 10 items at realistic pace
    assert 3 * 60 < short.expected_exam_s() < 8 * 60


def test_locust_arguments_carry_the_room_and_the_scale(tmp_path: Path) -> None:
    run = room.Run(config(think_scale=0.02, candidates=7), tmp_path, prefix=[])
    run.base_url = "http://127.0.0.1:9999"
    args = room._driver_args(run)
    assert args[1:3] == ["-m", "locust"]
    assert args[args.index("--users") + 1] == "8"  # 7 candidates and the proctor
    assert args[args.index("--think-scale") + 1] == "0.02"
    assert args[args.index("--host") + 1] == "http://127.0.0.1:9999"
    assert "--no-compression" not in args
    asyncio_args = room._driver_args(
        room.Run(config(driver="asyncio", compression=False), tmp_path, prefix=[])
    )
    assert asyncio_args[1:3] == ["-m", "loadtests.async_driver"]
    assert "--no-compression" in asyncio_args

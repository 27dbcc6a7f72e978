"""Link client pieces that need no server, the report contract, and the progress bar."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import pytest

from lab_agent import link
from lab_agent.bench import Baseline, BenchResult
from lab_agent.browsers import Browser
from lab_agent.checks import CHECK_NAMES
from lab_agent.link import LabClient, LinkFigures
from lab_agent.progress import Progress
from lab_agent.report import (
    CPU_KEYS,
    LINK_KEYS,
    REPORT_KEYS,
    build_report,
    render_summary,
    write_json,
)
from lab_agent.sysinfo import CpuFacts


def test_client_builds_lab_urls_under_a_base_path() -> None:
    client = LabClient("http://10.0.0.2:8080/cbt/", token="t")
    assert client.url("ping") == "http://10.0.0.2:8080/cbt/api/v1/lab/ping"
    assert client.url("download", {"bytes": 10}) == (
        "http://10.0.0.2:8080/cbt/api/v1/lab/download?bytes=10"
    )


@pytest.mark.parametrize(
    "server", ["ftp://10.0.0.2", "10.0.0.2:8080", "http://", "http://host:99999", ""]
)
def test_client_refuses_a_bad_server_url(server: str) -> None:
    with pytest.raises(ValueError, match="--server"):
        LabClient(server)


def test_throughput_grows_the_transfer_until_it_lasts_long_enough() -> None:
    sizes: list[int] = []

    def transfer(size: int, _progress: object) -> float:
        sizes.append(size)
        return size * 8 / 10e6  # a 10 Mbit/s link

    finished: list[tuple[int, float]] = []

    class Recorder:
        def __call__(self, done: int, elapsed: float) -> None:
            pass

        def finished(self, nbytes: int, seconds: float) -> None:
            finished.append((nbytes, seconds))

    rate = link.throughput(transfer, 2.0, lambda _size: Recorder())
    assert rate == pytest.approx(10.0)
    assert sizes[0] == link.FIRST_TRANSFER
    assert sizes[-1] * 8 / 10e6 >= 2.0
    assert len(sizes) == 2
    assert finished == [(size, size * 8 / 10e6) for size in sizes]


def test_throughput_stops_at_the_largest_transfer_on_a_fast_link() -> None:
    sizes: list[int] = []

    def transfer(size: int, _progress: object) -> float:
        sizes.append(size)
        return size * 8 / 10e9

    assert link.throughput(transfer, 2.0) == pytest.approx(10_000.0)
    assert sizes[-1] == link.MAX_TRANSFER
    assert all(a < b for a, b in zip(sizes, sizes[1:], strict=False))


def test_network_failures_are_described_plainly() -> None:
    assert "connection refused" in link.describe(ConnectionRefusedError(111, "Connection refused"))
    assert "timed out" in link.describe(TimeoutError("timed out"))
    assert "host name not found" in link.describe(socket.gaierror(-2, "Name or service not known"))


def sample_report(score_single: float = 600.0) -> dict[str, object]:
    return build_report(
        hostname="LAB-PC-07",
        cpu=CpuFacts("Hygon C86 3250", 8, 16, 2800.0),
        bench=BenchResult(score_single, 4000.0, 16),
        baseline=Baseline(350, 850),
        memory_gb=15.6,
        disk_free_gb=200.0,
        os_name="Kylin V10",
        screen="1920x1080",
        browsers=[Browser("firefox", "102.15.0", "/usr/bin/firefox")],
        link=LinkFigures(down_mbps=94.123, up_mbps=93.456, rtt_ms=0.4321),
    )


def test_report_has_exactly_the_contract_fields() -> None:
    report = sample_report()
    assert tuple(report) == REPORT_KEYS
    assert tuple(report["cpu"]) == CPU_KEYS  # type: ignore[arg-type]
    assert tuple(report["link"]) == LINK_KEYS  # type: ignore[arg-type]
    assert report["link"] == {"down_mbps": 94.12, "up_mbps": 93.46, "rtt_ms": 0.43}
    assert report["passed"] is True
    assert report["cpu"]["i3_or_better"] is True  # type: ignore[index]
    assert [c["name"] for c in report["checks"]] == list(CHECK_NAMES)  # type: ignore[union-attr]


def test_summary_says_pass_or_fail_per_requirement() -> None:
    text = render_summary(sample_report(score_single=100.0), "http://10.0.0.2:8080")
    assert "FAIL  cpu" in text
    assert "PASS  memory" in text
    assert "single-core score 100.0 < 350" in text
    assert text.endswith("Result: FAIL - 1 of 8 requirements not met: cpu")
    assert render_summary(sample_report(), "x").endswith("this PC meets every requirement")


def test_json_report_is_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    write_json(target, sample_report())
    assert json.loads(target.read_text(encoding="utf-8"))["hostname"] == "LAB-PC-07"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_json_report_into_a_missing_folder_fails_without_leftovers(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_json(tmp_path / "missing" / "report.json", sample_report())
    assert list(tmp_path.iterdir()) == []


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_into_a_file_writes_only_the_finished_line() -> None:
    out = io.StringIO()
    bar = Progress("download", 100, out)
    for done in range(0, 101, 10):
        bar.update(done, f"{done} bytes")
    bar.finish("9.40 Mbit/s")
    assert out.getvalue() == f"download   [{'#' * 30}] 100%  9.40 Mbit/s\n"


def test_progress_on_a_terminal_redraws_in_place() -> None:
    out = Terminal()
    bar = Progress("upload", 4, out)
    bar.update(1)
    bar.finish()
    text = out.getvalue()
    assert text.startswith("\rupload     [" + "#" * 8 + "." * 22 + "]  25%")
    assert text.endswith("\rupload     [" + "#" * 30 + "] 100%\n")

"""The site readiness verdict, pure: PCs, the server's own check, the administrator,
link figures and the room's paper-delivery estimate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cbt_server import lab_readiness
from cbt_server.errors import InvalidInput
from cbt_server.lab_readiness import ServerFacts, StoredReport, readiness
from tests.lab_agent.reports import report

NOW = datetime(2026, 5, 10, 8, 0, tzinfo=UTC)
GOOD_SERVER = ServerFacts("Intel Xeon E-2224", 4, 15.5, 400.0)


def stored(hostname: str, age: timedelta = timedelta(hours=1), **changes: Any) -> StoredReport:
    return StoredReport(hostname, NOW - age, report(hostname, **changes))


def room_of(count: int, **changes: Any) -> list[StoredReport]:
    return [stored(f"LAB-PC-{i:02d}", **changes) for i in range(1, count + 1)]


def verdict(reports: list[StoredReport], **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"server": GOOD_SERVER, "lab_admin_name": "张立", "room": 30}
    args.update(kwargs)
    return readiness(reports, args["server"], args["lab_admin_name"], args["room"], NOW)


def test_thirty_passing_pcs_with_a_good_server_and_an_administrator_are_ready() -> None:
    result = verdict(room_of(30))
    assert result["ready"] is True
    assert result["reasons"] == []
    assert (result["pcs_reported"], result["pcs_passing"]) == (30, 30)
    assert result["lab_admin"] == {"named": True, "name": "张立"}


def test_twenty_nine_passing_pcs_are_not_ready() -> None:
    result = verdict(room_of(29))
    assert result["ready"] is False
    assert result["reasons"] == [
        "only 29 of the 30 PCs required pass every requirement (29 reported, 0 failing)"
    ]


def test_every_reason_is_given_at_once() -> None:
    reports = [*room_of(29), stored("LAB-PC-30", cpu__score_single=100.0)]
    weak = ServerFacts("Intel Celeron J1900", 4, 1.8, 1.0)
    result = verdict(reports, server=weak, lab_admin_name="  ")
    assert result["ready"] is False
    reasons = result["reasons"]
    assert reasons[0] == (
        "only 29 of the 30 PCs required pass every requirement (30 reported, 1 failing)"
    )
    assert reasons[1].startswith("LAB-PC-30 fails cpu: slower than an entry Core i3")
    assert any(r.startswith("server: 1.80 GiB") for r in reasons)
    assert any(r.startswith("server: 1.00 GiB free") for r in reasons)
    assert reasons[-1].startswith("no dedicated lab administrator is named")
    assert result["server"]["passed"] is False


def test_failing_pcs_beyond_thirty_passing_are_warnings_not_reasons() -> None:
    reports = [*room_of(30), stored("LAB-PC-31", screen="800x600")]
    result = verdict(reports)
    assert result["ready"] is True
    assert result["warnings"] == ["LAB-PC-31 fails screen: 800x600 is smaller than 1024x768"]


def test_the_newest_report_of_a_pc_counts() -> None:
    reports = room_of(30)
    reports.append(stored("LAB-PC-07", age=timedelta(minutes=5), link__down_mbps=3.0))
    result = verdict(reports)
    assert result["pcs_passing"] == 29
    assert result["ready"] is False
    # ...and an older failing report is overridden by a newer passing one.
    reports.append(stored("LAB-PC-07", age=timedelta(minutes=1)))
    assert verdict(reports)["ready"] is True


def test_reports_older_than_thirty_days_do_not_count() -> None:
    reports = [*room_of(29), stored("LAB-PC-30", age=timedelta(days=31))]
    result = verdict(reports)
    assert (result["pcs_reported"], result["pcs_stale"]) == (29, 1)
    assert result["ready"] is False
    assert "LAB-PC-30: last report 2026-04-09 is older than 30 days" in result["warnings"][0]


def test_no_reports_at_all() -> None:
    result = verdict([])
    assert result["ready"] is False
    assert result["reasons"][0].startswith("no lab PC has reported in the last 30 days")
    assert result["room"]["seconds"] is None
    assert result["link"]["median_down_mbps"] is None


def test_link_figures_are_the_slowest_and_the_median() -> None:
    reports = [
        stored("A", link={"down_mbps": 9.5, "up_mbps": 9.1, "rtt_ms": 2.0}),
        stored("B", link={"down_mbps": 20.0, "up_mbps": 19.0, "rtt_ms": 1.0}),
        stored("C", link={"down_mbps": 94.0, "up_mbps": 90.0, "rtt_ms": 0.5}),
    ]
    link = verdict(reports)["link"]
    assert link["slowest_down_mbps"] == 9.5
    assert link["slowest_down_host"] == "A"
    assert link["median_down_mbps"] == 20.0
    assert (link["slowest_up_mbps"], link["median_up_mbps"]) == (9.1, 19.0)
    assert (link["median_rtt_ms"], link["max_rtt_ms"]) == (1.0, 2.0)


def test_room_estimate_over_a_10_mbit_link() -> None:
    # 30 papers of 60 KiB through a link that carries 9.5 Mbit/s of payload.
    reports = room_of(30, link={"down_mbps": 9.5, "up_mbps": 9.5, "rtt_ms": 1.0})
    room = verdict(reports, room=30)["room"]
    assert room["paper_bytes"] == 61440
    assert room["seconds"] == pytest.approx(30 * 61440 * 8 / 9.5e6, abs=0.01)
    assert verdict(reports, room=60)["room"]["seconds"] == pytest.approx(2 * room["seconds"], 0.01)


def test_one_slow_pc_bounds_the_estimate_from_below() -> None:
    assert lab_readiness.papers_seconds(1, 100.0, 0.5, 61440) == pytest.approx(61440 * 8 / 0.5e6)
    assert lab_readiness.papers_seconds(30, 10.0, 10.0, 61440) == pytest.approx(1.47456)


@pytest.mark.parametrize(("raw", "room"), [(None, 30), ("", 30), ("45", 45), ("10000", 10000)])
def test_room_parameter(raw: str | None, room: int) -> None:
    assert lab_readiness.parse_room(raw) == room


@pytest.mark.parametrize("raw", ["0", "-3", "thirty", "10001", "2.5"])
def test_room_parameter_refuses_nonsense(raw: str) -> None:
    with pytest.raises(InvalidInput, match="^room: "):
        lab_readiness.parse_room(raw)


def test_server_check_thresholds() -> None:
    checks = {c.name: c for c in lab_readiness.server_checks(ServerFacts("x", 1, 3.5, 5.0))}
    assert checks["server_cpu"].passed is False
    assert checks["server_memory"].passed is True
    assert checks["server_disk"].passed is True
    unknown = lab_readiness.server_checks(ServerFacts("x", 2, None, None))
    assert [c.passed for c in unknown] == [True, False, False]


def test_validate_report_returns_a_clean_copy() -> None:
    data = report(" LAB-PC-01 ", cpu__mhz=3700)
    clean = lab_readiness.validate_report(data)
    assert clean["hostname"] == "LAB-PC-01"
    assert clean["cpu"]["mhz"] == 3700.0 and isinstance(clean["cpu"]["mhz"], float)
    assert clean is not data


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_validate_report_refuses_non_finite_numbers(value: float) -> None:
    with pytest.raises(InvalidInput, match="report.link.down_mbps: must be a finite"):
        lab_readiness.validate_report(report(link__down_mbps=value))

from typing import Any

import pytest

from loadtests.report import REPORT_KEYS, Thresholds, build_report, count_lost

START = 1000.0


def answer(
    seq: int,
    item: str,
    response: list[str],
    *,
    acked: bool = True,
    sent: bool = True,
    ack_ms: float | None = 20.0,
) -> dict[str, Any]:
    return {"seq": seq, "item_id": item, "response": response, "sent": sent,
            "acked": acked, "ack_ms": ack_ms if acked else None}  # fmt: skip


def person(
    ticket: str,
    answers: list[dict[str, Any]],
    *,
    paper_at: float | None = START + 1,
    completed: bool = True,
    errors: list[str] | None = None,
) -> dict[str, Any]:
    return {"kind": "candidate", "ticket": ticket, "completed": completed, "answers": answers,
            "paper_at": paper_at, "paper_json_bytes": 40_000, "paper_gzip_bytes": 12_000,
            "login_ms": [30.0], "errors": errors or [], "bytes_sent": 20_000,
            "refusals": {"paused": 1} if ticket == "A" else {"paused": 2, "unavailable": 1},
            "bytes_received": 30_000}  # fmt: skip


def result(ticket: str, responses: dict[str, list[str] | None]) -> dict[str, Any]:
    return {"ticket": ticket, "responses": [
        {"item_id": k, "response": v, "correct": False, "score": 0, "max_score": 1}
        for k, v in responses.items()]}  # fmt: skip


PROCTOR = {"kind": "proctor", "start_at": START, "errors": [], "bytes_sent": 900,
           "bytes_received": 100}  # fmt: skip


def run(records: list[dict[str, Any]], results: list[dict[str, Any]], n: int = 2, **kw: Any):
    return build_report(
        candidates=n,
        records=records,
        results=results,
        link_mbit=10.0,
        database="sqlite",
        thresholds=kw.pop("thresholds", Thresholds(3.0, 300.0)),
        **kw,
    )


def test_a_clean_run_passes_with_every_contract_key() -> None:
    records = [
        PROCTOR,
        person("A", [answer(1, "I1", ["A"]), answer(2, "I2", ["B", "C"])]),
        person("B", [answer(1, "I1", ["B"]), answer(2, "I1", ["A"])], paper_at=START + 2.5),
    ]
    results = [result("A", {"I1": ["A"], "I2": ["C", "B"], "I3": None}),
               result("B", {"I1": ["A"], "I2": None})]  # fmt: skip
    outcome = run(records, results)
    report = outcome.report
    assert tuple(report) == REPORT_KEYS
    assert report["passed"] is True, outcome.reasons
    assert report["completed"] == 2
    assert report["answers_sent"] == 4 and report["answers_acknowledged"] == 4
    assert report["answers_in_results"] == 3
    assert report["lost"] == 0
    assert report["paper_delivery_s"] == {"p50": 1.75, "p95": 2.425, "max": 2.5}
    assert report["start_burst_s"] == 2.5
    assert report["ack_ms"] == {"p50": 20.0, "p95": 20.0, "p99": 20.0}
    assert report["bytes_per_candidate"] == 50_000
    assert report["errors"] == 0
    assert outcome.extras["paper_gzip_bytes_mean"] == 12_000
    assert outcome.extras["refusals"] == {"paused": 3, "unavailable": 1}
    assert outcome.extras["proctor_bytes"] == 1000


def test_lost_counts_final_acked_answers_missing_or_different() -> None:
    records = [
        person("A", [answer(1, "I1", ["A"]), answer(2, "I2", ["B"]), answer(3, "I3", ["A"])]),
        person("B", [answer(1, "I1", ["A"])]),
        person("C", [answer(1, "I1", ["A"])]),
    ]
    results = [result("A", {"I1": ["A"], "I2": ["A"]}), result("B", {"I1": None})]
    lost, examples = count_lost(records, results)
    # A: I2 different, I3 missing; B: I1 empty; C submitted but has no result at all.
    assert lost == 4
    assert any("C I1" in e and "no result" in e for e in examples)
    unfinished = person("D", [answer(1, "I1", ["A"])], completed=False)
    assert count_lost([unfinished], results) == (0, [])  # counted in `completed` instead


def test_superseded_and_unacked_answers_are_not_lost() -> None:
    records = [
        person(
            "A",
            [
                answer(1, "I1", ["A"]),
                answer(2, "I1", ["B"]),  # changed later: only B must be there
                answer(3, "I2", ["A"], acked=False),  # never acknowledged
                # committed but its ack lost on a cut link: newer than the acked answer
                answer(4, "I3", ["A"]),
                answer(5, "I3", ["B"], acked=False),
            ],
        )
    ]
    results = [result("A", {"I1": ["B"], "I3": ["B"]})]
    assert count_lost(records, results) == (0, [])
    results = [result("A", {"I1": ["A"], "I3": ["A"]})]
    assert count_lost(records, results)[0] == 1  # I1 holds the superseded answer


def test_failing_runs_say_why() -> None:
    records = [
        PROCTOR,
        person("A", [answer(1, "I1", ["A"], ack_ms=450.0)], paper_at=START + 4),
        person("B", [answer(1, "I1", ["A"])], completed=False, errors=["B: boom"]),
    ]
    outcome = run(records, [result("A", {"I1": ["A"]})])
    assert outcome.report["passed"] is False
    assert outcome.report["lost"] == 0  # B did not finish: that is `completed`, not `lost`
    assert outcome.report["errors"] == 1
    text = " | ".join(outcome.reasons)
    assert "1 of 2 candidates completed" in text
    assert "papers took 4.0 s" in text
    assert "ack p99" in text
    assert outcome.error_messages == ["B: boom"]


def test_a_candidate_without_paper_or_a_missing_start_fails() -> None:
    records = [person("A", [answer(1, "I1", ["A"])]), person("B", [], paper_at=None)]
    outcome = run(records, [result("A", {"I1": ["A"]})], run_errors=["locust exited 1"])
    report = outcome.report
    assert report["start_burst_s"] is None
    assert report["paper_delivery_s"] == {"p50": None, "p95": None, "max": None}
    assert report["errors"] == 2  # no proctor record + the run error
    assert "the proctor never started the session" in outcome.reasons
    assert "not every candidate received a paper" in outcome.reasons


def test_duplicate_ledger_records_are_an_error() -> None:
    records = [PROCTOR, person("A", []), person("A", [])]
    outcome = run(records, [], n=2)
    assert "more than one record" in " ".join(outcome.error_messages)


@pytest.mark.parametrize(
    ("n", "link", "start", "ack"),
    [(30, 10.0, 3.0, 300.0), (60, 10.0, 3.0, 300.0), (300, 10.0, 10.0, 300.0),
     (2000, 0.0, 10.0, 100.0)],
)  # fmt: skip
def test_default_thresholds(n: int, link: float, start: float, ack: float) -> None:
    assert Thresholds.default(n, link) == Thresholds(start, ack)


def test_the_generators_stalls_and_the_acks_they_delayed_are_reported() -> None:
    slow = answer(1, "I1", ["A"], ack_ms=560.0) | {"at": START + 30.0}
    fast = answer(2, "I2", ["B"], ack_ms=12.0) | {"at": START + 40.0}
    generator = {"kind": "generator", "stall_ms": 100.0, "stall_count": 2,
                 "stalls": [[START + 30.5, 540.0], [START + 2.0, 1400.0]],
                 "max_lag_ms": 1400.0, "full_collections": 9,
                 "longest_full_collection_ms": 120.5}  # fmt: skip
    records = [PROCTOR, generator, person("A", [slow, fast]), person("B", [])]
    outcome = run(records, [result("A", {"I1": ["A"], "I2": ["B"]}), result("B", {})])
    assert outcome.extras["load_generator"] == {
        "stalls_over_ms": 100.0, "stalls": 2, "max_lag_ms": 1400.0,
        "longest_full_collection_ms": 120.5, "acks_during_stalls": 1,
    }  # fmt: skip
    assert outcome.report["ack_ms"]["p99"] > 500.0  # the late ack is reported, not hidden


def test_a_generator_that_does_not_watch_reports_nothing_about_it() -> None:
    records = [PROCTOR, person("A", []), person("B", [])]
    assert run(records, [result("A", {}), result("B", {})]).extras["load_generator"] is None

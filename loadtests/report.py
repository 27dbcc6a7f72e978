"""The load-test report: computed from the ledger and the graded results (pure).

The JSON keys are a contract (docs/performance.md describes each); `Outcome.reasons`
says in words why a run did not pass and is printed, not stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadtests.loopwatch import acks_during_stalls
from loadtests.stats import summarize

REPORT_KEYS = (
    "candidates",
    "completed",
    "answers_sent",
    "answers_acknowledged",
    "answers_in_results",
    "lost",
    "link_mbit",
    "database",
    "paper_delivery_s",
    "start_burst_s",
    "ack_ms",
    "bytes_per_candidate",
    "errors",
    "passed",
)

SMALL_ROOM = 60
"""Rooms up to this size must have every paper within `small_room_start_s` of the start."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    max_start_s: float
    max_ack_p99_ms: float

    @classmethod
    def default(cls, candidates: int, link_mbit: float) -> Thresholds:
        """3 s for a room of up to 60 (10 s beyond); ack p99 300 ms shaped, 100 ms not."""
        return cls(
            max_start_s=3.0 if candidates <= SMALL_ROOM else 10.0,
            max_ack_p99_ms=300.0 if link_mbit > 0 else 100.0,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    report: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    error_messages: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


def _norm(response: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if response is None else tuple(sorted(str(choice) for choice in response))


def _final_answers(
    answers: Sequence[Mapping[str, Any]],
) -> dict[str, tuple[tuple[str, ...] | None, tuple[str, ...] | None]]:
    """{item_id: (latest acknowledged response, latest sent response)} of one candidate."""
    acked: dict[str, tuple[int, tuple[str, ...]]] = {}
    sent: dict[str, tuple[int, tuple[str, ...]]] = {}
    for answer in answers:
        seq, item_id, response = int(answer["seq"]), str(answer["item_id"]), answer["response"]
        normalized = _norm(response) or ()
        if answer.get("sent") and (item_id not in sent or sent[item_id][0] < seq):
            sent[item_id] = (seq, normalized)
        if answer.get("acked") and (item_id not in acked or acked[item_id][0] < seq):
            acked[item_id] = (seq, normalized)
    return {
        item_id: (acked[item_id][1] if item_id in acked else None, sent[item_id][1])
        for item_id in sent
    }


def count_lost(
    records: Sequence[Mapping[str, Any]], results: Sequence[Mapping[str, Any]]
) -> tuple[int, list[str]]:
    """Acknowledged answers missing from, or different in, the graded results.

    Per candidate and item, the latest acknowledged response must be the one in the
    results; the latest sent response is also accepted when it came later (it may have
    been committed with its acknowledgement lost on a cut connection). Superseded
    answers (changed later) are not counted. A candidate who never got to submit and has
    no result is counted in `completed`, not here; one who submitted (or has a result)
    and lacks an answer in it has lost it.
    """
    by_ticket = {str(result["ticket"]): result for result in results}
    lost = 0
    examples: list[str] = []
    for record in records:
        ticket = str(record["ticket"])
        result = by_ticket.get(ticket)
        if result is None and not record.get("completed"):
            continue
        stored: dict[str, tuple[str, ...] | None] = {}
        if result is not None:
            for response in result.get("responses") or []:
                stored[str(response["item_id"])] = _norm(response.get("response"))
        for item_id, (acked, sent) in _final_answers(record["answers"]).items():
            if acked is None:
                continue
            got = stored.get(item_id)
            if got is not None and got in (acked, sent):
                continue
            lost += 1
            if len(examples) < 10:
                where = "no result" if result is None else f"result has {got!r}"
                examples.append(f"{ticket} {item_id}: acknowledged {list(acked)!r}, {where}")
    return lost, examples


def build_report(
    *,
    candidates: int,
    records: Iterable[Mapping[str, Any]],
    results: Sequence[Mapping[str, Any]],
    link_mbit: float,
    database: str,
    thresholds: Thresholds,
    run_errors: Sequence[str] = (),
) -> Outcome:
    """The report of one run, and the reasons it failed if it did."""
    people = [r for r in records if r.get("kind") == "candidate"]
    proctors = [r for r in records if r.get("kind") == "proctor"]
    generators = [r for r in records if r.get("kind") == "generator"]
    errors = list(run_errors)
    tickets = [str(r["ticket"]) for r in people]
    if len(set(tickets)) != len(tickets):
        errors.append("the ledger holds more than one record for a candidate")
    for record in [*people, *proctors]:
        errors.extend(str(e) for e in record.get("errors") or [])
    if len(proctors) != 1:
        errors.append(f"expected one proctor record in the ledger, found {len(proctors)}")
    start_at = next((p.get("start_at") for p in proctors if p.get("start_at")), None)

    answers = [a for r in people for a in r["answers"]]
    ack_samples = [float(a["ack_ms"]) for a in answers if a.get("ack_ms") is not None]
    paper_times = [r["paper_at"] for r in people if r.get("paper_at") is not None]
    delivery = [max(0.0, float(at) - float(start_at)) for at in paper_times] if start_at else []
    all_papers = len(paper_times) == candidates and len(people) == candidates
    start_burst = round(max(delivery), 3) if delivery and all_papers else None
    lost, lost_examples = count_lost(people, results)
    simulated = set(tickets)
    in_results = sum(
        1
        for result in results
        if str(result["ticket"]) in simulated
        for response in result.get("responses") or []
        if response.get("response")
    )
    sizes = [
        int(r["bytes_sent"]) + int(r["bytes_received"])
        for r in people
        if r.get("bytes_sent") is not None and r.get("bytes_received") is not None
    ]
    completed = sum(1 for r in people if r.get("completed"))
    ack = summarize(ack_samples, {"p50": 0.50, "p95": 0.95, "p99": 0.99}, digits=1)
    report: dict[str, Any] = {
        "candidates": candidates,
        "completed": completed,
        "answers_sent": sum(1 for a in answers if a.get("sent")),
        "answers_acknowledged": sum(1 for a in answers if a.get("acked")),
        "answers_in_results": in_results,
        "lost": lost,
        "link_mbit": link_mbit,
        "database": database,
        "paper_delivery_s": summarize(delivery, {"p50": 0.5, "p95": 0.95, "max": 1.0}, digits=3),
        "start_burst_s": start_burst,
        "ack_ms": ack,
        "bytes_per_candidate": round(sum(sizes) / len(sizes)) if sizes else None,
        "errors": len(errors),
        "passed": False,
    }
    reasons = _reasons(report, thresholds, start_at is not None)
    report["passed"] = not reasons
    paper_gzip = [int(r["paper_gzip_bytes"]) for r in people if r.get("paper_gzip_bytes")]
    paper_json = [int(r["paper_json_bytes"]) for r in people if r.get("paper_json_bytes")]
    extras = {
        "paper_json_bytes_mean": round(sum(paper_json) / len(paper_json)) if paper_json else None,
        "paper_gzip_bytes_mean": round(sum(paper_gzip) / len(paper_gzip)) if paper_gzip else None,
        "login_ms": summarize(
            [ms for r in people for ms in r.get("login_ms") or []],
            {"p50": 0.5, "p95": 0.95, "max": 1.0},
            digits=1,
        ),
        "lost_examples": lost_examples,
        "refusals": _sum_counts(r.get("refusals") or {} for r in people),
        "proctor_bytes": next(
            (
                int(p["bytes_sent"]) + int(p["bytes_received"])
                for p in proctors
                if p.get("bytes_sent") is not None and p.get("bytes_received") is not None
            ),
            None,
        ),
        "reconnects": sum(int(r.get("reconnects") or 0) for r in people),
        "load_generator": _generator_stalls(generators, answers),
        "thresholds": {
            "max_start_s": thresholds.max_start_s,
            "max_ack_p99_ms": thresholds.max_ack_p99_ms,
        },
    }
    return Outcome(report, reasons, errors, extras)


def _generator_stalls(
    generators: Sequence[Mapping[str, Any]], answers: Sequence[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """How much the load generator's own loop stalled, and how many acknowledgements it
    timed late because of it (loopwatch.py); None for a generator that does not watch."""
    if not generators:
        return None
    stalls = [(float(end), float(ms)) for g in generators for end, ms in g.get("stalls") or []]
    timed = [
        (float(a["at"]), float(a["ack_ms"]))
        for a in answers
        if a.get("ack_ms") is not None and a.get("at") is not None
    ]
    return {
        "stalls_over_ms": max(float(g.get("stall_ms") or 0.0) for g in generators),
        "stalls": sum(int(g.get("stall_count") or 0) for g in generators),
        "max_lag_ms": max(float(g.get("max_lag_ms") or 0.0) for g in generators),
        "longest_full_collection_ms": max(
            float(g.get("longest_full_collection_ms") or 0.0) for g in generators
        ),
        "acks_during_stalls": acks_during_stalls(timed, stalls),
    }


def _sum_counts(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for one in counts:
        for key, value in one.items():
            total[key] = total.get(key, 0) + int(value)
    return dict(sorted(total.items()))


def _reasons(report: Mapping[str, Any], thresholds: Thresholds, started: bool) -> list[str]:
    reasons = []
    if report["completed"] != report["candidates"]:
        reasons.append(f"{report['completed']} of {report['candidates']} candidates completed")
    if report["lost"]:
        reasons.append(f"{report['lost']} acknowledged answers lost")
    if report["errors"]:
        reasons.append(f"{report['errors']} errors")
    if not started:
        reasons.append("the proctor never started the session")
    burst = report["start_burst_s"]
    if burst is None:
        reasons.append("not every candidate received a paper")
    elif burst > thresholds.max_start_s:
        reasons.append(f"papers took {burst} s after the start (limit {thresholds.max_start_s} s)")
    p99 = report["ack_ms"]["p99"]
    if p99 is None:
        reasons.append("no answer was acknowledged")
    elif p99 >= thresholds.max_ack_p99_ms:
        reasons.append(f"ack p99 {p99} ms (limit below {thresholds.max_ack_p99_ms} ms)")
    return reasons

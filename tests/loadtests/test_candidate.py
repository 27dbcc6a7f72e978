import json
from typing import Any

import pytest

from loadtests.candidate import CandidateClient, Event


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


PAPER = {
    "paper_id": "P-1",
    "sections": [
        {"type": "single", "title": "单项选择题", "items": [
            {"item_id": "I1", "type": "single", "stem": "电流的单位是", "images": [],
             "options": [{"id": "A", "text": "安培", "image": None},
                         {"id": "B", "text": "伏特", "image": None}]},
            {"item_id": "I2", "type": "single", "stem": "电压的单位是", "images": [],
             "options": [{"id": "A", "text": "安培", "image": None},
                         {"id": "B", "text": "伏特", "image": None}]},
        ]},
    ],
}  # fmt: skip


def state(
    *,
    paper: dict[str, Any] | None = None,
    acked_seq: int = 0,
    answers: dict[str, list[str]] | None = None,
    cstate: str = "checked_in",
    paused: bool = False,
) -> str:
    return json.dumps(
        {
            "type": "state",
            "server_time": "2026-05-01T09:00:00+08:00",
            "session": {"id": 1, "code": "S", "title": "t", "state": "started",
                        "show_scores": False, "duration_ms": 1, "started_at": None},
            "candidate": {"ticket": "T1", "name": "王伟", "occupation": "electrician",
                          "occupation_name": "电工", "level": 3, "level_name": "高级",
                          "seat": 1, "state": cstate, "submit_reason": None},
            "paper": paper,
            "answers": answers or {},
            "flags": [],
            "remaining_ms": 1000,
            "paused": paused,
            "pause_scope": None,
            "acked_seq": acked_seq,
            "resume_token": "tok-1",
            "result": None,
        }
    )  # fmt: skip


def client() -> tuple[CandidateClient, Clock]:
    clock = Clock()
    return CandidateClient("T1", "110101199001011237", seat=1, clock=clock, wall=clock), clock


def test_login_then_paper_are_timed_and_the_resume_token_kept() -> None:
    c, clock = client()
    hello = json.loads(c.hello())
    assert hello == {
        "type": "hello",
        "protocol": "cbt.v1",
        "ticket": "T1",
        "id_number": "110101199001011237",
        "seat": 1,
    }
    clock.now += 0.25
    assert c.receive(state()) is Event.LOGGED_IN
    assert c.login_ms == [250.0]
    clock.now += 5
    assert c.receive(state(paper=PAPER, cstate="answering")) is Event.PAPER
    assert c.paper_wall == clock.now
    raw, gz = c.paper_sizes()
    assert raw > gz > 0
    assert c.record()["paper_json_bytes"] == raw
    assert json.loads(c.hello())["resume_token"] == "tok-1"


def test_answers_are_acked_and_timed_from_the_last_send() -> None:
    c, clock = client()
    c.receive(state(paper=PAPER, cstate="answering"))
    assert c.new_answer("I1", ["B"]) == 1
    frames = [json.loads(f) for f in c.due_frames()]
    assert frames == [{"type": "answer", "seq": 1, "item_id": "I1", "response": ["B"]}]
    assert c.due_frames() == []  # sent once, in flight now
    clock.now += 0.040
    assert c.receive(json.dumps({"type": "ack", "seq": 1})) is Event.ACK
    record = c.record()
    assert record["answers"][0]["acked"] is True
    assert record["answers"][0]["ack_ms"] == 40.0
    assert c.all_acked
    assert c.take_ack_ms() == [pytest.approx(40.0)]
    assert c.take_ack_ms() == []


def test_resend_after_reconnect_only_what_the_server_has_not_committed() -> None:
    c, clock = client()
    c.receive(state(paper=PAPER, cstate="answering"))
    for item, choice in (("I1", "A"), ("I2", "B")):
        c.new_answer(item, [choice])
    assert len(c.due_frames()) == 2
    offline = c.new_answer("I1", ["B"])  # answered while offline: never sent yet
    assert c.answers[offline].sends == 0
    # The connection dropped; the server had committed seq 1 only.
    c.hello()
    c.receive(state(acked_seq=1, answers={"I1": ["A"]}, cstate="answering"))
    assert c.unacked() == [2, 3]
    frames = [json.loads(f) for f in c.due_frames()]
    assert [f["seq"] for f in frames] == [2, 3]
    assert c.answers[2].sends == 2 and c.answers[3].sends == 1
    clock.now += 0.01
    c.receive(json.dumps({"type": "ack", "seq": 2}))
    c.receive(json.dumps({"type": "ack", "seq": 3}))
    assert c.all_acked and not c.errors
    assert c.answers[3].ack_ms == pytest.approx(10.0)


def test_a_state_that_lost_an_acked_answer_is_an_error() -> None:
    c, _ = client()
    c.receive(state(paper=PAPER, cstate="answering"))
    c.new_answer("I1", ["A"])
    c.due_frames()
    c.receive(json.dumps({"type": "ack", "seq": 1}))
    c.receive(state(acked_seq=1, answers={}, cstate="answering"))
    assert len(c.errors) == 1 and "I1" in c.errors[0]


def paused_frame() -> str:
    return json.dumps(
        {"type": "paused", "scope": "candidate", "reason": "x", "remaining_ms": 5,
         "server_time": "t"}
    )  # fmt: skip


def error(code: str, ref_seq: int) -> str:
    return json.dumps({"type": "error", "code": code, "message": code, "ref_seq": ref_seq})


def test_a_change_refused_while_paused_goes_again_under_a_new_seq_after_resume() -> None:
    c, _ = client()
    c.receive(state(paper=PAPER, cstate="answering"))
    c.new_answer("I2", ["A"])
    c.due_frames()
    assert c.receive(paused_frame()) is Event.PAUSED
    assert c.receive(error("paused", 1)) is Event.REFUSED
    assert c.paused and not c.errors and c.refusals == {"paused": 1}
    assert c.answers[1].retired and c.unacked() == [2]  # the same change, now seq 2
    c.new_answer("I1", ["B"])  # answered during the pause: kept, not sent
    assert c.due_frames() == []
    resumed = json.dumps({"type": "resumed", "remaining_ms": 5, "server_time": "t"})
    assert c.receive(resumed) is Event.RESUMED
    frames = [json.loads(f) for f in c.due_frames()]
    assert [(f["seq"], f["item_id"], f["response"]) for f in frames] == [
        (2, "I2", ["A"]),
        (3, "I1", ["B"]),
    ]
    c.receive(json.dumps({"type": "ack", "seq": 2}))
    c.receive(json.dumps({"type": "ack", "seq": 3}))
    assert c.all_acked
    record = c.record()
    assert [(a["seq"], a["acked"]) for a in record["answers"]] == [
        (1, False),
        (2, True),
        (3, True),
    ]


def test_a_refused_change_superseded_by_a_later_one_is_not_sent_again() -> None:
    c, _ = client()
    c.receive(state(paper=PAPER, cstate="answering"))
    c.new_answer("I1", ["A"])
    c.new_answer("I1", ["B"])
    c.due_frames()
    c.receive(error("unavailable", 1))
    assert c.unacked() == [2] and c.refusals == {"unavailable": 1}


def test_stale_seq_sends_the_change_again_under_a_new_seq() -> None:
    c, _ = client()
    c.receive(state(paper=PAPER, cstate="answering"))
    c.new_answer("I1", ["A"])
    c.due_frames()
    assert c.receive(error("stale_seq", 1)) is Event.REFUSED
    assert [json.loads(f)["seq"] for f in c.due_frames()] == [2]
    assert not c.errors


def test_below_the_mark_after_reconnect_counts_only_what_the_state_shows() -> None:
    c, _ = client()
    c.receive(state(paper=PAPER, cstate="answering"))
    c.new_answer("I1", ["A"])
    c.new_answer("I2", ["B"])
    c.due_frames()
    # Link lost; seq 1's refusal was lost with it, seq 2 was stored: the mark is 2.
    c.hello()
    c.receive(state(acked_seq=2, answers={"I2": ["B"]}, cstate="answering"))
    assert c.answers[2].acked and c.answers[1].retired
    assert [(json.loads(f)["seq"], json.loads(f)["item_id"]) for f in c.due_frames()] == [(3, "I1")]
    assert not c.errors


def test_unexpected_errors_and_bogus_frames_are_recorded() -> None:
    c, _ = client()
    c.receive(state(paper=PAPER, cstate="answering"))
    bad = json.dumps({"type": "error", "code": "unknown_item", "message": "no", "ref_seq": 9})
    assert c.receive(bad) is Event.ERROR
    assert c.receive("not json") is Event.ERROR
    assert c.receive(json.dumps({"type": "ack", "seq": 77})) is Event.ERROR
    assert len(c.errors) == 3


def test_login_refused_before_checkin_opens_is_expected() -> None:
    c, _ = client()
    c.hello()
    refusal = json.dumps({"type": "error", "code": "not_started", "message": "not yet"})
    assert c.receive(refusal) is Event.LOGIN_REFUSED
    assert c.last_login_refusal == "not_started" and not c.errors
    c.hello()
    wrong = json.dumps({"type": "error", "code": "login_failed", "message": "wrong"})
    assert c.receive(wrong) is Event.LOGIN_REFUSED
    assert c.errors == ["T1: login refused: login_failed: wrong"]


def test_submit_and_record() -> None:
    c, _ = client()
    c.receive(state(paper=PAPER, cstate="answering"))
    c.new_answer("I1", ["A"])
    c.due_frames()
    c.receive(json.dumps({"type": "ack", "seq": 1}))
    assert json.loads(c.submit_frame()) == {"type": "submit", "seq": 2}
    assert json.loads(c.submit_frame())["seq"] == 2  # a retry keeps its number
    c.receive(json.dumps({"type": "ack", "seq": 2}))
    assert (
        c.receive(json.dumps({"type": "submitted", "reason": "candidate", "submitted_at": "t"}))
        is Event.SUBMITTED
    )
    record = c.record(bytes_sent=10, bytes_received=20)
    assert record["kind"] == "candidate" and record["completed"] is True
    assert record["paper_items"] == 2 and record["bytes_sent"] == 10
    assert [a["seq"] for a in record["answers"]] == [1]
    assert c.submit_acked


def test_a_superseded_answer_below_the_mark_is_not_resent() -> None:
    """protocol.md §3: both changes to I1 were committed and both acks were lost; the
    state shows the newer one. The older is not sent again (it would overwrite it)."""
    c, _ = client()
    c.receive(state(paper=PAPER, cstate="answering"))
    c.new_answer("I1", ["A"])
    c.new_answer("I1", ["B"])
    assert len(c.due_frames()) == 2
    c.hello()
    c.receive(state(acked_seq=2, answers={"I1": ["B"]}, cstate="answering"))
    assert c.due_frames() == []
    assert c.seq == 2 and c.all_acked and not c.errors

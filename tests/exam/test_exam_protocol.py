"""Protocol messages: a round trip per type, and rejection of everything else."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from cbt_server.exam.grading import ItemType
from cbt_server.exam.state import CandidateState, SessionState, SubmitReason
from cbt_server.protocol import (
    MAX_FRAME_BYTES,
    SUBPROTOCOL,
    Message,
    MessageType,
    ProtocolError,
    dump,
    parse_candidate,
    parse_proctor,
    parse_to_candidate,
    parse_to_proctor,
)
from cbt_server.protocol import candidate as c
from cbt_server.protocol import proctor as p

NOW = datetime(2024, 5, 18, 1, 2, 3, 456000, tzinfo=UTC)

PAPER = c.PaperView(
    paper_id="p-1",
    sections=[
        c.SectionView(
            type=ItemType.SINGLE,
            title="单项选择题",
            items=[
                c.ItemView(
                    item_id="electrician-3-0001",
                    type=ItemType.SINGLE,
                    stem="在纯电阻正弦交流电路中，电压与电流的相位关系是（  ）。",
                    images=[c.ImageView(src="data:image/png;base64,AA==")],
                    options=[
                        c.OptionView(id="C", text="电流超前电压90°"),
                        c.OptionView(
                            id="A",
                            text="同相",
                            image=c.ImageView(src="data:image/png;base64,AA==", alt="波形"),
                        ),
                    ],
                )
            ],
        ),
        c.SectionView(
            type=ItemType.TRUE_FALSE,
            title="判断题",
            items=[c.ItemView(item_id="t1", type=ItemType.TRUE_FALSE, stem="对吗？", options=[])],
        ),
    ],
)

SEAT = p.SeatView(
    candidate_id=3,
    ticket="T0003",
    name="张三",
    seat=3,
    state=CandidateState.ANSWERING,
    online=True,
    answered=12,
    total=100,
    remaining_ms=3_600_000,
    paused=False,
    last_seen=NOW,
)

CANDIDATE_IN: list[Message] = [
    c.Hello(protocol=SUBPROTOCOL, ticket="T0001", id_number="11010519491231002X"),
    c.Hello(protocol=SUBPROTOCOL, ticket="T1", id_number="1", seat=7, resume_token="tok-abc"),
    c.Answer(seq=1, item_id="electrician-3-0001", response=["A"]),
    c.Answer(seq=2, item_id="m1", response=[]),
    c.Flag(seq=3, item_id="m1", flagged=True),
    c.Submit(seq=4),
    c.Ping(),
    c.Focus(event="blur", at=NOW),
    c.Focus(event="fullscreen_exit"),
    c.PracticeHello(protocol=SUBPROTOCOL, code="KX7P2M9Q"),
    c.PracticeHello(protocol=SUBPROTOCOL, code="KX7P2M9Q", seat=3, resume_token="tok"),
    c.Check(item_id="electrician-3-0001"),
    c.Review(),
]

CHECK = c.ItemCheck(
    item_id="electrician-3-0001", correct=False, outcome="wrong", response=["C"], key=["A"]
)

CANDIDATE_OUT: list[Message] = [
    c.State(
        server_time=NOW,
        session=c.SessionInfo(
            id=1,
            code="S1",
            title="电工（高级）",
            state=SessionState.STARTED,
            show_scores=True,
            duration_ms=5_400_000,
            started_at=NOW,
        ),
        candidate=c.CandidateInfo(
            ticket="T0001",
            name="李四",
            occupation="electrician",
            occupation_name="电工",
            level=3,
            level_name="高级",
            seat=1,
            state=CandidateState.ANSWERING,
        ),
        paper=PAPER,
        answers={"electrician-3-0001": ["A"]},
        flags=["t1"],
        remaining_ms=5_000_000,
        paused=False,
        acked_seq=7,
        resume_token="tok",
    ),
    c.State(
        server_time=NOW,
        session=c.SessionInfo(
            id=1,
            code="S1",
            title="t",
            state=SessionState.CHECKIN,
            show_scores=False,
            duration_ms=1,
        ),
        candidate=c.CandidateInfo(
            ticket="T",
            name="n",
            occupation="childcare",
            occupation_name="育婴员",
            level=5,
            level_name="初级",
            seat=2,
            state=CandidateState.GRADED,
            submit_reason=SubmitReason.TIMEOUT,
        ),
        answers={},
        flags=[],
        remaining_ms=0,
        paused=True,
        pause_scope="room",
        acked_seq=0,
        result=c.ResultView(total=61.5, max_total=100, pass_mark=60, passed=True),
    ),
    c.Ack(seq=9),
    c.PausedMsg(scope="candidate", reason="机器故障", remaining_ms=10, server_time=NOW),
    c.Resumed(remaining_ms=10, server_time=NOW),
    c.Time(remaining_ms=20, server_time=NOW, extra_ms=600_000, reason="停电"),
    c.Submitted(reason=SubmitReason.PROCTOR, submitted_at=NOW),
    c.Result(total=59, max_total=100, pass_mark=60, passed=False),
    c.Error(code="invalid_message", message="seq: Input should be a valid integer", ref_seq=4),
    c.Error(code="malformed", message="not valid JSON"),
    c.Closing(reason="server shutting down", reconnect=True),
    c.Pong(server_time=NOW, remaining_ms=5),
    c.Checked(**CHECK.model_dump()),
    c.Reviewed(items=[CHECK], paper=PAPER),
]

PROCTOR_IN: list[Message] = [
    p.ProctorHello(protocol=SUBPROTOCOL, session_id=1),
    p.OpenCheckin(seq=1),
    p.Start(seq=2),
    p.Pause(seq=3, reason="全场停电"),
    p.Pause(seq=4, candidate_id=5, reason="机器故障"),
    p.Resume(seq=5),
    p.Resume(seq=6, candidate_id=5, reason="换机完成"),
    p.ExtraTime(seq=7, candidate_id=5, seconds=300, reason="换机耽误"),
    p.Unlock(seq=8, candidate_id=5, reason="换到 12 号机"),
    p.Unlock(seq=8, candidate_id=5, reason="换到备用机", pc="LAB-SPARE"),
    p.ForceSubmit(seq=9, candidate_id=5, reason="违纪"),
    p.MarkAbsent(seq=10, candidate_id=6),
    p.EndSession(seq=12, reason="考试时间到"),
    p.AdmitLate(seq=13, candidate_id=6, reason="交通事故，经考务组同意入场"),
    p.VerifyIdentity(seq=14, candidate_id=6),
    p.Note(seq=11, text="09:05 考场正常开考"),
    c.Ping(),
]

PROCTOR_OUT: list[Message] = [
    p.Room(
        server_time=NOW,
        session_id=1,
        session_code="S1",
        title="电工（高级）",
        state=SessionState.STARTED,
        room_paused=False,
        duration_ms=5_400_000,
        started_at=NOW,
        candidates=[SEAT],
    ),
    p.Room(
        server_time=NOW,
        session_id=1,
        session_code="S1",
        title="电工（高级）",
        state=SessionState.CHECKIN,
        room_paused=False,
        duration_ms=5_400_000,
        candidates=[SEAT.model_copy(update={"photo": True, "identity_checked": True})],
        rows=5,
        cols=8,
    ),
    p.Seat(server_time=NOW, candidate=SEAT),
    p.Alarms(
        server_time=NOW,
        alarms=[p.AlarmView(code="disk_full", since=NOW, detail="服务器磁盘已满 disk full")],
    ),
    p.Alarms(server_time=NOW, alarms=[]),
    c.Ack(seq=1),
    c.Error(code="forbidden", message="no", ref_seq=1),
    c.Closing(reason="bye", reconnect=False),
    c.Pong(server_time=NOW),
]


def _ids(messages: list[Message]) -> list[str]:
    return [f"{i}-{m.type}" for i, m in enumerate(messages)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("message", CANDIDATE_IN, ids=_ids(CANDIDATE_IN))
def test_candidate_inbound_round_trip(message: Message) -> None:
    assert parse_candidate(dump(message)) == message


@pytest.mark.parametrize("message", CANDIDATE_OUT, ids=_ids(CANDIDATE_OUT))
def test_candidate_outbound_round_trip(message: Message) -> None:
    assert parse_to_candidate(dump(message)) == message


@pytest.mark.parametrize("message", PROCTOR_IN, ids=_ids(PROCTOR_IN))
def test_proctor_inbound_round_trip(message: Message) -> None:
    assert parse_proctor(dump(message)) == message


@pytest.mark.parametrize("message", PROCTOR_OUT, ids=_ids(PROCTOR_OUT))
def test_proctor_outbound_round_trip(message: Message) -> None:
    assert parse_to_proctor(dump(message)) == message


def test_every_message_type_is_covered() -> None:
    seen = {m.type for m in CANDIDATE_IN + CANDIDATE_OUT + PROCTOR_IN + PROCTOR_OUT}  # type: ignore[attr-defined]
    assert seen == {t.value for t in MessageType}


def test_frame_is_a_flat_json_object_with_type() -> None:
    frame = json.loads(dump(c.Answer(seq=1, item_id="x", response=["A", "B"])))
    assert frame == {"type": "answer", "seq": 1, "item_id": "x", "response": ["A", "B"]}
    state = json.loads(dump(CANDIDATE_OUT[0]))
    assert state["server_time"] == "2024-05-18T01:02:03.456000Z"


def test_paper_view_cannot_carry_keys_or_scores() -> None:
    for model in (c.PaperView, c.SectionView, c.ItemView, c.OptionView, c.ImageView):
        fields = set(model.model_fields)
        assert not fields & {"key", "keys", "mapping", "score", "score_each", "correct"}
    with pytest.raises(ValueError):
        c.ItemView(item_id="x", type=ItemType.SINGLE, stem="s", options=[], key=["A"])  # type: ignore[call-arg]


def _reject(frame: str | bytes, parse: Any = parse_candidate) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse(frame)
    assert info.value.message
    return info.value


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("", "malformed"),
        ("not json", "malformed"),
        ("{", "malformed"),
        ("[]", "malformed"),
        ("42", "malformed"),
        ("null", "malformed"),
        ('"answer"', "malformed"),
        ("{}", "malformed"),
        ('{"seq": 1}', "malformed"),
        (b'{"type": "ping"}', "malformed"),
        ('{"type": "launch_missiles"}', "unknown_type"),
        ('{"type": 7}', "unknown_type"),
        ('{"type": "state"}', "unknown_type"),  # a server message sent by a client
        ('{"type": "start", "seq": 1}', "unknown_type"),  # a proctor command from a candidate
        ('{"type": "ping", "x": 1}', "invalid_message"),
        ('{"type": "answer", "seq": "1", "item_id": "a", "response": ["A"]}', "invalid_message"),
        ('{"type": "answer", "seq": 1.0, "item_id": "a", "response": ["A"]}', "invalid_message"),
        ('{"type": "answer", "seq": true, "item_id": "a", "response": ["A"]}', "invalid_message"),
        ('{"type": "answer", "seq": 0, "item_id": "a", "response": ["A"]}', "invalid_message"),
        ('{"type": "answer", "seq": -1, "item_id": "a", "response": []}', "invalid_message"),
        (
            '{"type": "answer", "seq": 2147483648, "item_id": "a", "response": []}',
            "invalid_message",
        ),
        ('{"type": "answer", "seq": 1, "item_id": "", "response": []}', "invalid_message"),
        ('{"type": "answer", "seq": 1, "item_id": "a", "response": "A"}', "invalid_message"),
        ('{"type": "answer", "seq": 1, "item_id": "a", "response": [1]}', "invalid_message"),
        ('{"type": "answer", "seq": 1, "item_id": "a", "response": [""]}', "invalid_message"),
        (
            '{"type": "answer", "seq": 1, "item_id": "a", '
            '"response": ["A","B","C","D","E","F","G"]}',
            "invalid_message",
        ),
        ('{"type": "answer", "seq": 1, "item_id": "a"}', "invalid_message"),
        ('{"type": "flag", "seq": 1, "item_id": "a", "flagged": "yes"}', "invalid_message"),
        ('{"type": "flag", "seq": 1, "item_id": "a", "flagged": 1}', "invalid_message"),
        ('{"type": "submit"}', "invalid_message"),
        (
            '{"type": "hello", "protocol": "cbt.v1", "ticket": "", "id_number": "1"}',
            "invalid_message",
        ),
        (
            '{"type": "hello", "protocol": "cbt.v1", "ticket": "T", "id_number": 110}',
            "invalid_message",
        ),
        ("[" * 5000 + "]" * 5000, "malformed"),
    ],
)
def test_candidate_rejects(frame: str | bytes, code: str) -> None:
    assert _reject(frame).code == code


def test_reject_keeps_ref_seq_when_usable() -> None:
    err = _reject('{"type": "answer", "seq": 12, "item_id": "a", "response": "A"}')
    assert (err.code, err.ref_seq) == ("invalid_message", 12)
    assert "response" in err.message
    assert _reject('{"type": "bogus", "seq": 5}').ref_seq == 5
    assert _reject('{"type": "answer", "seq": "5"}').ref_seq is None


def test_oversized_frame() -> None:
    big = dump(c.Answer(seq=1, item_id="x" * 100, response=[])).replace(
        '"x', '"' + "x" * MAX_FRAME_BYTES, 1
    )
    err = _reject(big)
    assert err.code == "too_large"
    assert str(MAX_FRAME_BYTES) in err.message
    # The limit counts UTF-8 bytes, not characters.
    chinese = '{"type":"ping","x":"' + "考" * (MAX_FRAME_BYTES // 3) + '"}'
    assert _reject(chinese).code == "too_large"
    assert _reject('{"type":"ping"}' + " " * 20, lambda f: parse_candidate(f, 16)).code == (
        "too_large"
    )


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "pause", "seq": 1, "reason": ""}',
        '{"type": "pause", "seq": 1}',
        '{"type": "extra_time", "seq": 1, "candidate_id": 1, "seconds": 0, "reason": "r"}',
        '{"type": "extra_time", "seq": 1, "candidate_id": 1, "seconds": 99999, "reason": "r"}',
        '{"type": "extra_time", "seq": 1, "candidate_id": 1, "seconds": 60}',
        '{"type": "unlock", "seq": 1, "candidate_id": "1", "reason": "r"}',
        '{"type": "note", "seq": 1, "text": ""}',
        '{"type": "hello", "protocol": "cbt.v1", "session_id": 0}',
        '{"type": "answer", "seq": 1, "item_id": "a", "response": []}',
    ],
)
def test_proctor_rejects(frame: str) -> None:
    assert _reject(frame, parse_proctor).code in {"invalid_message", "unknown_type"}

"""Hypothesis strategies for hostile WebSocket frames (candidate and proctor sockets).

A strategy draws a frame *spec*: garbage text or bytes, a large frame (`Big`), or a
message (`Msg`) whose values may be references (`Seq`, `Ref`) resolved only when the
frame is sent, against the connection's situation then (the last acknowledged sequence
number, the candidate's paper, the candidates of the console's session). So the
strategies are built once, stay small in reports, and a sequence number can be "the
next one", "a replay" or "an older one" whatever came before.

Well-formed messages are mixed with near misses (one field of the wrong type or out of
range, a field dropped, an extra field, a key given twice) and plain garbage, so that
both the parser and what comes after it are exercised.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from cbt_server.protocol.base import MAX_SEQ

WRONG_TYPES: tuple[Any, ...] = ("1", 1.5, True, None, (1,), -0.0, 1e300, "")
EXTRA_FIELDS = ("key", "correct", "score", "candidate_id", "session_id", "__proto__", "ticket")
PROCTOR_TYPES = (
    "open_checkin",
    "start",
    "pause",
    "resume",
    "extra_time",
    "unlock",
    "force_submit",
    "mark_absent",
    "note",
)
SERVER_TYPES = ("state", "ack", "error", "result", "room", "seat", "closing", "pong")


@dataclass(frozen=True)
class Seq:
    """A sequence number relative to the last acknowledged one (`abs`: as given)."""

    kind: str  # next | replay | older | abs
    k: int

    def resolve(self, acked: int) -> int:
        if self.kind == "next":
            return acked + self.k
        if self.kind == "replay":
            return max(acked, 1)
        if self.kind == "older":
            return max(1, acked - self.k)
        return self.k


@dataclass(frozen=True)
class Ref:
    """An element of one of the lists in the `Context` (index taken modulo its length)."""

    pool: str  # own_item | foreign_item | choice | login | own_candidate | other_candidate
    index: int


@dataclass
class Context:
    """What references resolve against when a frame is sent."""

    acked: int = 0
    own_items: Sequence[str] = ()
    options: dict[str, Sequence[str]] = field(default_factory=dict)  # own item -> option ids
    foreign_items: Sequence[str] = ()
    logins: Sequence[tuple[str, str]] = ()
    own_candidates: Sequence[int] = ()
    other_candidates: Sequence[int] = ()
    other_sessions: Sequence[int] = ()

    def pick(self, ref: Ref, item_id: Any = None) -> Any:
        if ref.pool == "choice":
            options = self.options.get(item_id) if isinstance(item_id, str) else None
            pool: Sequence[Any] = list(options or ()) + ["true", "false"]
        else:
            pool = {
                "own_item": self.own_items,
                "foreign_item": self.foreign_items or self.own_items,
                "login": self.logins,
                "own_candidate": self.own_candidates,
                "other_candidate": self.other_candidates or self.own_candidates,
                "other_session": self.other_sessions,
            }[ref.pool]
        value = pool[ref.index % len(pool)]
        return list(value) if ref.pool == "login" else value


@dataclass(frozen=True)
class Msg:
    """A JSON object message; `mangle` spoils it one way: ("drop", name), ("extra", name,
    value) or ("dup", name, value) for a key given twice."""

    fields: tuple[tuple[str, Any], ...]
    mangle: tuple[Any, ...] = ()

    def text(self, ctx: Context) -> str:
        values = dict(self.fields)
        item_id = _resolve(values.get("item_id"), ctx, None)
        resolved = {name: _resolve(value, ctx, item_id) for name, value in values.items()}
        if resolved.get("type") == "hello" and isinstance(resolved.get("ticket"), list):
            resolved["ticket"], resolved["id_number"] = resolved["ticket"]
        if self.mangle and self.mangle[0] == "drop":
            resolved.pop(self.mangle[1], None)
        if self.mangle and self.mangle[0] == "extra":
            resolved[self.mangle[1]] = self.mangle[2]
        body = json.dumps(resolved, ensure_ascii=False)
        if self.mangle and self.mangle[0] == "dup":
            body = body[:-1] + f", {json.dumps(self.mangle[1])}: {json.dumps(self.mangle[2])}}}"
            if body.startswith("{, "):
                body = "{" + body[3:]
        return body


def _resolve(value: Any, ctx: Context, item_id: Any) -> Any:
    if isinstance(value, Seq):
        return value.resolve(ctx.acked)
    if isinstance(value, Ref):
        return ctx.pick(value, item_id)
    if isinstance(value, tuple):
        return [_resolve(inner, ctx, item_id) for inner in value]
    return value


@dataclass(frozen=True)
class Big:
    """A large text frame, built only when sent."""

    kind: str  # deep | deep_in_message | padded | padded_cjk
    n: int

    def text(self) -> str:
        if self.kind == "deep":
            return "[" * self.n + "]" * self.n
        if self.kind == "deep_in_message":
            nested = "[" * self.n + "]" * self.n
            return '{"type":"answer","seq":1,"item_id":"x","response":' + nested + "}"
        pad = "考" if self.kind == "padded_cjk" else "x"
        return json.dumps({"type": "ping", "pad": pad * self.n}, ensure_ascii=False)


Frame = str | bytes | Big | Msg


def wire(frame: Frame, ctx: Context) -> str | bytes:
    """The frame as sent now."""
    if isinstance(frame, Msg):
        return frame.text(ctx)
    if isinstance(frame, Big):
        return frame.text()
    return frame


# --- building blocks ----------------------------------------------------------------


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, picked with the given relative weights."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


def seqs() -> st.SearchStrategy[Any]:
    """Sequence numbers: mostly the next ones, also replays, older ones, the edges of
    the allowed range, any number, and values of the wrong type."""
    return weighted(
        (8, st.integers(1, 3).map(lambda k: Seq("next", k))),
        (2, st.just(Seq("replay", 0))),
        (2, st.integers(1, 5).map(lambda k: Seq("older", k))),
        (1, st.sampled_from([0, -1, MAX_SEQ, MAX_SEQ + 1, 2**63]).map(lambda k: Seq("abs", k))),
        (1, st.integers(-10, MAX_SEQ + 10).map(lambda k: Seq("abs", k))),
        (1, st.sampled_from(WRONG_TYPES)),
    )


def refs(pool: str) -> st.SearchStrategy[Ref]:
    return st.integers(0, 10_000).map(lambda i: Ref(pool, i))


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=10,
    )


def garbage(limit: int) -> st.SearchStrategy[Frame]:
    """Frames that are no message at all, or too big, or nested absurdly deep."""
    return st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        json_values().map(json.dumps),
        st.dictionaries(st.text(max_size=10), json_values(), max_size=5).map(json.dumps),
        st.integers(50, limit // 2 - 2).map(lambda n: Big("deep", n)),
        st.integers(50, limit // 2 - 100).map(lambda n: Big("deep_in_message", n)),
        st.integers(limit - 20, 3 * limit).map(lambda n: Big("padded", n)),
        st.integers(limit // 3, limit).map(lambda n: Big("padded_cjk", n)),
        st.sampled_from(
            [
                "",
                "null",
                "{}",
                '{"type": null}',
                '{"type": 1}',
                '{"type": ["answer"]}',
                '{"type": "answer"',
                '{"type": "ping"} trailing',
                '{"type": "ping"}{"type": "ping"}',
                "\ufeff{}",
                '{"type": "\\ud800"}',
                '{"type": "answer", "seq": NaN}',
                '{"type": "answer", "seq": 1e3, "item_id": "a", "response": []}',
            ]
        ),
    )


def mangled(messages: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Msg]:
    """Messages, one in five spoilt one way."""
    clean = messages.map(lambda m: Msg(tuple(m.items())))
    spoilt = st.tuples(
        messages,
        st.sampled_from(["drop", "extra", "dup"]),
        st.integers(0, 20),
        st.sampled_from(EXTRA_FIELDS),
        json_values(),
    ).map(_spoil)
    return weighted((4, clean), (1, spoilt))


def _spoil(drawn: tuple[dict[str, Any], str, int, str, Any]) -> Msg:
    message, how, index, extra, value = drawn
    names = sorted(message)
    name = names[index % len(names)]
    if how == "drop":
        return Msg(tuple(message.items()), ("drop", name))
    if how == "extra":
        return Msg(tuple(message.items()), ("extra", extra, value))
    return Msg(tuple(message.items()), ("dup", name, value))


# --- the two sockets ------------------------------------------------------------------


@functools.cache
def candidate_frames(limit: int) -> st.SearchStrategy[Frame]:
    """One frame from a logged-in candidate (references: own_item, foreign_item, choice,
    login)."""
    item_ids = weighted(
        (6, refs("own_item")),
        (1, refs("foreign_item")),
        (1, st.text(max_size=140)),
        (1, st.sampled_from(WRONG_TYPES)),
    )
    choice = weighted(
        (6, refs("choice")),
        (1, st.sampled_from(["A", "B", "E", "F", "Z", "a", " A", "A ", "", "true ", "TRUE"])),
        (1, st.text(max_size=10)),
    )
    responses = weighted(
        (8, st.lists(choice, max_size=3).map(tuple)),
        (1, st.lists(choice, max_size=8).map(tuple)),
        (1, st.sampled_from(["A", None, 1, (("A",),), (1,)])),
    )
    answer = st.fixed_dictionaries(
        {"type": st.just("answer"), "seq": seqs(), "item_id": item_ids, "response": responses}
    )
    flag = st.fixed_dictionaries(
        {
            "type": st.just("flag"),
            "seq": seqs(),
            "item_id": item_ids,
            "flagged": weighted((6, st.booleans()), (1, st.sampled_from(WRONG_TYPES))),
        }
    )
    submit = st.fixed_dictionaries({"type": st.just("submit"), "seq": seqs()})
    hello = refs("login").map(
        lambda login: {"type": "hello", "protocol": "cbt.v1", "ticket": login, "id_number": ""}
    )
    other_types = st.fixed_dictionaries(
        {
            "type": st.one_of(
                st.sampled_from(PROCTOR_TYPES + SERVER_TYPES), st.text(min_size=1, max_size=12)
            ),
            "seq": seqs(),
            "candidate_id": st.integers(-1, 10**6),
        }
    )
    messages = weighted(
        (12, answer),
        (4, flag),
        (1, st.just({"type": "ping"})),
        (1, hello),
        (1, other_types),
        (1, submit),  # submitting ends what can be tried next: rarely
    )
    return weighted((6, mangled(messages)), (1, garbage(limit)))


@functools.cache
def proctor_frames(limit: int) -> st.SearchStrategy[Frame]:
    """One frame from a room console (references: own_candidate, other_candidate,
    other_session): commands, valid and not, about candidates of its own session and of
    others; hellos for other sessions; candidates' messages; garbage."""
    candidate_ids = weighted(
        (3, refs("own_candidate")),
        (3, refs("other_candidate")),
        (1, st.integers(-1, 10**7)),
        (1, st.none()),
        (1, st.sampled_from(WRONG_TYPES)),
    )
    reasons = weighted(
        (4, st.just("监考员操作")), (2, st.text(max_size=30)), (1, st.sampled_from(["", "x" * 501]))
    )
    seq = weighted((6, st.just(Seq("next", 1))), (1, seqs()))
    seconds = weighted(
        (4, st.integers(1, 3600)), (1, st.integers(-5, 5 * 3600)), (1, st.sampled_from(WRONG_TYPES))
    )
    texts = weighted((4, st.just("监考员巡视记录")), (2, st.text(max_size=40)), (1, st.just("")))
    # Each command with its own fields (required, optional), so most are well-formed.
    shapes: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        "open_checkin": ({}, {}),
        "start": ({}, {}),
        "pause": ({"reason": reasons}, {"candidate_id": candidate_ids}),
        "resume": ({}, {"candidate_id": candidate_ids, "reason": reasons}),
        "extra_time": ({"candidate_id": candidate_ids, "seconds": seconds, "reason": reasons}, {}),
        "unlock": ({"candidate_id": candidate_ids, "reason": reasons}, {}),
        "force_submit": ({"candidate_id": candidate_ids, "reason": reasons}, {}),
        "mark_absent": ({"candidate_id": candidate_ids}, {"reason": reasons}),
        "note": ({"text": texts}, {}),
    }
    command = st.sampled_from(sorted(shapes)).flatmap(
        lambda kind: st.fixed_dictionaries(
            {"type": st.just(kind), "seq": seq, **shapes[kind][0]}, optional=shapes[kind][1]
        )
    )
    hello = st.fixed_dictionaries(
        {
            "type": st.just("hello"),
            "protocol": st.sampled_from(["cbt.v1", "cbt.v2"]),
            "session_id": st.one_of(refs("other_session"), st.integers(-1, 10**6)),
        }
    )
    candidate_messages = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["answer", "flag", "submit"]),
            "seq": st.just(Seq("next", 1)),
            "item_id": st.text(max_size=20),
            "response": st.just(("A",)),
        }
    )
    messages = weighted((10, command), (1, hello), (1, candidate_messages))
    return weighted((5, mangled(messages)), (1, garbage(limit)))

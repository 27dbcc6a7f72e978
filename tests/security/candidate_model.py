"""What the server must answer to each frame a logged-in candidate sends, and what it
must then have stored: a model written from docs/protocol.md's rules, independent of the
server's answer-saving code.

Frames are classified by the protocol parser (a pure function: which frames are
well-formed is the parser's own contract, pinned by tests/exam/test_exam_protocol.py);
everything after parsing (sequence numbers, which items and choices are allowed, states)
is decided here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cbt_server.protocol import ProtocolError, parse_candidate
from cbt_server.protocol import candidate as msg

Reply = tuple[str, Any, str]
"""(type, seq or ref_seq, error code or "") of a direct reply: ack, error or pong."""


@dataclass(frozen=True)
class PaperItem:
    type: str  # single | multiple | true_false
    options: tuple[str, ...]


@dataclass
class CandidateModel:
    """One candidate answering a started session (not paused, time not up)."""

    paper: dict[str, PaperItem]
    frame_limit: int
    acked: int = 0
    submitted: bool = False
    rows: dict[str, tuple[list[str], bool, int]] = field(default_factory=dict)

    def expect(self, frame: str | bytes) -> list[Reply]:
        """The direct replies to one frame (in order), updating the model."""
        if isinstance(frame, bytes):
            return [("error", None, "malformed")]
        try:
            message = parse_candidate(frame, self.frame_limit)
        except ProtocolError as error:
            return [("error", error.ref_seq, error.code)]
        if isinstance(message, msg.Ping):
            return [("pong", None, "")]
        if isinstance(message, msg.Hello):
            return [("error", None, "unexpected")]  # this connection is logged in already
        if isinstance(message, msg.Submit):
            return [self._submit(message.seq)]
        if isinstance(message, msg.Answer):
            return [self._change(message.seq, message.item_id, list(message.response), None)]
        assert isinstance(message, msg.Flag)
        return [self._change(message.seq, message.item_id, None, message.flagged)]

    def _submit(self, seq: int) -> Reply:
        if seq <= self.acked:
            # A resend: acknowledged again only if the paper is submitted; otherwise
            # that submit was never applied, and an ack would say it was.
            return ("ack", seq, "") if self.submitted else ("error", seq, "stale_seq")
        if self.submitted:
            return ("error", seq, "already_submitted")
        self.submitted = True
        self.acked = seq
        return ("ack", seq, "")

    def _change(
        self, seq: int, item_id: str, response: list[str] | None, flagged: bool | None
    ) -> Reply:
        if seq <= self.acked:
            # A resend: acknowledged again if it (or a later change to the item) is
            # stored, else it was refused when first sent; either way nothing changes.
            row = self.rows.get(item_id)
            if row is not None and row[2] >= seq:
                return ("ack", seq, "")
            return ("error", seq, "stale_seq")
        if self.submitted:
            return ("error", seq, "already_submitted")
        item = self.paper.get(item_id)
        if item is None:
            return ("error", seq, "unknown_item")
        if response is not None and not allowed(item, response):
            return ("error", seq, "invalid_response")
        old_response, old_flag, _ = self.rows.get(item_id, ([], False, 0))
        self.rows[item_id] = (
            sorted(response) if response is not None else old_response,
            flagged if flagged is not None else old_flag,
            seq,
        )
        self.acked = seq
        return ("ack", seq, "")


def allowed(item: PaperItem, response: list[str]) -> bool:
    """Whether `response` is a legal answer to `item` (empty clears the answer)."""
    if len(set(response)) != len(response):
        return False
    choices = ("true", "false") if item.type == "true_false" else item.options
    if any(choice not in choices for choice in response):
        return False
    return item.type == "multiple" or len(response) <= 1


def direct(message: dict[str, Any]) -> Reply | None:
    """The reply key of a received message if it answers a frame (ack, error, pong)."""
    kind = message.get("type")
    if kind == "ack":
        return ("ack", message.get("seq"), "")
    if kind == "error":
        return ("error", message.get("ref_seq"), str(message.get("code")))
    if kind == "pong":
        return ("pong", None, "")
    return None


def same_replies(got: list[Reply], want: list[Reply]) -> bool:
    """Replies to a burst may come in another order (parse errors go out at once, acks
    after their commit); each must be there exactly as often as expected."""
    return Counter(got) == Counter(want)


def paper_of_state(state: dict[str, Any]) -> dict[str, PaperItem]:
    """The candidate's paper as their `state` message shows it."""
    paper: dict[str, PaperItem] = {}
    for section in state["paper"]["sections"]:
        for item in section["items"]:
            paper[item["item_id"]] = PaperItem(
                item["type"], tuple(option["id"] for option in item["options"])
            )
    return paper

"""Practice (练习) as pure rules: the practice code, when a candidate may see a key, and
how a key is shown.

A practice session is self-service: a candidate logs in with their ticket and ID-card
number, or with the session's practice code (then the server makes them an ad-hoc
candidate), answers timed or untimed, and sees right/wrong and the key either after each
item (`item`: asking to check an item locks it) or after handing in (`end`). The key
never reaches a candidate of any other mode.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from enum import StrEnum

from cbt_server.errors import InvalidInput, NotCheckable, NotPractice
from cbt_server.exam.state import HANDED_IN, IN_EXAM, CandidateState

PRACTICE = "practice"

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""No 0/O, 1/I/L: a code a proctor reads out or writes on the board is typed right."""
CODE_LENGTH = 8
MIN_CODE_LENGTH = 6
MAX_CODE_LENGTH = 32

UNTIMED_SECONDS = 24 * 3600
"""The clock of an untimed practice: no deadline a candidate meets in one sitting (the
client shows no countdown); the server still needs a finite figure for its sweeper."""


class Feedback(StrEnum):
    ITEM = "item"  # after each item, on request; the item is then locked
    END = "end"  # after handing in, for every item


def feedback_of(value: str) -> Feedback:
    try:
        return Feedback(value)
    except ValueError:
        raise InvalidInput(f"feedback must be item or end, not {value!r}") from None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    """A code as typed: spaces and dashes dropped, upper case."""
    return "".join(ch for ch in code.upper() if ch not in " -")


def check_code(code: str) -> str:
    """A code an administrator chose, normalized; InvalidInput if it is too easy to guess."""
    normal = normalize_code(code)
    if (
        not (MIN_CODE_LENGTH <= len(normal) <= MAX_CODE_LENGTH and normal.isascii())
        or not normal.isalnum()
    ):
        raise InvalidInput(
            f"practice code must be {MIN_CODE_LENGTH}..{MAX_CODE_LENGTH} letters or digits"
        )
    return normal


def code_hash(code: str) -> str:
    """What is stored of a practice code (the code itself is printed once, at creation)."""
    return hashlib.sha256(f"cbt-practice:{normalize_code(code)}".encode()).hexdigest()


def check_allowed(
    mode: str, feedback: str | None, state: CandidateState, *, review: bool = False
) -> None:
    """Raise unless a candidate of this mode and state may see a key now: `check` (one
    item, while answering, under `item` feedback) or `review` (every item, once handed
    in, under either feedback)."""
    if mode != PRACTICE or feedback is None:
        raise NotPractice("answer keys are shown only in practice sessions")
    if review:
        if state not in HANDED_IN:
            raise NotCheckable("the review opens once the paper is handed in")
        return
    if feedback != Feedback.ITEM:
        raise NotCheckable("this practice shows the keys after handing in, not item by item")
    if state not in IN_EXAM:
        raise NotCheckable(f"items can be checked while answering, not in state {state.value!r}")


def shown_key(key: Sequence[str], option_order: Sequence[str]) -> list[str]:
    """The key in the order the candidate's options are shown (the ids the client knows)."""
    wanted = set(key)
    ordered = [option for option in option_order if option in wanted]
    return ordered + sorted(wanted - set(ordered))

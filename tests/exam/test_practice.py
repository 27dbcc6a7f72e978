"""Practice (练习) as pure rules: codes, when a key may be shown, keys in display order."""

from __future__ import annotations

import pytest

from cbt_server.errors import InvalidInput, NotCheckable, NotPractice
from cbt_server.exam import practice
from cbt_server.exam.state import CandidateState


def test_codes() -> None:
    code = practice.new_code()
    assert len(code) == practice.CODE_LENGTH and set(code) <= set(practice.CODE_ALPHABET)
    assert not set(code) & set("01OIL")  # nothing to misread off a board
    assert practice.check_code(" ab-cd ef12 ") == "ABCDEF12"
    assert practice.code_hash("abcd-ef12") == practice.code_hash("ABCDEF12")
    assert practice.code_hash("ABCDEF12") != practice.code_hash("ABCDEF13")
    assert "ABCDEF12" not in practice.code_hash("ABCDEF12")
    for bad in ("abc", "x" * 33, "abc!def", "练习练习练习"):
        with pytest.raises(InvalidInput, match="practice code"):
            practice.check_code(bad)
    with pytest.raises(InvalidInput, match="item or end"):
        practice.feedback_of("always")


def test_when_a_key_may_be_shown() -> None:
    answering, submitted = CandidateState.ANSWERING, CandidateState.SUBMITTED
    practice.check_allowed("practice", "item", answering)
    practice.check_allowed("practice", "item", submitted, review=True)
    practice.check_allowed("practice", "end", CandidateState.GRADED, review=True)
    for mode in ("formal", "rehearsal"):
        for review in (False, True):
            with pytest.raises(NotPractice):
                practice.check_allowed(mode, "item", submitted, review=review)
    with pytest.raises(NotPractice):  # a practice row with no feedback: refuse, not guess
        practice.check_allowed("practice", None, answering)
    with pytest.raises(NotCheckable, match="after handing in"):
        practice.check_allowed("practice", "end", answering)
    with pytest.raises(NotCheckable, match="once the paper is handed in"):
        practice.check_allowed("practice", "end", answering, review=True)
    with pytest.raises(NotCheckable, match="while answering"):
        practice.check_allowed("practice", "item", CandidateState.CHECKED_IN)


def test_keys_in_display_order() -> None:
    assert practice.shown_key(["A", "C"], ["C", "B", "A"]) == ["C", "A"]
    assert practice.shown_key(["true"], []) == ["true"]  # true/false: no options

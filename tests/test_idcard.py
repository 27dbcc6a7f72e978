"""GB 11643 ID-card numbers: check digit, dates, shape."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cbt_server.idcard import check_digit, is_valid, make_number, normalise, problem


def test_published_example() -> None:
    # The worked example in GB 11643-1999: 11010519491231002X.
    assert check_digit("11010519491231002") == "X"
    assert is_valid("11010519491231002X")
    assert is_valid(" 11010519491231002x ")
    assert normalise(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("110105194912310021", "check digit is 1, expected X"),
        ("11010519491331002X", "not a real date"),
        ("1101051949123100", "17 digits"),
        ("11010519491231002Y", "17 digits"),
    ],
)
def test_problems_are_named(number: str, fragment: str) -> None:
    reason = problem(number)
    assert reason is not None and fragment in reason


@given(
    st.dates(min_value=date(1940, 1, 1), max_value=date(2010, 12, 31)),
    st.integers(0, 999),
    st.integers(0, 16),
    st.integers(1, 9),
)
def test_made_numbers_are_valid_and_one_digit_changes_are_caught(
    birth: date, sequence: int, position: int, delta: int
) -> None:
    number = make_number("320102", birth, sequence)
    assert is_valid(number)
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    assert problem(changed) is not None

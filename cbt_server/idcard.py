"""Resident ID-card numbers (居民身份证号码, GB 11643-1999): format and check digit."""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def problem(number: str) -> str | None:
    """Why `number` is not a valid 18-digit ID-card number, or None if it is valid."""
    text = number.strip().upper()
    if not _SHAPE.match(text):
        return "must be 17 digits followed by a digit or X"
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return f"birth date {text[6:14]} is not a real date"
    expected = check_digit(text[:17])
    if text[17] != expected:
        return f"check digit is {text[17]}, expected {expected}"
    return None


def is_valid(number: str) -> bool:
    return problem(number) is None


def normalise(number: str) -> str:
    """Upper-case X, no surrounding spaces: the stored form."""
    return number.strip().upper()


def make_number(region: str, birth: date, sequence: int) -> str:
    """Build a valid number from a 6-digit region code, a birth date and a 3-digit sequence
    (for demo and test data)."""
    if len(region) != 6 or not region.isdigit() or not 0 <= sequence <= 999:
        raise ValueError("region must be 6 digits and sequence 0..999")
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)

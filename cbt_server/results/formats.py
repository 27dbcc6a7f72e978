"""How stored values are published in a result document (pure: no I/O).

Every value in a published document is a string, an integer, a boolean, null, a list or
an object: scores are decimal strings with two places ("85.50") so that no float
formatting differs between the signer and a verifier written in another language.
Each function takes the stored value and the field's name, used in error messages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any


class DocumentError(ValueError):
    """A stored value cannot be put into the published form; the message says which."""


# A key an item row stored in `results.responses` does not have.
MISSING: Any = object()


def format_score(value: float | int | Decimal | str, what: str = "score") -> str:
    """A score as a decimal string with exactly two places, rounded half-up."""
    if isinstance(value, bool):
        raise DocumentError(f"{what}: not a number: {value!r}")
    if type(value) is int:
        return f"{value}.00"
    if type(value) is float:
        # Fast path for the usual case, a score the grader already rounded to 2 places:
        # its shortest repr has at most 2 decimals and needs no rounding.
        text = repr(value)
        whole, dot, decimals = text.partition(".")
        if dot and len(decimals) <= 2 and whole.lstrip("-").isdigit():
            padded = f"{whole}.{decimals:0<2}"
            return "0.00" if padded == "-0.00" else padded
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise DocumentError(f"{what}: not a number: {value!r}") from None
    if not number.is_finite():
        raise DocumentError(f"{what}: not a finite number: {value!r}")
    quantized = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return "0.00" if quantized.is_zero() else format(quantized, "f")


def format_time(value: datetime | None, what: str = "time") -> str | None:
    """A timestamp as ISO 8601 in UTC with microseconds and a +00:00 offset, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise DocumentError(f"{what}: naive datetime (no time zone)")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def as_int(value: Any, _what: str) -> int:
    return int(value)


def as_bool(value: Any, _what: str) -> bool:
    """True or false; a missing item key counts as false."""
    return False if value is MISSING else bool(value)


def item_score(value: Any, what: str) -> str:
    """An item's score; a missing one is 0."""
    return format_score(0 if value is MISSING else value, what)


def nonempty_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise DocumentError(f"{what}: missing")
    return value


def response_list(value: Any, what: str) -> list[str]:
    """The response as a list of strings: missing or null is [], one string a list of it."""
    if value is None or value is MISSING:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(type(r) is str for r in value):
        raise DocumentError(f"{what}: not a list of strings")
    return list(value)

"""The rules for the codes and names an administrator types, checked wherever they enter.

Codes (session 场次, room, ticket) follow the roster's rules: no leading `= + - @` (a
spreadsheet would read a formula when the code is exported) and no control characters.
Names and titles may not hold newlines or other control characters either: they end up
in one-line places (the console, CSV exports, the room record). No I/O here.
"""

from __future__ import annotations

import unicodedata

from cbt_server.errors import InvalidInput

FORMULA_LEADS = "=+-@"
CODE_LIMIT = 64
NAME_LIMIT = 128


def control_character(text: str) -> str | None:
    """The first control, format (e.g. bidirectional override) or unassigned character
    of `text`, as `U+XXXX`; None if there is none."""
    for char in text:
        if unicodedata.category(char)[0] == "C":
            return f"U+{ord(char):04X}"
    return None


def code_problem(text: str, limit: int = CODE_LIMIT) -> str | None:
    """Why `text` cannot be a code, or None."""
    if not text:
        return "empty"
    if len(text) > limit:
        return f"longer than {limit} characters"
    if text[0] in FORMULA_LEADS:
        return f"{text[:20]!r} starts with {text[0]!r}, which a spreadsheet reads as a formula"
    found = control_character(text)
    if found is not None:
        return f"holds the control character {found}"
    return None


def name_problem(text: str, limit: int = NAME_LIMIT) -> str | None:
    """Why `text` cannot be a name or title (empty is allowed here), or None."""
    if len(text) > limit:
        return f"longer than {limit} characters"
    found = control_character(text)
    if found is not None:
        what = "a line break" if found in ("U+000A", "U+000D") else f"the control character {found}"
        return f"holds {what}"
    return None


def check_code(field: str, text: str) -> str:
    """`text` stripped, or InvalidInput naming `field` and what is wrong."""
    text = text.strip()
    problem = code_problem(text)
    if problem is not None:
        raise InvalidInput(f"{field}: {problem}")
    return text


def check_name(field: str, text: str, limit: int = NAME_LIMIT) -> str:
    """`text` stripped, or InvalidInput naming `field` and what is wrong."""
    text = text.strip()
    problem = name_problem(text, limit)
    if problem is not None:
        raise InvalidInput(f"{field}: {problem}")
    return text

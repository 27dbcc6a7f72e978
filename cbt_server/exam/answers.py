"""Checking a candidate's response against the item it answers (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from cbt_server.errors import InvalidResponse
from cbt_server.exam.grading import TRUE_FALSE_OPTIONS, ItemType


def normalize_response(
    item_type: ItemType, option_ids: Sequence[str], response: Sequence[str]
) -> list[str]:
    """Return the response in canonical form (sorted option ids) or raise InvalidResponse.

    An empty list clears the answer. Single and true/false take at most one choice;
    multiple takes any subset of the item's options. True/false choices are "true"/"false".
    """
    if len(set(response)) != len(response):
        raise InvalidResponse("a choice appears more than once in the response")
    allowed = TRUE_FALSE_OPTIONS if item_type is ItemType.TRUE_FALSE else tuple(option_ids)
    unknown = [choice for choice in response if choice not in allowed]
    if unknown:
        raise InvalidResponse(
            f"not a choice of this item: {', '.join(map(repr, unknown))} "
            f"(choices: {', '.join(allowed)})"
        )
    if item_type is not ItemType.MULTIPLE and len(response) > 1:
        raise InvalidResponse(f"a {item_type.value} item takes at most one choice")
    return sorted(response)

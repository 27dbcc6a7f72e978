"""The resend rule of docs/protocol.md §3, followed literally by a scripted client.

Two changes to the same item are both committed and both their acks are lost with the
link. After reconnecting, the older one lies below `state.acked_seq` and the `state`
does not show it (it shows the newer one). The rule as first written ("stored only if the
state shows it … send any such change again under a new seq") made a client resend the
older change and overwrite the newer answer; the rule now resends a change below the
mark only if no later change to the same item's answer (or flag) was made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.runtime.exam_setup import Exam
from tests.runtime.test_reconnect import choice, items_of, started_candidate
from tests.runtime.wsclient import candidate_login

PROTOCOL_MD = Path(__file__).parents[2] / "docs" / "protocol.md"


def _key(change: dict[str, Any]) -> tuple[str, str]:
    """What a change sets: an item's answer or an item's flag."""
    return change["type"], change["item_id"]


def _shown(change: dict[str, Any], state: dict[str, Any]) -> bool:
    """Does the `state` show this change (its answer or flag is there)?"""
    if change["type"] == "answer":
        return sorted(state["answers"].get(change["item_id"], [])) == sorted(change["response"])
    return (change["item_id"] in state["flags"]) == change["flagged"]


def changes_to_send(
    held: dict[int, dict[str, Any]], made: list[dict[str, Any]], state: dict[str, Any], rule: str
) -> list[dict[str, Any]]:
    """What a client following protocol.md §3 sends after the `state` of a reconnect.

    `held` are the changes sent and not acknowledged, by seq; `made` every change the
    client made, in order. `rule` is "as written" (the old text) or "fixed"."""
    acked = state["acked_seq"]
    next_seq = max([acked, *held, *(c["seq"] for c in made)]) + 1
    out: list[dict[str, Any]] = []
    for seq in sorted(held):
        change = held[seq]
        if seq > acked:
            out.append(change)  # with its original seq
            continue
        if _shown(change, state):
            continue  # stored: drop it
        if rule == "fixed" and any(
            _key(later) == _key(change) and later["seq"] > seq for later in made
        ):
            continue  # superseded by a later change to the same answer or flag
        out.append({**change, "seq": next_seq})
        next_seq += 1
    return out


@pytest.mark.parametrize("rule", ["as written", "fixed"])
async def test_a_superseded_change_whose_ack_was_lost_is_not_resent(
    server: LiveServer, exam: Exam, rule: str
) -> None:
    client, state = await started_candidate(server, exam)
    token = state["resume_token"]
    first, second = items_of(state)[:2]
    x, y = first["item_id"], second["item_id"]
    made = [
        {"type": "answer", "seq": 1, "item_id": x, "response": choice(first, 0)},
        {"type": "answer", "seq": 2, "item_id": x, "response": choice(first, 1)},
        {"type": "flag", "seq": 3, "item_id": y, "flagged": True},
        {"type": "flag", "seq": 4, "item_id": y, "flagged": False},
    ]
    for change in made:
        await client.send(change)
    for change in made:  # committed; the page never sees these acks
        await client.expect("ack", seq=change["seq"])
    client.ws.transport.abort()
    held = {change["seq"]: change for change in made}

    again, state = await candidate_login(
        server.ws_url, exam.people[0].ticket, exam.people[0].id_number, resume_token=token
    )
    assert state["acked_seq"] == 4
    resent = changes_to_send(held, made, state, rule)
    for change in resent:
        await again.send(change)
        await again.expect("ack", seq=change["seq"])
    await again.close()
    final, state = await candidate_login(
        server.ws_url, exam.people[0].ticket, exam.people[0].id_number, resume_token=token
    )
    await final.close()
    newest = (sorted(choice(first, 1)), False)
    stored = (sorted(state["answers"].get(x, [])), y in state["flags"])
    if rule == "as written":  # the overwrite the old text caused
        assert [c["item_id"] for c in resent] == [x, y]
        assert stored == (sorted(choice(first, 0)), True) != newest
    else:
        assert resent == []
        assert stored == newest


def test_protocol_md_states_the_fixed_rule() -> None:
    text = " ".join(PROTOCOL_MD.read_text(encoding="utf-8").split())
    assert "only if you made no later change to the same item's answer" in text
    assert "One with `seq <= state.acked_seq` is stored only if the `state` shows it" not in text

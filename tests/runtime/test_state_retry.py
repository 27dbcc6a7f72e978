"""The full state after a login carries its resume token: a transient database error
while reading it must not leave the candidate without one (locked out until unlocked)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cbt_server.runtime import ws_candidate
from cbt_server.runtime.candidate import views
from tests.conftest import LiveServer
from tests.runtime.exam_setup import Exam
from tests.runtime.wsclient import candidate_login


async def test_the_state_is_read_again_after_a_pool_timeout(
    server: LiveServer, exam: Exam, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = views.candidate_state
    failures = {"left": 2}

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise PoolTimeout("QueuePool limit of size 10 overflow 20 reached (simulated)")
        return await real(*args, **kwargs)

    monkeypatch.setattr(views, "candidate_state", flaky)
    monkeypatch.setattr(ws_candidate, "STATE_RETRY_PAUSES", (0.05, 0.05, 0.05))
    person = exam.people[0]
    client, state = await candidate_login(server.ws_url, person.ticket, person.id_number)
    try:
        assert failures["left"] == 0  # it failed twice, then was read again
        assert state["resume_token"]
        assert state["candidate"]["ticket"] == person.ticket
    finally:
        await client.close()
    # With the token the candidate comes back on the same PC (no proctor needed).
    again, state = await candidate_login(
        server.ws_url, person.ticket, person.id_number, resume_token=state["resume_token"]
    )
    assert state["candidate"]["state"] == "checked_in"
    await again.close()

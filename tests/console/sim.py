"""Simulated candidates for console tests: real WebSocket clients speaking cbt.v1."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.runtime.wsclient import Client, candidate_login


@dataclass
class SimCandidate:
    """One candidate at a PC: logs in, receives the paper, answers and keeps the acks."""

    ticket: str
    id_number: str
    seat: int
    client: Client | None = None
    state: dict[str, Any] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    acked: dict[str, list[str]] = field(default_factory=dict)

    async def log_in(self, ws_url: str, seat: int | None = None) -> dict[str, Any]:
        self.client, self.state = await candidate_login(
            ws_url, self.ticket, self.id_number, seat=seat or self.seat
        )
        if self.state.get("paper"):
            self._take_paper(self.state)
        return self.state

    def _take_paper(self, state: dict[str, Any]) -> None:
        self.items = [i for s in state["paper"]["sections"] for i in s["items"]]

    async def wait_paper(self) -> None:
        assert self.client is not None
        while not self.items:
            state = await self.client.expect("state", wait=15)
            if state.get("paper"):
                self.state = state
                self._take_paper(state)

    async def answer(self, count: int) -> dict[str, list[str]]:
        """Answer the first `count` items with their first option; wait for every ack."""
        assert self.client is not None
        for item in self.items[:count]:
            seq = await self.client.next_seq()
            response = [item["options"][0]["id"]]
            await self.client.send(
                {"type": "answer", "seq": seq, "item_id": item["item_id"], "response": response}
            )
            await self.client.expect("ack", seq=seq)
            self.acked[item["item_id"]] = response
        return dict(self.acked)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

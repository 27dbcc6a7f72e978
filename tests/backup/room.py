"""A room that answers on a live server: the material a backup is taken of."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

from cbt_server.keys import SESSIONMAKER
from cbt_server.tokens import create_token
from tests.conftest import LiveServer
from tests.runtime.exam_setup import Exam
from tests.runtime.test_full_exam import choose, paper_items
from tests.runtime.wsclient import Client, candidate_login, command, proctor_open


@dataclass
class Room:
    clients: list[Client]
    states: list[dict[str, Any]]
    proctor: Client
    resume_tokens: list[str]


async def start_room(server: LiveServer, exam: Exam) -> Room:
    logins = await asyncio.gather(
        *(candidate_login(server.ws_url, p.ticket, p.id_number, seat=p.seat) for p in exam.people)
    )
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(proctor, "start")
    clients = [client for client, _ in logins]
    states = [await client.expect("state") for client in clients]
    return Room(clients, states, proctor, [state["resume_token"] for _, state in logins])


async def answer(client: Client, state: dict[str, Any], items: range) -> None:
    """Answer these items of the paper (even ones right) and wait for every ack."""
    paper = paper_items(state)
    seqs = set()
    for index in items:
        item = paper[index % len(paper)]
        seq = await client.next_seq()
        seqs.add(seq)
        await client.send(
            {"type": "answer", "seq": seq, "item_id": item["item_id"],
             "response": choose(item, index % 2 == 0)}
        )  # fmt: skip
    while seqs:
        seqs.discard((await client.expect("ack", wait=60))["seq"])


async def submit(client: Client) -> dict[str, Any]:
    seq = await client.next_seq()
    await client.send({"type": "submit", "seq": seq})
    await client.expect("submitted", wait=30)
    return await client.expect("result", wait=30)


async def centre_token(server: LiveServer) -> str:
    async with server.app[SESSIONMAKER].begin() as session:
        return (await create_token(session, "city-centre", "results:read")).secret


async def get_bytes(base_url: str, path: str, token: str) -> bytes:
    async with (
        aiohttp.ClientSession() as http,
        http.get(base_url + path, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.read()

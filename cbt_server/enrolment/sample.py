"""The sample exam, built in one chain of steps: engine → schema → exam → room.

The demo (`cbt-server demo`), the load tests' rooms (loadtests/roomdata.py) and the test
fixtures all build their exams with these steps, from the sample bank shipped in
item_bank/samples, so each of them sees what a prepared real room looks like: items
stored encrypted, a session of a stored blueprint, candidates in their seats and every
paper assembled before the start. Each caller keeps only its own data (who sits where,
which accounts exist). The chain starts from a migrated database
(`cbt_server.db.migrate.migrated_engine` / `migrated`), which is also how the `cbt-server`
commands open theirs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.enrolment.roster import Entrant, candidate_row
from cbt_server.enrolment.sessions import SessionSpec, add_room, add_session
from cbt_server.errors import InvalidInput, NotFound
from cbt_server.item_store import store_blueprint, store_items
from cbt_server.runtime.papers import ensure_papers
from item_bank.blueprint import load_blueprint
from item_bank.importers.native import import_native
from item_bank.model import Blueprint, Item

SAMPLES = Path(__file__).resolve().parents[2] / "item_bank" / "samples"
SAMPLE_BANK = SAMPLES / "electrician-3.yaml"
SAMPLE_BLUEPRINT = SAMPLES / "blueprints" / "electrician-3-standard.yaml"
SAMPLE_BLUEPRINT_ID = "electrician-3-standard"


class Person(NamedTuple):
    """A made-up candidate of a sample exam."""

    ticket: str
    id_number: str
    name: str
    seat: int


# --- engine → schema ------------------------------------------------------------------


# --- the bank -------------------------------------------------------------------------


@functools.cache
def sample_items(path: Path) -> tuple[Item, ...]:
    """The items of a sample bank file, parsed once per process (they are immutable)."""
    result = import_native(path)
    if not result.ok:
        raise InvalidInput(f"sample bank {path.name} does not import: {result.errors[0]}")
    return tuple(result.items)


@functools.cache
def sample_blueprint(path: Path) -> Blueprint:
    return load_blueprint(path)


def every_sample() -> tuple[list[Path], list[Path]]:
    """Every sample bank file and every sample blueprint, by name."""
    return sorted(SAMPLES.glob("*.yaml")), sorted((SAMPLES / "blueprints").glob("*.yaml"))


async def store_samples(
    session: AsyncSession,
    cipher: ContentCipher,
    banks: Iterable[Path] = (SAMPLE_BANK,),
    blueprints: Iterable[Path] = (SAMPLE_BLUEPRINT,),
) -> None:
    """Store sample banks' items (encrypted with `cipher`) and sample blueprints."""
    for bank in banks:
        await store_items(session, cipher, sample_items(bank))
    for path in blueprints:
        await store_blueprint(session, sample_blueprint(path))


# --- exam -----------------------------------------------------------------------------


async def sample_exam(
    session: AsyncSession,
    spec: SessionSpec,
    *,
    seed: str,
    duration_s: int = 90 * 60,
    state: str = "scheduled",
) -> models.ExamSession:
    """A new room of `spec.seats` and a session in it of the stored blueprint the spec
    names, unchecked: the seed, length and state are the caller's (a test's exam may
    last seconds, or start in check-in)."""
    blueprint = await session.get(models.Blueprint, spec.blueprint_id)
    if blueprint is None:
        raise NotFound(f"no blueprint {spec.blueprint_id!r} in the bank (store the samples)")
    if spec.seats is None:
        raise InvalidInput("a sample exam's room needs its number of seats")
    room = await add_room(session, spec.room_code, spec.room_name, spec.seats, spec.site)
    return await add_session(
        session, spec, blueprint, room, duration_s=duration_s, seed=seed, state=state
    )


# --- room -----------------------------------------------------------------------------


async def seat_people(
    session: AsyncSession,
    cipher: ContentCipher,
    exam: models.ExamSession,
    people: Sequence[Entrant],
    *,
    papers: bool = True,
) -> tuple[list[models.Candidate], int]:
    """`people` registered in their seats of `exam`, and (unless `papers` is False) their
    papers assembled; the candidate rows and how many papers were assembled."""
    rows = [candidate_row(exam, person) for person in people]
    session.add_all(rows)
    await session.flush()
    assembled = await ensure_papers(session, cipher, exam, rows) if papers else 0
    return rows, assembled

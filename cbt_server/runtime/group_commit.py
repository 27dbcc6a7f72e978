"""Short units of work of many connections committed together (group commit).

Each connection already saves the answers that arrived together in one transaction. With
a room of 1,000 answering and then submitting, that was still one transaction per answer,
submit, grading and disconnect, each holding the database's one writer (SQLite) for 5 to
20 ms of a busy event loop: when the room began to submit, answers queued for seconds.
Here connections hand their unit of work to one committer, which runs all that are
waiting in one transaction, commits once, and then answers each. A quiet server commits
at once (a batch of one); a busy one commits bigger batches, not more of them.

A job's outcome is delivered only after the commit that stores it, as before. A job may
refuse with a DomainError only before it writes anything (the services check first and
write after), so a refusal is that job's alone and the others commit. If the shared
transaction fails for any other reason, every job of the batch runs again in a
transaction of its own, so that only what fails alone fails.

The commonest units (answers) go further: `run_batched` hands an item to a batch function
that does the items of every waiting connection with a fixed number of statements (one
lock of all their candidates, one read of their rows, one flush), instead of a handful
each. Batch functions run first in the shared transaction, then the other jobs, which is
one serial order of work that arrived together.

Work nobody waits on at a screen (grading) is `background`: it runs a few items at a
time in transactions of its own, taking turns with the rest, so that a room being graded
never holds up an answer for longer than a few gradings take.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.errors import DomainError, Unavailable
from cbt_server.runtime.events import Event

if TYPE_CHECKING:
    from cbt_server.runtime.context import Runtime

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[AsyncSession, list[Event]], Awaitable[T]]
"""A unit of work: reads and writes in the session given, appends its events."""
Batch = Callable[["Runtime", AsyncSession, list[Event], list[Any]], Awaitable[list[Any]]]
"""Units of work of one kind, done together: one outcome per item, in item order; an
outcome that is a DomainError refuses that item, which must then have written nothing."""

MAX_BATCH = 256
"""Jobs per transaction: bounds how long one commit keeps the others waiting."""
BACKGROUND_BATCH = 8
"""Background items per transaction (gradings: a few ms of CPU each). Nobody waits on
them at a screen, so they never share a transaction with the answers and submits that
someone does wait on, and take turns with them: a room submitting together was graded
in batches of up to 256 (over a second of CPU), and every answer meanwhile waited."""


@dataclass(slots=True)
class _Request:
    job: Job[Any] | None
    future: asyncio.Future[Any]
    batch: Batch | None = None
    item: Any = None
    background: bool = False


class GroupCommit:
    """Runs jobs of any number of connections, in shared transactions."""

    def __init__(
        self,
        runtime: Runtime,
        max_batch: int = MAX_BATCH,
        background_batch: int = BACKGROUND_BATCH,
    ) -> None:
        self._rt = runtime
        self._max_batch = max_batch
        self._background_batch = background_batch
        self._background_turn = False
        self._pending: list[_Request] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        """Transactions committed (for tests and figures)."""

    async def run(self, job: Job[T]) -> T:
        """The job's result once its transaction committed; raises what the job raised
        (a DomainError refusal), or the database's error if its transaction failed."""
        return await self._enqueue(_Request(job, self._future()))

    async def run_batched(self, batch: Batch, item: Any, *, background: bool = False) -> Any:
        """`batch`'s outcome for `item` once its transaction committed, done together with
        the items of the same batch function that wait with it; raises a refusal (a
        DomainError outcome), or the database's error if the transaction failed.
        `background` work (nobody waits on it at a screen) runs in transactions of its own,
        at most BACKGROUND_BATCH items each, taking turns with the rest."""
        request = _Request(None, self._future(), batch, item, background)
        return await self._enqueue(request)

    @staticmethod
    def _future() -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _enqueue(self, request: _Request) -> Any:
        self._pending.append(request)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="cbt-group-commit")
        return await request.future

    async def _drain(self) -> None:
        batch: list[_Request] = []
        try:
            while self._pending:
                batch = self._take()
                await self._commit(batch)
                batch = []
        finally:  # cancelled (the server is stopping): nobody is left waiting forever
            for request in [*batch, *self._pending]:
                _settle(request, error=Unavailable("the server is stopping; send again"))
            self._pending.clear()

    def _take(self) -> list[_Request]:
        """The next transaction's requests: the waiting foreground ones, or (every other
        turn, or when there are no others) a few background ones."""
        background = [r for r in self._pending if r.background]
        if background and (self._background_turn or len(background) == len(self._pending)):
            taken = background[: self._background_batch]
            self._background_turn = False
        else:
            taken = [r for r in self._pending if not r.background][: self._max_batch]
            self._background_turn = True
        chosen = {id(r) for r in taken}
        self._pending = [r for r in self._pending if id(r) not in chosen]
        return taken

    async def _commit(self, batch: list[_Request]) -> None:
        try:
            outcomes = await self._together(batch)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0], error=error)
                return
            log.warning("a transaction of %d jobs failed (%s); running each alone",
                        len(batch), error)  # fmt: skip
            for request in batch:
                await self._commit([request])
            return
        for request, (result, refusal) in zip(batch, outcomes, strict=True):
            _settle(request, result=result, error=refusal)

    async def _together(self, batch: list[_Request]) -> list[tuple[Any, DomainError | None]]:
        outcomes: dict[int, tuple[Any, DomainError | None]] = {}
        kinds: dict[Batch, list[int]] = {}
        for position, request in enumerate(batch):
            if request.batch is not None:
                kinds.setdefault(request.batch, []).append(position)
        async with self._rt.unit() as work:
            for kind, positions in kinds.items():
                items = [batch[position].item for position in positions]
                results = await kind(self._rt, work.session, work.events, items)
                for position, result in zip(positions, results, strict=True):
                    refused = isinstance(result, DomainError)
                    outcomes[position] = (None, result) if refused else (result, None)
            for position, request in enumerate(batch):
                if request.job is None:
                    continue
                mark = len(work.events)
                try:
                    outcomes[position] = (await request.job(work.session, work.events), None)
                except DomainError as refused:  # refused before it wrote anything
                    del work.events[mark:]
                    outcomes[position] = (None, refused)
        self.batches += 1
        return [outcomes[position] for position in range(len(batch))]


def _settle(request: _Request, *, result: Any = None, error: BaseException | None = None) -> None:
    if request.future.done():  # whoever waited went away meanwhile
        return
    if error is not None:
        request.future.set_exception(error)
    else:
        cast(asyncio.Future[Any], request.future).set_result(result)

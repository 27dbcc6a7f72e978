"""CPU benchmark: a fixed, deterministic workload scored in work units per second.

One work unit compresses and restores 12 KiB of text with zlib (integer, branchy
code), sums square roots and products of 5,000 floats exactly with ``math.fsum``
(floating point), and raises a 1,279-bit number to a 113-bit power modulo a
Mersenne prime (wide integer multiplication). All three loops run in C, so the
score follows the CPU much more than the Python version. A score is the number
of units finished per second: ``score_single`` on one core, ``score_multi`` with
one worker process per logical core, summed.

``BASELINE_SINGLE`` and ``BASELINE_MULTI`` are the scores of an entry Core i3
(i3-2100 class: Sandy Bridge, 2 cores / 4 threads, 3.1 GHz, no turbo). How they
were derived is written down in docs/lab-readiness.md. A PC is "i3 or better"
when it reaches both, whatever its CPU is called: AMD, Zhaoxin and Hygon CPUs
are judged by the same yardstick.
"""

from __future__ import annotations

import math
import multiprocessing
import operator
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BASELINE_SINGLE = 350.0
BASELINE_MULTI = 850.0
ENV_BASELINE_SINGLE = "CBT_LAB_BASELINE_SINGLE"
ENV_BASELINE_MULTI = "CBT_LAB_BASELINE_MULTI"

_WORDS = (b"exam ", b"paper ", b"candidate ", b"room ", b"seat ", b"answer ", b"item ", b"the ")
_MODULUS = (1 << 1279) - 1
_BASE = 3**700 + 12345
_EXPONENT = 7**40
_START_TIMEOUT = 120.0


class BenchmarkError(Exception):
    """The benchmark could not run or produced inconsistent results."""


@dataclass(frozen=True)
class Baseline:
    """The scores an entry Core i3 reaches; a PC must reach both."""

    single: float = BASELINE_SINGLE
    multi: float = BASELINE_MULTI

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Baseline:
        """The default baseline, overridden by the environment variables if set."""
        env = os.environ if environ is None else environ
        return cls(
            single=_env_score(env, ENV_BASELINE_SINGLE, BASELINE_SINGLE),
            multi=_env_score(env, ENV_BASELINE_MULTI, BASELINE_MULTI),
        )

    def met_by(self, score_single: float, score_multi: float) -> bool:
        """Whether the measured scores are those of an entry Core i3 or better."""
        return score_single >= self.single and score_multi >= self.multi


@dataclass(frozen=True)
class BenchResult:
    """Scores of one benchmark run."""

    score_single: float
    score_multi: float
    workers: int


def _env_score(env: Any, name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BenchmarkError(f"{name}={raw!r} is not a number") from None
    if not value > 0 or math.isinf(value):
        raise BenchmarkError(f"{name}={raw!r} must be a positive number")
    return value


def _make_text(size: int) -> bytes:
    """Word-like text from a fixed linear congruential sequence (same on every PC)."""
    out = bytearray()
    state = 12345
    while len(out) < size:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        if state & 3 == 0:
            out.append(48 + (state >> 8) % 75)
        else:
            out += _WORDS[(state >> 16) % len(_WORDS)]
    return bytes(out[:size])


_TEXT = _make_text(12288)
_FLOATS_A = [1.0 + (i * 0.6180339887) % 997.0 for i in range(5000)]
_FLOATS_B = [0.5 + (i * 0.4142135623) % 13.0 for i in range(5000)]


def work_unit() -> tuple[int, float, int]:
    """Do one unit of work and return its results, which never vary on one PC."""
    packed = zlib.compress(_TEXT, 6)
    if zlib.decompress(packed) != _TEXT:
        raise BenchmarkError("zlib did not restore the benchmark text")
    total = math.fsum(map(math.sqrt, _FLOATS_A)) + math.fsum(
        map(operator.mul, _FLOATS_A, _FLOATS_B)
    )
    residue = pow(_BASE, _EXPONENT, _MODULUS) % 1_000_003
    return len(packed), total, residue


def run_for(
    seconds: float,
    on_tick: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Run work units for about ``seconds`` and return units per second."""
    expected = work_unit()
    start = clock()
    units = 0
    while True:
        if work_unit() != expected:
            raise BenchmarkError("the CPU gave different results for the same work")
        units += 1
        elapsed = clock() - start
        if on_tick is not None:
            on_tick(elapsed)
        if elapsed >= seconds:
            return units / elapsed if elapsed > 0 else float(units)


def _worker(barrier: Any, seconds: float, results: Any) -> None:
    """Body of one multi-core worker process: start together, then run the time box."""
    try:
        work_unit()
        barrier.wait(_START_TIMEOUT)
        results.put(("ok", run_for(seconds)))
    except threading.BrokenBarrierError:
        results.put(("error", "the workers did not start together"))
    except BenchmarkError as exc:
        results.put(("error", str(exc)))


def score_multi(
    seconds: float, workers: int, on_tick: Callable[[float], None] | None = None
) -> float:
    """Run one worker process per core at once and return their summed units per second.

    Processes (not threads) because the interpreter runs one thread at a time;
    "spawn" on every OS so Linux runs the same path as Windows.
    """
    if workers < 1:
        raise BenchmarkError("the multi-core benchmark needs at least one worker")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(barrier, seconds, results), daemon=True)
        for _ in range(workers)
    ]
    try:
        for proc in procs:
            proc.start()
        try:
            barrier.wait(_START_TIMEOUT)
        except threading.BrokenBarrierError:
            raise BenchmarkError(
                "the multi-core benchmark could not start its worker processes"
            ) from None
        start = time.monotonic()
        deadline = start + seconds + _START_TIMEOUT
        scores: list[float] = []
        while len(scores) < workers:
            if time.monotonic() > deadline:
                raise BenchmarkError("a benchmark worker process did not finish")
            try:
                status, value = results.get(timeout=0.1)
            except queue.Empty:
                if on_tick is not None:
                    on_tick(time.monotonic() - start)
                continue
            if status != "ok":
                raise BenchmarkError(f"a benchmark worker failed: {value}")
            scores.append(float(value))
        return sum(scores)
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        results.close()
        results.join_thread()


def measure(
    seconds: float,
    workers: int,
    on_single: Callable[[float], None] | None = None,
    on_multi: Callable[[float], None] | None = None,
) -> BenchResult:
    """Score one core, then all ``workers`` cores, each for about ``seconds``."""
    single = run_for(seconds, on_single)
    multi = score_multi(seconds, workers, on_multi)
    return BenchResult(round(single, 1), round(multi, 1), workers)

"""Run one exam room under load and check that no acknowledged answer was lost.

    python -m loadtests.room --candidates 30 --link-mbit 10 --think-scale 0.02 \\
        --json artifacts/loadtest-30.json

Steps: a network namespace whose loopback is shaped to --link-mbit (root only; with
--link-mbit 0 and no root the run stays on the host's 127.0.0.1, unshaped); a fresh
database (SQLite in a temporary folder, or a new database on the local PostgreSQL server
reached through its unix socket, which works from inside a namespace); a prepared room of
N candidates on the 电工（高级） sample bank; the server inside the namespace; the load
generator inside it (Locust headless, or the lighter asyncio driver); then the graded
results pulled through the centre API and compared answer by answer with the ledger.
Everything is torn down afterwards, also on Ctrl-C or SIGTERM.

With --kill-server-at FRACTION the server is killed with SIGKILL once that fraction of
the room's answers is stored, and started again on the same database and port a few
seconds later; the simulated candidates reconnect and resend by themselves, and `lost`
counts as always (acknowledged but missing or different in the results).

Exit status: 0 passed, 1 ran but failed (the reasons are printed), 2 could not run
(bad arguments, not root for a shaped link, PostgreSQL unreachable), 130 interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from loadtests.backups import backup_env, backup_figures
from loadtests.ledger import LedgerError, read_ledgers
from loadtests.netns import Namespace, NamespaceError, is_root, lo_tx_bytes
from loadtests.plan import ThinkTime
from loadtests.processes import READY_MARK, Child, ProcessError, tail
from loadtests.report import Outcome, Thresholds, build_report

PROJECT = Path(__file__).resolve().parents[1]
LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@/postgres?host=/var/run/postgresql"
NS_PORT = 8080
EXIT_PASSED, EXIT_FAILED, EXIT_CANNOT_RUN, EXIT_INTERRUPTED = 0, 1, 2, 130


class CannotRun(Exception):
    """A prerequisite is missing (exit 2); the message says which."""


class Interrupted(BaseException):
    """SIGTERM or SIGHUP arrived; tear down and exit 130 (a BaseException, like Ctrl-C, so
    that no `except Exception` on the way swallows it)."""


@dataclass(frozen=True, slots=True)
class RunConfig:
    candidates: int
    link_mbit: float
    database: str
    think_scale: float
    driver: str
    thresholds: Thresholds
    pg_url: str
    compression: bool
    seed: int
    keep: bool
    spawn_rate: float
    py_spy: Path | None = None
    workers: int = 1
    answer_items: int | None = None
    kill_server_at: float | None = None
    backup_every_s: float | None = None

    def expected_exam_s(self) -> float:
        """Roughly how long the slowest candidate's exam takes (think time scaled)."""
        think = ThinkTime(scale=self.think_scale)
        per_item = think.item_median_s * math.exp(think.item_sigma**2 / 2)
        items = min(100, self.answer_items or 100)
        changes = max(1, round(items / 10))
        review = (think.review_min_s + think.review_max_s) / 2
        plan = items * per_item + changes * review + think.offline_max_s
        proctor = 30.0 + 30.0  # briefing before the start, the pause of a few candidates
        return (plan + proctor) * self.think_scale

    def run_time_limit_s(self) -> int:
        """Locust's --run-time: a safety stop well after a normal run ends."""
        return math.ceil(3 * self.expected_exam_s() + 180 + self.candidates / self.spawn_rate)


@dataclass
class Run:
    """What one run made, so it can all be removed again."""

    config: RunConfig
    workdir: Path
    prefix: list[str]
    namespace: Namespace | None = None
    pg_database: str | None = None
    database_url: str = ""
    base_url: str = ""


# --- set-up pieces (each registers its own tear-down on the ExitStack) -------------------


def _enter_namespace(stack: ExitStack, run: Run) -> None:
    config = run.config
    if not is_root():
        if config.link_mbit > 0:
            raise CannotRun(
                "a shaped link needs root (network namespace and tc); run as root, or "
                "use --link-mbit 0 for an unshaped run on 127.0.0.1"
            )
        return
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            raise CannotRun(f"'{tool}' is not installed (Debian package iproute2)")
    namespace = Namespace(f"cbtlt{os.getpid()}")
    stack.callback(namespace.close)
    try:
        namespace.create(config.link_mbit)
    except NamespaceError as exc:
        raise CannotRun(f"could not set up the network namespace: {exc}") from None
    run.namespace = namespace
    run.prefix = namespace.prefix()


def _pg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_admin(admin_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_dsn(admin_url), timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _make_database(stack: ExitStack, run: Run) -> None:
    config = run.config
    if config.database == "sqlite":
        run.database_url = f"sqlite+aiosqlite:///{run.workdir / 'data' / 'cbt.sqlite3'}"
        return
    from sqlalchemy.engine import make_url

    name = f"cbt_lt_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(config.pg_url, f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError, ValueError) as exc:
        raise CannotRun(f"PostgreSQL at {config.pg_url} is unreachable: {exc}") from None
    except Exception as exc:  # asyncpg's own errors (auth, permissions)
        raise CannotRun(f"PostgreSQL at {config.pg_url} refused: {exc}") from None
    run.pg_database = name

    def drop() -> None:
        asyncio.run(_pg_admin(config.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    stack.callback(drop)
    run.database_url = make_url(config.pg_url).set(database=name).render_as_string(False)


def _settings_env(run: Run) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CBT_DATA_DIR": str(run.workdir / "data"),
            "CBT_DATABASE_URL": run.database_url,
            "CBT_LOG_LEVEL": "WARNING",
            # Every simulated PC connects from this machine's one address.
            "CBT_WS_PENDING_PER_ADDRESS": "100000",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if run.config.backup_every_s is not None:
        env.update(backup_env(run.workdir, run.config.backup_every_s))
    return env


def _build_room(run: Run) -> dict[str, Any]:
    from cbt_server.settings import load_settings
    from loadtests.roomdata import build_room

    settings = load_settings(_settings_env(run))
    info = asyncio.run(build_room(settings, run.config.candidates))
    room = info.to_json(run.config.seed, run.config.answer_items)
    (run.workdir / "room.json").write_text(json.dumps(room, ensure_ascii=False), "utf-8")
    room["centre_token"] = info.centre_token
    return room


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(
    stack: ExitStack, run: Run, port: int | None = None, log: str = "server.log"
) -> Child:
    port = port or (NS_PORT if run.namespace else _free_port())
    run.base_url = f"http://127.0.0.1:{port}"
    # The runtime's entry point: the app with the exam runtime mounted, N processes on
    # one port (several need PostgreSQL).
    args = [
        sys.executable, "-m", "cbt_server.runtime.workers", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(run.config.workers),
    ]  # fmt: skip
    server = Child("server", [*run.prefix, *args], _settings_env(run), run.workdir / log, PROJECT)
    stack.callback(server.stop)
    server.wait_for_output(READY_MARK, timeout=120)
    return server


def _driver_args(run: Run) -> list[str]:
    config = run.config
    common = [
        "--room-file", str(run.workdir / "room.json"),
        "--ledger-dir", str(run.workdir / "ledger"),
        "--think-scale", repr(config.think_scale),
    ]  # fmt: skip
    if not config.compression:
        common.append("--no-compression")
    if config.driver == "asyncio":
        return [sys.executable, "-m", "loadtests.async_driver", "--host", run.base_url, *common]
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--users", str(config.candidates + 1), "--spawn-rate", f"{config.spawn_rate:g}",
        "--host", run.base_url, "--run-time", f"{config.run_time_limit_s()}s",
        "--stop-timeout", "10", "--only-summary", "--exit-code-on-error", "0",
        "--csv", str(run.workdir / "locust"), "--loglevel", "WARNING", *common,
    ]  # fmt: skip


def _lo_bytes(run: Run) -> int | None:
    if run.namespace is None:
        return None
    done = subprocess.run(
        [*run.prefix, "cat", "/proc/net/dev"], capture_output=True, text=True, check=False
    )
    try:
        return lo_tx_bytes(done.stdout)
    except ValueError:
        return None


def _pull_results(run: Run, token: str, session_code: str, expect: int) -> list[dict[str, Any]]:
    out = run.workdir / "results.json"
    env = dict(os.environ, CBT_LT_TOKEN=token)
    args = [sys.executable, "-m", "loadtests.results_pull", "--base-url", run.base_url]
    puller = Child(
        "results pull",
        [*run.prefix, *args, "--session", session_code, "--out", str(out), "--expect", str(expect)],
        env, run.workdir / "pull.log", PROJECT,
    )  # fmt: skip
    try:
        code = puller.wait(timeout=300)
    finally:
        puller.stop()
    if code != 0:
        raise ProcessError(
            f"pulling the results failed (exit {code}):\n{tail(run.workdir / 'pull.log')}"
        )
    data = json.loads(out.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ProcessError("the results file is not a list")
    return data


# --- --kill-server-at ---------------------------------------------------------------------

KILLED_FOR_S = 3.0
"""How long the server stays dead before it is started again."""
KILL_ACK_P99_MS = 30_000.0
"""The default ack p99 limit of a run with --kill-server-at: answers made while the server
is down are acknowledged only after the restart, so the limit bounds the recovery (a few
seconds down, then every page back and resent), not the speed of a healthy server."""


def _items_per_paper() -> int:
    from item_bank.blueprint import load_blueprint
    from loadtests.roomdata import BLUEPRINT_FILE, SAMPLES

    blueprint = load_blueprint(SAMPLES / "blueprints" / BLUEPRINT_FILE)
    return sum(section.count for section in blueprint.sections)


def _stored_answers(run: Run) -> int | None:
    """Answers stored so far, read beside the server (None if it cannot be read now)."""
    import sqlite3

    from sqlalchemy.engine import make_url

    url = make_url(run.database_url)
    try:
        if url.get_backend_name() == "sqlite":
            # Read-only: a WAL reader never holds up the server's writers.
            with contextlib.closing(
                sqlite3.connect(f"file:{url.database}?mode=ro", uri=True, timeout=5)
            ) as conn:
                return int(conn.execute("SELECT count(*) FROM answers").fetchone()[0])

        async def count() -> int:
            import asyncpg

            conn = await asyncpg.connect(_pg_dsn(run.database_url), timeout=5)
            try:
                return int(await conn.fetchval("SELECT count(*) FROM answers"))
            finally:
                await conn.close()

        return asyncio.run(count())
    except Exception:  # not there yet, locked, or the database is busy: ask again later
        return None


class ServerKiller:
    """Kills the server (SIGKILL, its whole process group) once `fraction` of the room's
    answers is stored, and starts it again on the same database and port."""

    def __init__(self, stack: ExitStack, run: Run, server: Child, say: Any) -> None:
        fraction = run.config.kill_server_at
        assert fraction is not None
        items = min(run.config.answer_items or 10**6, _items_per_paper())
        self.stack, self.run, self.server, self.say = stack, run, server, say
        self.target = math.ceil(fraction * run.config.candidates * items)
        self.figures: dict[str, Any] = {"at_fraction": fraction, "target_answers": self.target}
        self._next_look = 0.0

    @property
    def done(self) -> bool:
        return "restarted_in_s" in self.figures

    def tick(self) -> None:
        if self.done or time.monotonic() < self._next_look:
            return
        self._next_look = time.monotonic() + 0.25
        stored = _stored_answers(self.run)
        if stored is None or stored < self.target:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.server.pid, signal.SIGKILL)  # every worker, mid-write or not
        self.server.wait(timeout=30)
        killed = time.monotonic()
        self.figures["answers_stored_at_kill"] = stored
        self.say(f"server killed (SIGKILL) with {stored} answers stored")
        time.sleep(KILLED_FOR_S)
        port = int(self.run.base_url.rsplit(":", 1)[1])
        # A log of its own: the first one already holds the ready line.
        self.server = _start_server(self.stack, self.run, port, log="server-restarted.log")
        self.figures["down_s"] = round(time.monotonic() - killed, 2)
        self.figures["restarted_in_s"] = round(time.monotonic() - killed - KILLED_FOR_S, 2)
        self.say(f"server restarted, pid {self.server.pid}, {self.figures['down_s']} s down")

    def not_done_reason(self) -> str | None:
        if self.done:
            return None
        return (
            f"--kill-server-at: the server was never killed ({self.target} answers stored "
            "were awaited)"
        )


# --- the run -------------------------------------------------------------------------------


def execute(config: RunConfig, say: Any = print) -> Outcome:
    """Set up, run the room, compare, tear down; returns the outcome (report + reasons)."""
    workdir = Path(tempfile.mkdtemp(prefix="cbt-loadtest-"))
    run = Run(config, workdir, prefix=[])
    with ExitStack() as stack:
        if not config.keep:
            stack.callback(shutil.rmtree, workdir, True)
        _enter_namespace(stack, run)
        _make_database(stack, run)
        began = time.monotonic()
        room = _build_room(run)
        say(f"room of {config.candidates} prepared in {time.monotonic() - began:.1f} s")
        server = _start_server(stack, run)
        say(f"server pid {server.pid} at {run.base_url}" + _where(run))
        lo_before = _lo_bytes(run)
        load_before = os.getloadavg()[0]
        run_errors: list[str] = []
        driver = Child(
            config.driver, [*run.prefix, *_driver_args(run)], dict(os.environ),
            workdir / "driver.log", PROJECT,
        )  # fmt: skip
        stack.callback(driver.stop)
        say(f"{config.driver} pid {driver.pid}: {config.candidates} candidates + 1 proctor")
        profiler = _start_profiler(stack, run, server.pid)
        cpu = CpuMeter({"server": server.pid, "driver": driver.pid})
        limit = config.run_time_limit_s() + 120
        killer = None
        if config.kill_server_at is not None:
            killer = ServerKiller(stack, run, server, say)
        try:
            code = _wait_sampling(driver, cpu, limit, killer.tick if killer else None)
        except subprocess.TimeoutExpired:
            run_errors.append(f"the load generator did not finish within {limit} s")
            driver.stop()
            code = None
        if profiler is not None:
            profiler.stop(grace_s=60, first=signal.SIGINT)  # py-spy writes its file on SIGINT
        if code not in (0, None):
            run_errors.append(f"{config.driver} exited with {code}: {tail(driver.log, 5)}")
        lo_after = _lo_bytes(run)
        if killer is not None:
            server = killer.server
            reason = killer.not_done_reason()
            if reason is not None:
                run_errors.append(reason)
        if server.proc.poll() is not None:
            run_errors.append(f"the server died: {tail(server.log, 5)}")
        try:
            records = list(read_ledgers(workdir / "ledger"))
        except LedgerError as exc:
            run_errors.append(f"ledger unreadable: {exc}")
            records = []
        submitted = sum(1 for r in records if r.get("kind") == "candidate" and r.get("completed"))
        try:
            results = _pull_results(run, room["centre_token"], room["session_code"], submitted)
        except ProcessError as exc:
            run_errors.append(str(exc))
            results = []
        outcome = build_report(
            candidates=config.candidates,
            records=records,
            results=results,
            link_mbit=config.link_mbit,
            database=config.database,
            thresholds=config.thresholds,
            run_errors=run_errors,
        )
        if lo_before is not None and lo_after is not None:
            outcome.extras["link_bytes_total"] = lo_after - lo_before
            outcome.extras["link_bytes_per_candidate"] = round(
                (lo_after - lo_before) / config.candidates
            )
        outcome.extras["cpu"] = cpu.summary()
        outcome.extras["load_average_1m"] = {"before": load_before, "after": os.getloadavg()[0]}
        outcome.extras["server_log_tail"] = tail(server.log, 5)
        if killer is not None:
            outcome.extras["server_kill"] = killer.figures
        if config.backup_every_s is not None:
            outcome.report["backups"] = backup_figures(workdir, records)
        if config.keep:
            say(f"work folder kept: {workdir}")
        return outcome
    raise AssertionError("unreachable")  # pragma: no cover


class CpuMeter:
    """CPU seconds used by the server and the load generator, sampled while they run
    (a process that is gone cannot be asked afterwards)."""

    def __init__(self, pids: dict[str, int]) -> None:
        import psutil

        self._procs = {}
        for name, pid in pids.items():
            with contextlib.suppress(psutil.Error):
                self._procs[name] = psutil.Process(pid)
        self._cpu: dict[str, float] = {}
        self._began = time.monotonic()
        self._wall = 0.0

    def sample(self) -> None:
        import psutil

        for name, proc in self._procs.items():
            with contextlib.suppress(psutil.Error):
                total = 0.0
                for one in [proc, *proc.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        times = one.cpu_times()
                        total += times.user + times.system
                self._cpu[name] = max(total, self._cpu.get(name, 0.0))
        self._wall = time.monotonic() - self._began

    def summary(self) -> dict[str, float]:
        figures = {f"{name}_cpu_s": round(value, 1) for name, value in self._cpu.items()}
        figures["wall_s"] = round(self._wall, 1)
        return figures


def _wait_sampling(
    driver: Child, cpu: CpuMeter, limit: float, tick: Callable[[], None] | None = None
) -> int:
    deadline = time.monotonic() + limit
    while True:
        cpu.sample()
        if tick is not None:
            tick()
        try:
            return driver.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                raise


def _start_profiler(stack: ExitStack, run: Run, pid: int) -> Child | None:
    target = run.config.py_spy
    if target is None:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise CannotRun("--py-spy needs py-spy (pip install py-spy)")
    target.parent.mkdir(parents=True, exist_ok=True)
    args = [spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "25"]
    if os.environ.get("CBT_LT_PY_SPY_NATIVE"):  # C frames too (where SQLite spends time);
        args.append("--native")  # this needs py-spy to pause the process as it samples
    else:
        args.append("--nonblocking")
    if os.environ.get("CBT_LT_PY_SPY_GIL"):  # only the thread holding the GIL: what
        args.append("--gil")  # bounds a CPU-bound server that runs Python on one core
    profiler = Child(
        "py-spy", [*args, "--output", str(target.resolve())], dict(os.environ),
        run.workdir / "py-spy.log", PROJECT,
    )  # fmt: skip
    stack.callback(profiler.stop)
    return profiler


def _where(run: Run) -> str:
    if run.namespace is None:
        return " (host loopback, unshaped)"
    shaped = f"shaped to {run.config.link_mbit:g} Mbit/s" if run.config.link_mbit else "unshaped"
    return f" (namespace {run.namespace.name}, {shaped})"


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so every tear-down step runs."""

    def interrupt(signum: int, _frame: Any) -> None:
        raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def summary_lines(outcome: Outcome) -> list[str]:
    report, extras = outcome.report, outcome.extras
    lines = [
        f"candidates {report['completed']}/{report['candidates']} completed; answers sent "
        f"{report['answers_sent']}, acknowledged {report['answers_acknowledged']}, in results "
        f"{report['answers_in_results']}, lost {report['lost']}",
        f"papers after start: {report['paper_delivery_s']} s; start burst "
        f"{report['start_burst_s']} s; ack {report['ack_ms']} ms; login {extras['login_ms']} ms",
        f"bytes per candidate (TCP payload) {report['bytes_per_candidate']}; paper JSON "
        f"{extras['paper_json_bytes_mean']} B, gzip -9 {extras['paper_gzip_bytes_mean']} B"
        + f"; proctor console {extras['proctor_bytes']} B"
        + (
            f"; on the link (IP packets, all parties) {extras['link_bytes_per_candidate']} B "
            "per candidate"
            if "link_bytes_per_candidate" in extras
            else ""
        ),
    ]
    lines.append(
        f"reconnects {extras['reconnects']}; refusals handled by waiting {extras['refusals']}; "
        f"CPU {extras.get('cpu')}; load average {extras.get('load_average_1m')}"
        + (
            f"; load generator stalls {extras['load_generator']}"
            if extras.get("load_generator")
            else ""
        )
    )
    if "server_kill" in extras:
        lines.append(f"server killed and restarted: {extras['server_kill']}")
    if "backups" in report:
        lines.append(f"automatic backups during the run: {report['backups']}")
    lines += [f"error: {message}" for message in outcome.error_messages[:10]]
    lines += [f"lost: {example}" for example in extras["lost_examples"]]
    verdict = "PASSED" if report["passed"] else "FAILED: " + "; ".join(outcome.reasons)
    lines.append(verdict)
    return lines


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, help=__doc__)
@click.option("--candidates", type=click.IntRange(1, 20_000), required=True, help="Room size.")
@click.option(
    "--link-mbit",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Shape the link to this rate; 0 = unshaped.",
)
@click.option(
    "--database", type=click.Choice(["sqlite", "postgresql"]), default="sqlite", show_default=True
)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Report file."
)
@click.option(
    "--think-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Multiply think times: 1 is realistic (~40 min exam), 0.02 a quick run.",
)
@click.option(
    "--driver",
    type=click.Choice(["locust", "asyncio"]),
    default="locust",
    show_default=True,
    help="Load generator: Locust, or the lighter asyncio driver for big rooms.",
)
@click.option("--max-start-s", type=click.FloatRange(min=0), help="Papers limit [3 s, 10 s >60].")
@click.option(
    "--max-ack-p99-ms", type=click.FloatRange(min=0), help="Ack p99 limit [300 shaped, 100]."
)
@click.option(
    "--pg-url",
    envvar="CBT_LT_PG_URL",
    default=DEFAULT_PG_URL,
    show_default=True,
    help="Admin URL of the PostgreSQL server (a fresh database is made there).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes on one port (more than 1 needs --database postgresql).",
)
@click.option(
    "--items",
    "answer_items",
    type=click.IntRange(1, 1000),
    help="Answer only the first N items of the paper, then submit: a short run of a big "
    "room at realistic think time [all].",
)
@click.option(
    "--kill-server-at",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    metavar="FRACTION",
    help="SIGKILL the server once this fraction of the room's answers is stored, start it "
    "again on the same database; candidates reconnect and resend. Ack p99 limit then "
    "defaults to 30000 ms (answers made while it is down wait for the restart).",
)
@click.option(
    "--backup-every",
    "backup_every_s",
    type=click.FloatRange(min=0.5),
    metavar="SECONDS",
    help="Let the server make an automatic backup this often while the room runs (into "
    "the work folder); the report adds `backups` (count, seconds, bytes).",
)
@click.option("--no-compression", is_flag=True, help="Clients refuse permessage-deflate.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the simulation.")
@click.option("--spawn-rate", type=click.FloatRange(min=0, min_open=True), help="Logins/s.")
@click.option("--keep", is_flag=True, help="Keep the work folder (logs, ledger, results).")
@click.option(
    "--py-spy",
    "py_spy",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Profile the server with py-spy while the room runs (collapsed stacks here).",
)
@click.option(
    "--details",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write extra figures (paper sizes, link bytes, login times) as JSON here.",
)
def main(
    candidates: int,
    link_mbit: float,
    database: str,
    json_path: Path | None,
    think_scale: float,
    driver: str,
    max_start_s: float | None,
    max_ack_p99_ms: float | None,
    pg_url: str,
    workers: int,
    answer_items: int | None,
    kill_server_at: float | None,
    backup_every_s: float | None,
    no_compression: bool,
    seed: int,
    spawn_rate: float | None,
    keep: bool,
    py_spy: Path | None,
    details: Path | None,
) -> None:
    defaults = Thresholds.default(candidates, link_mbit)
    if kill_server_at is not None:
        defaults = Thresholds(defaults.max_start_s, KILL_ACK_P99_MS)
    config = RunConfig(
        candidates=candidates,
        link_mbit=link_mbit,
        database=database,
        think_scale=think_scale,
        driver=driver,
        thresholds=Thresholds(
            max_start_s if max_start_s is not None else defaults.max_start_s,
            max_ack_p99_ms if max_ack_p99_ms is not None else defaults.max_ack_p99_ms,
        ),
        pg_url=pg_url,
        compression=not no_compression,
        seed=seed,
        keep=keep,
        spawn_rate=spawn_rate or max(10.0, candidates / 5),
        py_spy=py_spy,
        workers=workers,
        answer_items=answer_items,
        kill_server_at=kill_server_at,
        backup_every_s=backup_every_s,
    )
    if workers > 1 and database != "postgresql":
        raise click.BadParameter(
            "several workers need --database postgresql", param_hint="--workers"
        )

    def say(text: str) -> None:
        click.echo(f"loadtest: {text}", err=True)

    try:
        with _signals_interrupt():
            outcome = execute(config, say)
    except CannotRun as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CANNOT_RUN)
    except (KeyboardInterrupt, Interrupted):
        click.echo("interrupted: everything started was stopped and removed", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except ProcessError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    for line in summary_lines(outcome):
        say(line)
    text = json.dumps(outcome.report, ensure_ascii=False, indent=2) + "\n"
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    if details is not None:
        details.parent.mkdir(parents=True, exist_ok=True)
        details.write_text(json.dumps(outcome.extras, ensure_ascii=False, indent=2) + "\n")
    sys.exit(EXIT_PASSED if outcome.report["passed"] else EXIT_FAILED)


if __name__ == "__main__":
    main()

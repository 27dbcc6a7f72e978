"""Command line of the lab agent: ``check`` a PC against the site rules, or ``bench`` it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import TextIO

from . import __version__, bench, browsers, kiosk, screen, seat, sysinfo
from .bench import Baseline, BenchmarkError
from .link import LabClient, LinkFigures, ServerError, TransferProgress, mbps, throughput
from .progress import Progress
from .report import build_report, render_summary, write_json

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_NOT_MEASURED = 2
ENV_TOKEN = "CBT_LAB_TOKEN"


class Timing:
    """How long each measurement runs; ``--quick`` trades accuracy for time."""

    def __init__(self, quick: bool) -> None:
        self.bench_seconds = 0.5 if quick else 2.0
        self.pings = 5 if quick else 10
        self.transfer_seconds = 1.0 if quick else 2.0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; its help text is the agent's user documentation."""
    parser = argparse.ArgumentParser(
        prog="cbt-lab-agent",
        description=(
            "Check that this lab PC and its link to the CBT server meet the exam-site "
            "requirements, print the verdict and send the report to the server (check, "
            "bench); register the PC with the server and keep its heartbeat (register); "
            "run the exam in a locked-down browser (kiosk). "
            "Exit code 0: the PC passes; 1: it fails a requirement; 2: something "
            "could not be measured (for example the server is unreachable)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    check = commands.add_parser("check", help="measure this PC and its link, judge, report")
    check.add_argument(
        "--server", required=True, metavar="URL", help="CBT server, e.g. http://10.0.0.2:8080"
    )
    check.add_argument(
        "--token",
        default=os.environ.get(ENV_TOKEN),
        help=f"API token of scope lab:report (default: ${ENV_TOKEN})",
    )
    check.add_argument("--json", metavar="FILE", help="also write the JSON report to FILE")
    check.add_argument(
        "--no-send", action="store_true", help="do not send the report to the server"
    )
    check.add_argument("--quick", action="store_true", help="shorter, less precise measurements")
    _baseline_options(check)

    bench_cmd = commands.add_parser("bench", help="only run the CPU benchmark and print its scores")
    bench_cmd.add_argument(
        "--seconds", type=_positive, default=2.0, help="length of each benchmark run (default 2)"
    )
    _baseline_options(bench_cmd)

    reg = commands.add_parser(
        "register",
        help="register this PC with the server and keep a heartbeat while running",
        description="Tell the server this PC's name, MAC addresses, OS and screen (and the "
        "failed checks of a `check --json` report), then beat every 15 s until stopped. "
        "The lab administrator maps PCs to seats on the server.",
    )
    _server_options(reg)
    reg.add_argument("--room", help="room code this PC stands in (asks for --seat there)")
    reg.add_argument("--seat", type=_seat, help="the seat number this PC asks for")
    reg.add_argument("--report", metavar="FILE", help="a report written by `check --json FILE`")
    reg.add_argument("--once", action="store_true", help="register and exit (no heartbeat)")

    kiosk_cmd = commands.add_parser(
        "kiosk",
        help="run the exam full screen in a locked-down Chromium, Chrome or Edge",
        description="Start the installed Chromium-family browser in kiosk mode with a fresh "
        "throw-away profile at the server's candidate page, nothing else reachable; start it "
        "again if it is closed while an exam is open in this PC's room.",
    )
    _server_options(kiosk_cmd)
    kiosk_cmd.add_argument(
        "--browser", choices=kiosk.KINDS, help="which browser (default: first found)"
    )
    kiosk_cmd.add_argument("--seat", type=_seat, help="add ?seat=N to the page (manual fallback)")
    kiosk_cmd.add_argument(
        "--dry-run", action="store_true", help="print the command line, run nothing"
    )
    kiosk_cmd.add_argument("--json", action="store_true", help="with --dry-run: the plan as JSON")
    return parser


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server", required=True, metavar="URL", help="CBT server, e.g. http://10.0.0.2:8080"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get(ENV_TOKEN),
        help=f"API token of scope lab:report (default: ${ENV_TOKEN})",
    )
    parser.add_argument(
        "--source-address", metavar="IP", help="local address to connect from (several cards)"
    )


def _seat(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seat number") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"{text!r}: a seat is 1 to 100000")
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m lab_agent`` and ``cbt-lab-agent``; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "bench":
            return run_bench(args, sys.stdout, sys.stderr)
        if args.command == "register":
            return run_register(args, sys.stderr)
        if args.command == "kiosk":
            return run_kiosk(args, sys.stdout, sys.stderr, kiosk.Platform.here())
        return run_check(args, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted: nothing was sent\n")
        return EXIT_NOT_MEASURED


def run_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Measure, judge, print, write and send; returns the exit code."""
    timing = Timing(args.quick)
    try:
        baseline = _baseline(args)
        client = LabClient(args.server, args.token)
    except (ValueError, BenchmarkError) as exc:
        return _fail(err, str(exc))
    try:
        err.write(f"Measuring the link to {client.url('ping')}\n")
        link = measure_link(client, timing, err)
        err.write("Reading this PC's hardware and software\n")
        cpu = sysinfo.cpu_facts()
        memory_gb = sysinfo.memory_gb()
        disk_free_gb = sysinfo.disk_free_gb()
        os_name = sysinfo.os_name()
        resolution = screen.screen_resolution()
        installed = browsers.find_browsers()
        result = run_benchmark(timing.bench_seconds, cpu.logical_cores, err)
    except ServerError as exc:
        return _fail(err, str(exc))
    except (BenchmarkError, OSError) as exc:
        return _fail(err, f"could not measure this PC: {exc}")
    finally:
        client.close()

    report = build_report(
        hostname=sysinfo.hostname(),
        cpu=cpu,
        bench=result,
        baseline=baseline,
        memory_gb=memory_gb,
        disk_free_gb=disk_free_gb,
        os_name=os_name,
        screen=resolution,
        browsers=installed,
        link=link,
    )
    out.write(render_summary(report, client.origin) + "\n")
    out.flush()
    if args.json:
        try:
            write_json(args.json, report)
        except OSError as exc:
            return _fail(err, f"could not write the report to {args.json}: {exc}")
        err.write(f"Report written to {args.json}\n")
    passed = bool(report["passed"])
    if not args.no_send:
        try:
            answer = client.send_report(report)
        except ServerError as exc:
            return _fail(err, f"the report was not stored: {exc}")
        finally:
            client.close()
        err.write(f"Report sent to {client.url('reports')}\n")
        passed = _server_agrees(answer, passed, err)
    return EXIT_PASS if passed else EXIT_FAIL


def run_register(args: argparse.Namespace, err: TextIO) -> int:
    """Register this PC, then keep its heartbeat (until Ctrl+C) unless ``--once``."""
    try:
        client = LabClient(args.server, args.token, source_address=args.source_address)
        failing = _failing_checks(args.report) if args.report else None
        body = seat.this_pc(client, failing, args.room, args.seat)
        if args.once:
            done = seat.register(client, body)
            err.write(f"registered as PC {done.pc_id} ({body['hostname']})\n")
            if done.pending:
                err.write(f"waiting: {done.pending}\n")
            return EXIT_PASS
        return seat.keep_alive(client, body, err)
    except (ValueError, ServerError) as exc:
        return _fail(err, str(exc))


def _failing_checks(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
        return [str(c["name"]) for c in report["checks"] if not c["passed"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"--report {path}: not a report written by `check --json` ({exc})"
        ) from None


def run_kiosk(args: argparse.Namespace, out: TextIO, err: TextIO, platform: kiosk.Platform) -> int:
    """Print the kiosk's command line (``--dry-run``) or run the browser."""
    try:
        if args.dry_run:
            return kiosk.dry_run(args.server, platform, args.browser, args.seat, args.json, out)
        client = LabClient(args.server, args.token, source_address=args.source_address)

        def exam_open() -> bool:
            try:
                answer = client.seat()
            except ServerError:
                return True  # the server unreachable mid-exam: keep the exam on screen
            finally:
                client.close()
            return bool(isinstance(answer, dict) and answer.get("exam_open"))

        return kiosk.run(
            args.server,
            platform,
            browser=args.browser,
            seat=args.seat,
            exam_open=exam_open,
            err=err,
        )
    except (ValueError, kiosk.KioskError) as exc:
        return _fail(err, str(exc))


def _server_agrees(answer: object, passed: bool, err: TextIO) -> bool:
    """The server judges reports by its own rules; its "fail" counts, and is shown."""
    if not isinstance(answer, dict) or answer.get("passed") is not False:
        return passed
    failing = [
        f"{c.get('name')}: {c.get('detail')}"
        for c in answer.get("checks", [])
        if isinstance(c, dict) and not c.get("passed")
    ]
    err.write("The server judged this PC as failing:\n")
    for line in failing:
        err.write(f"  FAIL  {line}\n")
    return False


def run_bench(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the benchmark scores next to the baseline (used to calibrate it)."""
    try:
        baseline = _baseline(args)
        result = run_benchmark(args.seconds, os.cpu_count() or 1, err)
    except BenchmarkError as exc:
        return _fail(err, str(exc))
    met = baseline.met_by(result.score_single, result.score_multi)
    verdict = "i3 or better" if met else "below an entry Core i3"
    out.write(
        f"single-core {result.score_single:.1f} (baseline {baseline.single:.0f}), "
        f"multi-core {result.score_multi:.1f} with {result.workers} workers "
        f"(baseline {baseline.multi:.0f}): {verdict}\n"
    )
    return EXIT_PASS


def measure_link(client: LabClient, timing: Timing, err: TextIO) -> LinkFigures:
    """Round trip, then download and upload throughput, each with a progress bar."""
    bar = Progress("latency", timing.pings, err)
    rtt = client.rtt_ms(timing.pings, lambda done: bar.update(done, f"{done} pings"))
    bar.finish(f"median round trip {rtt:.2f} ms")
    down = throughput(client.download, timing.transfer_seconds, _transfer_bar("download", err))
    up = throughput(client.upload, timing.transfer_seconds, _transfer_bar("upload", err))
    return LinkFigures(down_mbps=down, up_mbps=up, rtt_ms=rtt)


def run_benchmark(seconds: float, workers: int, err: TextIO) -> bench.BenchResult:
    """The CPU benchmark with a progress bar for each half."""
    single_bar = Progress("cpu 1 core", seconds, err)
    multi_bar = Progress(f"cpu {workers} proc", seconds, err)
    single_open = [True]

    def close_single() -> None:
        if single_open[0]:
            single_open[0] = False
            single_bar.finish()

    def on_multi(elapsed: float) -> None:
        close_single()
        multi_bar.update(elapsed)

    result = bench.measure(seconds, workers, single_bar.update, on_multi)
    close_single()
    multi_bar.finish(f"single-core {result.score_single:.1f}, multi-core {result.score_multi:.1f}")
    return result


class _TransferBar:
    """A progress bar for one transfer; its last line shows the measured rate."""

    def __init__(self, label: str, size: int, err: TextIO) -> None:
        self.bar = Progress(label, size, err)
        self.size = size

    def __call__(self, done: int, elapsed: float) -> None:
        self.bar.update(done, f"{done / 1048576:.2f} of {self.size / 1048576:.2f} MiB")

    def finished(self, nbytes: int, seconds: float) -> None:
        rate = mbps(nbytes, seconds)
        self.bar.finish(f"{nbytes / 1048576:.2f} MiB in {seconds:.2f} s: {rate:.2f} Mbit/s")


def _transfer_bar(label: str, err: TextIO) -> Callable[[int], TransferProgress]:
    """Start a progress bar for each transfer attempt."""

    def start(size: int) -> TransferProgress:
        return _TransferBar(label, size, err)

    return start


def _baseline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline-single",
        type=_positive,
        help=f"entry Core i3 single-core score (default {bench.BASELINE_SINGLE:.0f}, "
        f"or ${bench.ENV_BASELINE_SINGLE})",
    )
    parser.add_argument(
        "--baseline-multi",
        type=_positive,
        help=f"entry Core i3 multi-core score (default {bench.BASELINE_MULTI:.0f}, "
        f"or ${bench.ENV_BASELINE_MULTI})",
    )


def _baseline(args: argparse.Namespace) -> Baseline:
    env = Baseline.from_env()
    return Baseline(
        single=args.baseline_single if args.baseline_single is not None else env.single,
        multi=args.baseline_multi if args.baseline_multi is not None else env.multi,
    )


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _fail(err: TextIO, message: str) -> int:
    err.write(f"error: {message}\n")
    err.flush()
    return EXIT_NOT_MEASURED

"""Where a profiled server spent its time, from py-spy's collapsed stacks (`--format raw`).

    python -m loadtests.profile_summary PROFILE [--top 25] [--under cbt_server]

Prints the functions with the most samples on top of the stack (self time) and anywhere
in it (inclusive time), as percentages of all samples. Idle samples (the event loop
waiting in select/epoll) are counted apart, so the percentages are of busy time.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

IDLE = re.compile(r"^(select|poll|epoll_wait|_run_once|run_forever)\b|\(selectors\.py")
# Frames that mean "waiting for work" anywhere in a stack: with --native the leaf is a
# libc address, so the wait is recognised by its caller (a thread pool or aiosqlite's
# worker blocked on its queue, the event loop in epoll, a condition variable).
WAITING = re.compile(
    r"^(_queue_SimpleQueue_get|select_epoll_poll|EpollSelector\.select|Condition\.wait)\b"
)
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


@dataclass(frozen=True, slots=True)
class Profile:
    total: int
    idle: int
    self_time: Counter[str]
    inclusive: Counter[str]

    @property
    def busy(self) -> int:
        return self.total - self.idle


def frame_name(frame: str) -> str:
    """'handle (cbt_server/runtime/ws.py:12)' -> 'handle (cbt_server/runtime/ws.py)'."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = re.sub(r"^.*?/(cbt_server|item_bank|loadtests)/", r"\1/", path)
    return f"{match['func']} ({path})"


def parse(lines: Iterable[str]) -> Profile:
    total = idle = 0
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            continue
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            raise ValueError(f"not a collapsed stack line: {line[:80]!r}")
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";") if f]
        total += count
        if not frames:  # a thread with no Python frame (waiting in C): idle
            idle += count
            continue
        if IDLE.search(frames[-1]) or any(WAITING.search(frame) for frame in frames):
            idle += count
            continue
        self_time[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    return Profile(total, idle, self_time, inclusive)


def report(profile: Profile, top: int, under: str | None) -> list[str]:
    busy = max(profile.busy, 1)
    lines = [
        f"samples {profile.total}, idle {profile.idle} "
        f"({100 * profile.idle / max(profile.total, 1):.0f}%), busy {profile.busy}",
        "self time (% of busy):",
    ]
    lines += [f"  {100 * n / busy:5.1f}%  {name}" for name, n in profile.self_time.most_common(top)]
    lines.append("inclusive time (% of busy)" + (f", frames under {under}:" if under else ":"))
    chosen = [
        (name, n) for name, n in profile.inclusive.most_common() if under is None or under in name
    ]
    lines += [f"  {100 * n / busy:5.1f}%  {name}" for name, n in chosen[:top]]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--under", help="only inclusive frames whose name contains this")
    args = parser.parse_args(argv)
    try:
        with args.profile.open(encoding="utf-8") as handle:
            profile = parse(handle)
    except (OSError, ValueError) as exc:
        print(f"error: {args.profile}: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report(profile, args.top, args.under)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

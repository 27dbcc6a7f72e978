"""The city centre's pull at scale: N simulated sites × M results pulled, verified and
re-graded by one centre process, printed as one JSON document.

    python -m loadtests.centre_bench [--sites 100] [--results 300] [--database-url URL]

The sites are simulated by `loadtests.centre_sites` in a process of their own (their
serving is not the centre's cost). The centre side is the real code: sites registered
with `centre.sites.add_site`, its item bank stored with `item_store.store_items`, and one
`centre.ingest.pull_all` timed from the first request to the last commit: key pinning,
signature checks, result validation, re-grading with the centre's key, upserts and
cursors. Without `--database-url` the centre's database is a fresh SQLite file.
Afterwards the rows are counted: every result once, exactly the planted mismatches
flagged, none refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from cbt_server.centre import sites
from cbt_server.centre.ingest import pull_all
from cbt_server.centre.keybank import KeyBank
from cbt_server.centre.models import CentreRejection, CentreResult
from cbt_server.content_crypto import ContentCipher
from cbt_server.db.migrate import migrated
from cbt_server.item_store import store_items
from cbt_server.settings import load_settings
from item_bank.model import Item, Option
from loadtests.centre_sites import ITEMS, item_id
from tests.conftest import free_port


def bank() -> list[Item]:
    options = tuple(Option(id=o, text=o) for o in "ABCD")
    return [
        Item(id=item_id(n), type="single", stem=f"{n}", key=("A",), options=options)
        for n in range(ITEMS)
    ]


async def run(args: argparse.Namespace, data_dir: Path, port: int) -> dict[str, Any]:
    url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'centre.sqlite3'}"
    settings = load_settings({}, data_dir=str(data_dir), database_url=url)
    cipher = ContentCipher.from_data_dir(settings.data_path)
    async with migrated(settings) as sessionmaker:
        async with sessionmaker.begin() as db:
            await store_items(db, cipher, bank())
            for n in range(args.sites):
                base = f"http://127.0.0.1:{port}/site/{n}"
                await sites.add_site(db, f"site-{n:03d}", base, "token", actor="bench")
        started, cpu_started = time.perf_counter(), time.process_time()
        reports = await pull_all(
            sessionmaker, KeyBank(cipher), limit=args.page, concurrency=args.concurrency
        )
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        async with sessionmaker() as db:
            rows = await db.scalar(select(func.count()).select_from(CentreResult))
            flagged = await db.scalar(
                select(func.count()).select_from(CentreResult).where(CentreResult.status != "ok")
            )
            refused = await db.scalar(select(func.count()).select_from(CentreRejection))
    total = args.sites * args.results
    planted = args.sites * len(range(0, args.results, args.mismatch_every))
    return {
        "sites": args.sites,
        "results_per_site": args.results,
        "results": total,
        "page": args.page,
        "concurrency": args.concurrency,
        "database": "sqlite" if url.startswith("sqlite") else "postgresql",
        "seconds": round(seconds, 2),
        "results_per_second": round(total / seconds, 1),
        # The centre's own CPU time (both threads: the loop and the database driver's):
        # on a shared machine the wall clock also counts time the process was not run.
        "cpu_seconds": round(cpu, 2),
        "results_per_cpu_second": round(total / cpu, 1),
        "rows": rows,
        "flagged": flagged,
        "planted_mismatches": planted,
        "refused": refused,
        "sites_ok": sum(1 for r in reports if r.status == "ok"),
        "correct": rows == total and flagged == planted and refused == 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--results", type=int, default=300)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--mismatch-every", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=1, help="Sites pulled at once.")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loadtests.centre_sites",
            "--sites",
            str(args.sites),
            "--results",
            str(args.results),
            "--mismatch-every",
            str(args.mismatch_every),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            print("the simulated sites did not start", file=sys.stderr)
            return 1
        with tempfile.TemporaryDirectory() as scratch:
            figures = asyncio.run(run(args, Path(scratch), port))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(json.dumps(figures, indent=2))
    return 0 if figures["correct"] else 1


if __name__ == "__main__":
    sys.exit(main())

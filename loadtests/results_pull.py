"""Pull the graded results of one session through the city-centre API (GET /api/v1/results).

`python -m loadtests.results_pull --base-url URL --session CODE --out FILE` with the
bearer token in the CBT_LT_TOKEN environment variable (kept off the command line). Run
inside the load test's network namespace when there is one. Writes a JSON list.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

PAGE = 1000


class PullError(RuntimeError):
    """The API did not give the results; the message says what it answered."""


def pull(base_url: str, token: str, session: str, *, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Every result of `session`, following the `next` cursor to the end."""
    results: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        query: dict[str, str] = {"session": session, "limit": str(PAGE)}
        if after is not None:
            query["after"] = after
        url = f"{base_url.rstrip('/')}/api/v1/results?{urllib.parse.urlencode(query)}"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                page = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = exc.read()[:300].decode("utf-8", "replace")
            raise PullError(f"GET {url}: HTTP {exc.code}: {body}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise PullError(f"GET {url}: {exc}") from None
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            raise PullError(f"GET {url}: not a results page")
        results.extend(page["results"])
        after = page.get("next")
        if not after or not page["results"]:
            return results


def pull_until(
    base_url: str, token: str, session: str, *, expect: int, wait_s: float
) -> list[dict[str, Any]]:
    """Pull until at least `expect` results are there (grading runs after submission,
    in the background) or `wait_s` has passed; returns the last pull either way."""
    deadline = time.monotonic() + wait_s
    while True:
        results = pull(base_url, token, session)
        if len(results) >= expect or time.monotonic() > deadline:
            return results
        time.sleep(1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--session", required=True, help="session code")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--expect", type=int, default=0, help="wait for this many results")
    parser.add_argument("--wait-s", type=float, default=120.0, help="for at most this long")
    args = parser.parse_args(argv)
    token = os.environ.get("CBT_LT_TOKEN", "")
    if not token:
        print("error: set CBT_LT_TOKEN to a results:read token", file=sys.stderr)
        return 2
    try:
        results = pull_until(
            args.base_url, token, args.session, expect=args.expect, wait_s=args.wait_s
        )
    except PullError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

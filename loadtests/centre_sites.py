"""Simulated sites for the centre benchmark: one process serving N sites' results APIs.

    python -m loadtests.centre_sites --sites 100 --results 300 --port 8790 [--mismatch-every 100]

Site n answers under `http://127.0.0.1:PORT/site/n`: GET /api/v1/keys (its own Ed25519
key) and GET /api/v1/results (`after` = the index reached, `limit`), with signed result
documents of 100 single-choice items `electrician-3-0000…0099` whose key is A. Every
`--mismatch-every`-th result carries a score one point too high, signed with the site's
own key: the centre must flag exactly those. Prints `ready` once listening.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cbt_server.idcard import make_number
from cbt_server.results.signing import SiteKey

ITEMS = 100
T0 = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)


def item_id(n: int) -> str:
    return f"electrician-3-{n:04d}"


def document(site: int, n: int, *, wrong_score: bool) -> dict[str, Any]:
    """One result: candidate n of site `site`, (40 + n % 60) items right."""
    right = 40 + n % 60
    score = right + (1 if wrong_score else 0)
    when = (T0 + timedelta(minutes=50, seconds=n)).isoformat(timespec="microseconds")
    return {
        "ticket": f"S{site:03d}-{n:05d}",
        "id_number": make_number(
            "320102", T0.date() - timedelta(days=8000 + site * 400 + n), n % 1000
        ),
        "name": f"考生{site}-{n}",
        "occupation": "electrician",
        "level": 3,
        "session": f"S{site:03d}-A",
        "room": "LAB-01",
        "seat": 1 + n % 40,
        "paper_id": f"P-{site}-{n}",
        "started_at": T0.isoformat(timespec="microseconds"),
        "submitted_at": when,
        "graded_at": when,
        "score": f"{score:.2f}",
        "max_score": f"{ITEMS:.2f}",
        "pass_mark": "60.00",
        "passed": score >= 60,
        "final": True,
        "responses": [
            {
                "item_id": item_id(i),
                "response": ["A"] if i < right else ["B"],
                "correct": i < right,
                "score": "1.00" if i < right else "0.00",
                "max_score": "1.00",
            }
            for i in range(ITEMS)
        ],
    }


class Site:
    def __init__(self, number: int, results: int, mismatch_every: int) -> None:
        self.key = SiteKey(Ed25519PrivateKey.generate())
        self.lines: list[bytes] = []
        for n in range(results):
            doc = document(number, n, wrong_score=mismatch_every > 0 and n % mismatch_every == 0)
            doc["signature"] = self.key.sign(doc)
            self.lines.append(json.dumps(doc, ensure_ascii=False).encode())


def make_app(sites: list[Site]) -> web.Application:
    async def keys(request: web.Request) -> web.Response:
        site = sites[int(request.match_info["n"])]
        return web.json_response({"keys": [site.key.describe()]})

    async def results(request: web.Request) -> web.Response:
        site = sites[int(request.match_info["n"])]
        start = int(request.query.get("after", "0"))
        limit = int(request.query.get("limit", "100"))
        chunk = site.lines[start : start + limit]
        end = start + len(chunk)
        body = b'{"results":[' + b",".join(chunk) + b'],"next":"' + str(end).encode() + b'"}'
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/site/{n}/api/v1/keys", keys)
    app.router.add_get("/site/{n}/api/v1/results", results)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--results", type=int, default=300)
    parser.add_argument("--mismatch-every", type=int, default=100)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    sites = [Site(n, args.results, args.mismatch_every) for n in range(args.sites)]
    web.run_app(
        make_app(sites),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=lambda _: print("ready", flush=True),
    )


if __name__ == "__main__":
    main()

"""Check a restored site: row counts as in the manifest, the audit log's hash chain, and
the signature of every stored result under the restored signing key."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.audit import ChainReport, verify_chain
from cbt_server.backup import pg_tools
from cbt_server.backup.archive import Manifest
from cbt_server.backup.sqlite_copy import read_counts
from cbt_server.backup.take import sqlite_file
from cbt_server.db.migrate import migrated
from cbt_server.results.feed import Filters, fetch_all, publish_rows, verified
from cbt_server.results.signing import KEY_FILE, KeyFileError, load_or_create_key
from cbt_server.settings import Settings


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(slots=True)
class Verification:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(check) for check in self.checks]}


def compare_counts(expected: dict[str, int], found: dict[str, int]) -> Check:
    differ = [
        f"{table}: {found.get(table, 'missing')} (manifest {expected.get(table, 'none')})"
        for table in sorted(set(expected) | set(found))
        if expected.get(table) != found.get(table)
    ]
    if differ:
        return Check("row_counts", False, "; ".join(differ))
    rows = sum(found.values())
    return Check("row_counts", True, f"{len(found)} tables, {rows} rows, as in the manifest")


def _audit_check(report: ChainReport) -> Check:
    if report.intact:
        return Check(
            "audit_chain", True, f"{report.entries} entries intact, tail {report.tail_hash}"
        )
    return Check(
        "audit_chain",
        False,
        f"broken at entry {report.broken_id}: {report.problem} "
        f"({report.entries} entries before it intact)",
    )


async def _signatures(settings: Settings, session: AsyncSession) -> Check:
    documents = publish_rows(await fetch_all(session, Filters()))
    if not (settings.data_path / KEY_FILE).is_file():
        ok = not documents
        return Check("result_signatures", ok, f"no signing key restored; {len(documents)} results")
    try:
        key = load_or_create_key(settings.data_path)
    except KeyFileError as error:
        return Check("result_signatures", False, str(error))
    good = verified(key, documents)
    bad = [doc.get("ticket", "?") for doc, ok in zip(documents, good, strict=True) if not ok]
    detail = f"{len(documents) - len(bad)} of {len(documents)} results verify under {key.kid}"
    if bad:
        detail += f"; failing tickets: {', '.join(map(str, bad[:20]))}"
    return Check("result_signatures", not bad, detail)


async def verify_restored(settings: Settings, manifest: Manifest) -> Verification:
    """The checks of a restored site, each with what it found."""
    report = Verification()
    if settings.is_sqlite:
        counts, revision = await asyncio.to_thread(read_counts, sqlite_file(settings))
    else:
        counts, revision = await pg_tools.read_counts(settings.effective_database_url)
    report.checks.append(compare_counts(manifest.row_counts, counts))
    if revision != manifest.schema_revision:
        report.checks.append(
            Check("schema", False, f"revision {revision!r}, manifest {manifest.schema_revision!r}")
        )
    # Opened as the server would: migrated to this version's schema first.
    async with migrated(settings) as sessionmaker, sessionmaker() as session:
        report.checks.append(_audit_check(await verify_chain(session)))
        report.checks.append(await _signatures(settings, session))
    return report

"""The state of pulling one site: where to resume, which key to trust, what is durable.

Stored as `<out>/<site>.state.json`, replaced atomically (temporary file, fsync, rename,
fsync of the folder), and only after the lines it counts are on disk. The byte lengths
of the JSON-lines files it records let a pull interrupted between appending and saving
cut the files back to the last saved state, so each result is kept exactly once.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cbt_server.durable import fsync_dir

STATE_VERSION = 1


class StateError(ValueError):
    """The state file cannot be used; the message names the file and the problem."""


@dataclass
class SiteState:
    site: str
    server: str = ""
    kid: str | None = None
    public_key: str | None = None  # base64 of the pinned Ed25519 key's raw bytes
    cursor: str | None = None
    results_bytes: int = 0
    rejected_bytes: int = 0
    pulled: int = 0
    refused: int = 0
    updated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, **asdict(self)}


def state_path(out_dir: Path, site: str) -> Path:
    return out_dir / f"{site}.state.json"


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], path: Path) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise StateError(f"{path}: field {name!r} is missing or has the wrong type")
    return value


def load_state(out_dir: Path, site: str) -> SiteState:
    """The saved state of `site`, or a fresh one if it was never pulled."""
    path = state_path(out_dir, site)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return SiteState(site=site)
    except OSError as exc:
        raise StateError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise StateError(f"{path}: not JSON (line {exc.lineno}): {exc.msg}") from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise StateError(f"{path}: not a version {STATE_VERSION} state file")
    if data.get("site") != site:
        raise StateError(f"{path}: belongs to site {data.get('site')!r}, not {site!r}")
    optional = (str, type(None))
    state = SiteState(
        site=site,
        server=_field(data, "server", str, path),
        kid=_field(data, "kid", optional, path),
        public_key=_field(data, "public_key", optional, path),
        cursor=_field(data, "cursor", optional, path),
        results_bytes=_field(data, "results_bytes", int, path),
        rejected_bytes=_field(data, "rejected_bytes", int, path),
        pulled=_field(data, "pulled", int, path),
        refused=_field(data, "refused", int, path),
        updated_at=_field(data, "updated_at", str, path),
    )
    if min(state.results_bytes, state.rejected_bytes, state.pulled, state.refused) < 0:
        raise StateError(f"{path}: negative counts")
    return state


def save_state(out_dir: Path, state: SiteState) -> None:
    """Replace the state file atomically and durably."""
    state.updated_at = datetime.now(UTC).isoformat()
    path = state_path(out_dir, state.site)
    tmp = path.with_name(path.name + ".tmp")
    data = json.dumps(state.to_json(), ensure_ascii=False, indent=2) + "\n"
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    fsync_dir(out_dir)

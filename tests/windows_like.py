"""Run the CLI in a child Python that lacks what Windows lacks: `fcntl`, `resource`,
uvloop, and event-loop signal handlers.

The child's `sitecustomize` (first on PYTHONPATH) puts a finder in front of every other
that answers ModuleNotFoundError for those modules, as a Windows Python does; code that
imports them guarded by `try: ... except ImportError` runs, an unguarded import fails.
With `signals=False` asyncio's loops refuse `add_signal_handler` with
NotImplementedError, as the Windows loops do.
"""

from __future__ import annotations

import os
from pathlib import Path

BLOCKED = ("fcntl", "resource", "uvloop")

_SITECUSTOMIZE = """
import os
import sys

BLOCKED = {blocked!r}


class _WindowsLacks:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: as on Windows)")
        return None


sys.meta_path.insert(0, _WindowsLacks())
for _name in BLOCKED:
    sys.modules.pop(_name, None)

if os.environ.get("CBT_TEST_NO_SIGNAL_HANDLERS") == "1":
    import asyncio.unix_events

    def _refuse(self, sig, callback, *args):
        raise NotImplementedError("no signal handlers on this loop (as on Windows)")

    asyncio.unix_events._UnixSelectorEventLoop.add_signal_handler = _refuse
"""


def windows_like_env(folder: Path, *, signals: bool = True) -> dict[str, str]:
    """The environment of a Windows-like child: a sitecustomize in `folder` first on
    PYTHONPATH, before the project (which the parent's PYTHONPATH or install provides)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        _SITECUSTOMIZE.format(blocked=BLOCKED), encoding="utf-8"
    )
    root = Path(__file__).resolve().parents[1]
    rest = os.environ.get("PYTHONPATH", "")
    path = os.pathsep.join(p for p in (str(folder), str(root), rest) if p)
    env = {**os.environ, "PYTHONPATH": path}
    if not signals:
        env["CBT_TEST_NO_SIGNAL_HANDLERS"] = "1"
    env.pop("CBT_DATABASE_URL", None)
    return env

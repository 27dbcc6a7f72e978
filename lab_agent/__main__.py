"""``python -m lab_agent``: run the lab agent's command line."""

from __future__ import annotations

import multiprocessing
import sys

from .cli import main as _cli_main


def main() -> int:
    """Console-script entry point (``cbt-lab-agent``)."""
    # Needed when the agent is frozen into one .exe for lab PCs without Python.
    multiprocessing.freeze_support()
    return _cli_main()


if __name__ == "__main__":
    sys.exit(main())

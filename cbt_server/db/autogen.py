"""Developer helper: write a new Alembic revision by comparing the models with the schema.

Usage: python -m cbt_server.db.autogen "what changed" REVISION_ID
It upgrades a scratch SQLite database to the current head, then autogenerates the
difference. Review the generated file before committing it.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from cbt_server.db.engine import make_engine
from cbt_server.db.migrate import alembic_config


async def _autogenerate(message: str, rev_id: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(scratch) / 'autogen.sqlite3'}")

        def run(sync: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync
            command.upgrade(config, "head")
            command.revision(config, message=message, autogenerate=True, rev_id=rev_id)

        async with engine.begin() as conn:
            await conn.run_sync(run)
        await engine.dispose()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    asyncio.run(_autogenerate(argv[0], argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

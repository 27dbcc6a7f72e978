"""Migrations build the schema from empty on both databases, and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import cbt_server.centre.models  # noqa: F401  (the centre tables are on the same metadata)
import cbt_server.db.lab_models  # noqa: F401  (so are the lab PCs' tables)
from cbt_server.db.engine import make_engine
from cbt_server.db.migrate import alembic_config, current_revision, head_revision, upgrade
from cbt_server.db.models import Base, Level, Occupation
from item_bank.catalogue import LEVELS, OCCUPATIONS


def test_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"


async def test_upgrade_from_empty_reaches_head(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        await upgrade(engine)  # idempotent: a restart migrates nothing
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_models(engine: AsyncEngine) -> None:
    def diff(sync: Connection) -> list[object]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_reference_data_matches_catalogue(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        codes = set(await session.scalars(select(Occupation.code)))
        levels = {lv.number: lv.name_zh for lv in await session.scalars(select(Level))}
        assert await session.scalar(select(func.count()).select_from(Occupation)) == len(codes)
    assert codes == {o.code for o in OCCUPATIONS}
    assert levels == {n: names[0] for n, names in LEVELS.items()}

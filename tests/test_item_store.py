"""The server's item store: sample bank in, same items out, no plaintext item text at rest."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.item_store import ItemCache, load_items, load_pool, store_items
from cbt_server.settings import Settings
from item_bank.importers.native import import_native

SAMPLES = Path(__file__).resolve().parents[1] / "item_bank" / "samples"


async def test_sample_bank_round_trips_encrypted(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    result = import_native(SAMPLES / "electrician-3.yaml")
    assert result.ok, result.errors[:3]
    cipher = ContentCipher.from_data_dir(settings.data_path)
    async with sessionmaker.begin() as session:
        report = await store_items(session, cipher, result.items)
    assert report.added == len(result.items) and report.replaced == 0

    async with sessionmaker.begin() as session:
        again = await store_items(session, cipher, result.items[:5])
    assert (again.added, again.replaced) == (0, 5)

    async with sessionmaker() as session:
        pool = await load_pool(session, cipher, "electrician", 3)
        some = await load_items(session, cipher, [result.items[0].id, result.items[-1].id])
        blobs = list(await session.scalars(select(models.Item.content)))
    assert {item.id: item for item in pool} == {item.id: item for item in result.items}
    assert some[result.items[0].id] == result.items[0]
    stem = result.items[0].stem.encode()
    assert all(stem not in blob for blob in blobs)


async def test_item_cache_decodes_once_and_never_serves_a_replaced_item(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    result = import_native(SAMPLES / "electrician-3.yaml")
    assert result.ok, result.errors[:3]
    first, second = result.items[0], result.items[1]
    cipher = ContentCipher.from_data_dir(settings.data_path)
    async with sessionmaker.begin() as session:
        await store_items(session, cipher, [first, second])
    cache = ItemCache(capacity=10)
    async with sessionmaker() as session:
        one = await load_items(session, cipher, [first.id, second.id], cache)
        two = await load_items(session, cipher, [first.id, second.id], cache)
    assert one == {first.id: first, second.id: second}
    assert all(two[key] is one[key] for key in one)  # decoded once, then shared
    assert len(cache) == 2

    revised = replace(first, stem=first.stem + "（修订）")
    async with sessionmaker.begin() as session:
        await store_items(session, cipher, [revised])
    async with sessionmaker() as session:
        after = await load_items(session, cipher, [first.id], cache)
    assert after[first.id] == revised  # new ciphertext, new key: the old body is not served

    small = ItemCache(capacity=1)
    async with sessionmaker() as session:
        await load_items(session, cipher, [first.id, second.id], small)
    assert len(small) == 1

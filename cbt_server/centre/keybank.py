"""The centre's own answer key: items of its item bank, read once and kept by id.

The centre imports the same sealed packages as the sites (`cbt-server package import`
into the centre's database), so its `items` table holds the keys, encrypted at rest like
a site's. Re-grading asks for the items of each page; an item is decrypted once per
process. Items the bank does not hold are not remembered as missing: a package imported
later makes them known. A key once read is kept for the life of the process: after a
package replaces items the centre already graded with, restart `centre serve`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.centre.regrade import ItemScores
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.exam.grading import ItemKey
from cbt_server.item_store import ItemCache
from cbt_server.runtime.grading_service import item_key


class KeyBank:
    def __init__(self, cipher: ContentCipher) -> None:
        self.cipher = cipher
        self.keys: dict[str, ItemKey] = {}
        self.decoder = ItemCache(capacity=64)
        # Item scores by (item, response, points), shared by every re-grade (regrade.py).
        self.scores: ItemScores = {}

    async def keys_for(self, db: AsyncSession, item_ids: Iterable[str]) -> dict[str, ItemKey]:
        """The keys of those of `item_ids` the bank holds, by id."""
        wanted = set(item_ids)
        unknown = [item_id for item_id in wanted if item_id not in self.keys]
        for start in range(0, len(unknown), 500):
            chunk = unknown[start : start + 500]
            rows = await db.execute(
                select(models.Item.id, models.Item.content).where(models.Item.id.in_(chunk))
            )
            for item_id, content in rows:
                self.keys[item_id] = item_key(self.decoder.decode(self.cipher, item_id, content))
        return {item_id: self.keys[item_id] for item_id in wanted if item_id in self.keys}

"""Importing a sealed paper package (试卷包) into the server.

The package is opened in memory with the site's AES key and the issuer's Ed25519 public
key; a tampered or wrongly keyed package is refused before anything is written. Items
and blueprints are then stored in one transaction (item bodies encrypted at rest under
the site's content key) and the import is written to the audit log with the package id.
No plaintext item file is ever written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.content_crypto import ContentCipher
from cbt_server.db.models import PaperPackage
from cbt_server.errors import InvalidInput
from cbt_server.item_store import store_blueprint, store_items
from item_bank.seal import Manifest, SealError, unseal, window_of


@dataclass(frozen=True, slots=True)
class PackageImport:
    manifest: Manifest
    items_added: int
    items_replaced: int
    blueprints: int


async def import_package(
    session: AsyncSession,
    cipher: ContentCipher,
    data: bytes,
    aes_key: bytes,
    verify_key: Ed25519PublicKey,
    *,
    actor: str,
    role: str = "lab_admin",
) -> PackageImport:
    """Verify, decrypt and store a sealed package; all of it or nothing."""
    try:
        items, blueprints, manifest = unseal(data, aes_key, verify_key)
    except SealError as error:
        raise InvalidInput(f"package refused: {error}") from None
    not_before, not_after = window_of(manifest)
    record = await session.get(PaperPackage, manifest.package_id)
    if record is None:
        record = PaperPackage(package_id=manifest.package_id)
        session.add(record)
    record.creator, record.not_before, record.not_after = manifest.creator, not_before, not_after
    await session.flush()
    report = await store_items(session, cipher, items)
    for blueprint in blueprints:
        await store_blueprint(session, blueprint, manifest.package_id)
    await audit.record(
        session,
        actor,
        role,
        "package.import",
        target=f"package:{manifest.package_id}",
        data={
            "items": manifest.item_count,
            "blueprints": list(manifest.blueprint_ids),
            "creator": manifest.creator,
            "created_at": manifest.created_at,
            "not_before": manifest.not_before,
            "not_after": manifest.not_after,
        },
    )
    return PackageImport(manifest, report.added, report.replaced, len(blueprints))

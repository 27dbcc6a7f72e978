"""Encryption of exam material at rest (item content in the database).

Item stems, options and keys are confidential until the exam (试卷保密): the database
holds them only as AES-256-GCM ciphertext under the site's content key, bound to the
item id as associated data so ciphertexts cannot be swapped between items. The key lives
in `<data_dir>/keys/content.key` (created on first use, mode 0600); a copy of the
database alone must never carry it: `cbt-server backup` seals it with a passphrase.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cbt_server.durable import private_dir

_NONCE_BYTES = 12
_VERSION = b"\x01"


class ContentKeyError(ValueError):
    """The content key file is missing, malformed, or does not open this ciphertext."""


class ContentCipher:
    """Encrypts and decrypts JSON documents with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ContentKeyError("content key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> ContentCipher:
        return cls(load_or_create_key(data_dir / "keys" / "content.key"))

    def encrypt_json(self, document: Any, *, aad: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        plaintext = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad.encode())

    def decrypt_json(self, blob: bytes, *, aad: str) -> Any:
        if len(blob) < 1 + _NONCE_BYTES + 16 or blob[:1] != _VERSION:
            raise ContentKeyError(f"content of {aad!r} is not a valid ciphertext")
        nonce = blob[1 : 1 + _NONCE_BYTES]
        try:
            plaintext = self._aead.decrypt(nonce, blob[1 + _NONCE_BYTES :], aad.encode())
        except InvalidTag:
            raise ContentKeyError(
                f"content of {aad!r} does not open with this site's content key"
            ) from None
        return json.loads(plaintext)


def load_or_create_key(path: Path) -> bytes:
    """Read the 32-byte key at `path`, creating it (mode 0600) if it does not exist."""
    if path.exists():
        key = path.read_bytes()
        if len(key) != 32:
            raise ContentKeyError(f"{path}: expected 32 bytes, found {len(key)}")
        return key
    private_dir(path.parent)
    key = AESGCM.generate_key(bit_length=256)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key

"""Item content at rest: encrypted, bound to its item id, key file created once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cbt_server.content_crypto import ContentCipher, ContentKeyError, load_or_create_key


def test_round_trip_and_binding(tmp_path: Path) -> None:
    cipher = ContentCipher.from_data_dir(tmp_path)
    body = {"stem": "在纯电阻电路中（  ）。", "key": ["A"]}
    blob = cipher.encrypt_json(body, aad="item-1")
    assert "纯电阻".encode() not in blob
    assert cipher.decrypt_json(blob, aad="item-1") == body
    with pytest.raises(ContentKeyError, match="item-2"):
        cipher.decrypt_json(blob, aad="item-2")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(ContentKeyError):
        cipher.decrypt_json(tampered, aad="item-1")


def test_key_file_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "content.key"
    first = load_or_create_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key(path) == first
    other = ContentCipher(os.urandom(32))
    blob = ContentCipher(first).encrypt_json([1], aad="x")
    with pytest.raises(ContentKeyError, match="does not open"):
        other.decrypt_json(blob, aad="x")


def test_bad_key_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "content.key"
    path.write_bytes(b"short")
    with pytest.raises(ContentKeyError, match="expected 32 bytes"):
        load_or_create_key(path)

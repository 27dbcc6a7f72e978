"""Sealed packages: round trip, tamper detection anywhere, and clear wrong-key errors."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from item_bank.blueprint import parse_blueprint
from item_bank.seal import (
    HEADER_BYTES,
    KeyFileError,
    PackageInvalid,
    PackageTampered,
    SealError,
    WrongKey,
    generate_keys,
    inspect,
    load_aes_key,
    load_signing_key,
    load_verify_key,
    read_header,
    seal,
    unseal,
)

from .conftest import blueprint_doc, make_bank

ITEMS = make_bank(per_cell=1)
BLUEPRINT, _ = parse_blueprint(blueprint_doc())
assert BLUEPRINT is not None
AES = bytes(range(32))
SIGNER = Ed25519PrivateKey.from_private_bytes(bytes(32))
VERIFY = SIGNER.public_key()
WHEN = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
PACKAGE = seal(ITEMS, [BLUEPRINT], AES, SIGNER, creator="市鉴定中心 张三", created_at=WHEN)


def test_round_trip_returns_the_same_items_blueprints_and_manifest() -> None:
    items, blueprints, manifest = unseal(PACKAGE, AES, VERIFY)
    assert items == ITEMS
    assert blueprints == [BLUEPRINT]
    assert manifest.item_count == len(ITEMS)
    assert manifest.creator == "市鉴定中心 张三"
    assert manifest.created_at == "2025-03-01T08:30:00+00:00"
    assert manifest.blueprint_ids == ("bp-test",)
    assert manifest.counts == {"electrician/3": {"single": 10, "multiple": 10, "true_false": 10}}
    assert inspect(PACKAGE, AES, VERIFY) == manifest


def test_content_is_not_readable_in_the_package() -> None:
    assert "题干".encode() not in PACKAGE
    assert b"electrician" not in PACKAGE
    # two seals of the same content differ (fresh nonce), so nothing leaks by comparison
    assert seal(ITEMS, [BLUEPRINT], AES, SIGNER, created_at=WHEN) != PACKAGE


@pytest.mark.parametrize(
    "position", [0, 8, 9, 17, 25, 36, HEADER_BYTES, HEADER_BYTES + 100, -65, -1]
)
def test_flipping_a_byte_in_each_region_is_detected(position: int) -> None:
    data = bytearray(PACKAGE)
    data[position] ^= 0x01
    with pytest.raises((PackageTampered, PackageInvalid)):
        unseal(bytes(data), AES, VERIFY)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0, max_value=len(PACKAGE) - 1), bit=st.integers(0, 7))
def test_flipping_any_bit_anywhere_is_detected(position: int, bit: int) -> None:
    data = bytearray(PACKAGE)
    data[position] ^= 1 << bit
    with pytest.raises(SealError):
        unseal(bytes(data), AES, VERIFY)


def test_body_tampering_is_reported_as_tampering() -> None:
    data = bytearray(PACKAGE)
    data[HEADER_BYTES + 10] ^= 0xFF
    with pytest.raises(PackageTampered, match="altered after sealing"):
        unseal(bytes(data), AES, VERIFY)


def test_truncated_or_extended_packages_are_refused() -> None:
    with pytest.raises(SealError):
        unseal(PACKAGE[:-1], AES, VERIFY)
    with pytest.raises(SealError):
        unseal(PACKAGE + b"\0", AES, VERIFY)
    with pytest.raises(PackageInvalid, match="only 10 bytes"):
        unseal(b"CBTSEAL\x00\x01\x00", AES, VERIFY)
    with pytest.raises(PackageInvalid, match="does not start with CBTSEAL"):
        unseal(b"PK" + PACKAGE[2:], AES, VERIFY)


def test_wrong_verify_key_is_named() -> None:
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(PackageTampered, match="wrong verify key"):
        unseal(PACKAGE, AES, other)


def test_wrong_content_key_is_named() -> None:
    header = read_header(PACKAGE)
    with pytest.raises(WrongKey, match=f"sealed for content key {header.key_id}"):
        unseal(PACKAGE, os.urandom(32), VERIFY)


def test_invalid_items_are_not_sealed() -> None:
    with pytest.raises(SealError, match="duplicate item ids"):
        seal(ITEMS + ITEMS[:1], [], AES, SIGNER)
    with pytest.raises(KeyFileError):
        seal(ITEMS, [], b"short", SIGNER)


def test_generate_keys_writes_usable_private_files_and_never_overwrites(tmp_path: Path) -> None:
    files = generate_keys(tmp_path / "keys")
    assert len(files.aes_key.read_bytes()) == 32
    assert stat.S_IMODE(files.aes_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.signing_key.stat().st_mode) == 0o600
    assert files.verify_key.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    aes = load_aes_key(files.aes_key)
    package = seal(ITEMS, [], aes, load_signing_key(files.signing_key))
    assert unseal(package, aes, load_verify_key(files.verify_key))[0] == ITEMS
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        generate_keys(tmp_path / "keys")


def test_key_loaders_name_the_problem(tmp_path: Path) -> None:
    files = generate_keys(tmp_path)
    with pytest.raises(KeyFileError, match="exactly 32 bytes"):
        load_aes_key(files.verify_key)
    with pytest.raises(KeyFileError, match="not a PEM public key"):
        load_verify_key(files.aes_key)
    with pytest.raises(KeyFileError, match="private key"):
        load_signing_key(files.verify_key)
    with pytest.raises(KeyFileError, match="cannot read"):
        load_aes_key(tmp_path / "missing.key")

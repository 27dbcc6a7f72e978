"""Sealed item packages: exam material encrypted (AES-256-GCM) and signed (Ed25519).

Layout (all integers big-endian):

    header     37 bytes  magic "CBTSEAL\\0" (8) | version 1 (1) | content-key id (8)
                         | signer id (8) | nonce (12)
    ciphertext  n bytes  AES-256-GCM(zlib(JSON payload)), the header as associated data
    signature  64 bytes  Ed25519 over header + ciphertext

Key ids are the first 8 bytes of a SHA-256 of the key, so a wrong key is named as such
instead of looking like corruption. The payload is `{"format": "cbt-sealed/1",
"manifest": {...}, "items": [Item.to_dict()...], "blueprints": [Blueprint.to_dict()...]}`.
`unseal` checks the signature before it decrypts anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from item_bank.blueprint import blueprint_from_dict
from item_bank.model import Blueprint, FormatError, Item
from item_bank.parse import item_from_dict
from item_bank.validate import duplicate_ids, item_problems

MAGIC = b"CBTSEAL\x00"
VERSION = 1
KEY_ID_BYTES = 8
NONCE_BYTES = 12
HEADER_BYTES = len(MAGIC) + 1 + 2 * KEY_ID_BYTES + NONCE_BYTES
TAG_BYTES = 16
SIGNATURE_BYTES = 64
PAYLOAD_FORMAT = "cbt-sealed/1"
MAX_PAYLOAD_BYTES = 512 * 1024 * 1024

AES_KEY_FILE = "package.key"
SIGNING_KEY_FILE = "signing-key.pem"
VERIFY_KEY_FILE = "verify-key.pem"


class SealError(ValueError):
    """Base of every error sealing or opening a package."""


class PackageInvalid(SealError):
    """Not a sealed package, an unsupported version, or a payload of the wrong shape."""


class PackageTampered(SealError):
    """The signature or the encryption tag does not verify: the bytes were changed."""


class WrongKey(SealError):
    """The package is intact but was sealed for a different content key."""


class KeyFileError(SealError):
    """A key file is missing or does not hold the expected kind of key."""


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    key_id: str
    signer_id: str
    nonce: bytes


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a package holds, without any item content."""

    package_id: str
    created_at: str
    creator: str
    item_count: int
    blueprint_ids: tuple[str, ...]
    counts: dict[str, dict[str, int]]
    # The validity window of a formal package (ISO 8601 with offset), or None: a formal
    # session's scheduled time must lie inside it and it cannot start outside it. Added
    # compatibly: a manifest without them is a package without a window.
    not_before: str | None = None
    not_after: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "package_id": self.package_id,
            "created_at": self.created_at,
            "creator": self.creator,
            "item_count": self.item_count,
            "blueprint_count": len(self.blueprint_ids),
            "blueprint_ids": list(self.blueprint_ids),
            "counts": self.counts,
        }
        if self.not_before is not None:
            out["not_before"] = self.not_before
        if self.not_after is not None:
            out["not_after"] = self.not_after
        return out


@dataclass(frozen=True, slots=True)
class KeyFiles:
    aes_key: Path
    signing_key: Path
    verify_key: Path


# --- keys -------------------------------------------------------------------------------


def key_id(aes_key: bytes) -> str:
    """A short public name for a content key (hex)."""
    return hashlib.sha256(b"cbt-content-key\x00" + aes_key).digest()[:KEY_ID_BYTES].hex()


def signer_id(verify_key: Ed25519PublicKey) -> str:
    """A short public name for a signing key pair (hex)."""
    raw = verify_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(b"cbt-signer\x00" + raw).digest()[:KEY_ID_BYTES].hex()


def generate_keys(out_dir: str | Path) -> KeyFiles:
    """Write a new content key and signing key pair into `out_dir` (never overwriting).

    `package.key` holds 32 random bytes (mode 0600), `signing-key.pem` the Ed25519
    private key (PKCS#8 PEM, mode 0600: keep it with the item-bank office, off lab
    servers), `verify-key.pem` the public key that lab servers use to check packages.
    """
    folder = Path(out_dir)
    files = KeyFiles(folder / AES_KEY_FILE, folder / SIGNING_KEY_FILE, folder / VERIFY_KEY_FILE)
    existing = [str(p) for p in (files.aes_key, files.signing_key, files.verify_key) if p.exists()]
    if existing:
        raise KeyFileError(f"refusing to overwrite existing key file(s): {', '.join(existing)}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        private = Ed25519PrivateKey.generate()
        _write_new(files.aes_key, AESGCM.generate_key(bit_length=256), 0o600)
        _write_new(
            files.signing_key,
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            0o600,
        )
        _write_new(
            files.verify_key,
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            0o644,
        )
    except OSError as exc:
        raise KeyFileError(f"cannot write keys to {folder}: {exc.strerror or exc}") from None
    return files


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def load_aes_key(path: str | Path) -> bytes:
    """Read a 32-byte content key file."""
    data = _read_key_file(path)
    if len(data) != 32:
        raise KeyFileError(f"{path}: a content key file holds exactly 32 bytes, found {len(data)}")
    return data


def load_signing_key(path: str | Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key (PEM)."""
    load = partial(serialization.load_pem_private_key, password=None)
    key = _load_pem(path, load, "an unencrypted PEM private key")
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 private key")
    return key


def load_verify_key(path: str | Path) -> Ed25519PublicKey:
    """Read an Ed25519 public key (PEM)."""
    key = _load_pem(path, serialization.load_pem_public_key, "a PEM public key")
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: not an Ed25519 public key")
    return key


def _load_pem(path: str | Path, load: Callable[[bytes], object], expected: str) -> object:
    """The key `load` finds in the file at `path`; `expected` names it when there is none."""
    data = _read_key_file(path)
    try:
        return load(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFileError(f"{path}: not {expected}") from None


def _read_key_file(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file: {exc.strerror or exc}") from None


# --- sealing ----------------------------------------------------------------------------


def seal(
    items: Sequence[Item],
    blueprints: Sequence[Blueprint],
    aes_key: bytes,
    signing_key: Ed25519PrivateKey,
    *,
    creator: str = "",
    created_at: datetime | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> bytes:
    """Encrypt and sign items and blueprints into one package (valid from `not_before`
    to `not_after`, each with a UTC offset, if given)."""
    if len(aes_key) != 32:
        raise KeyFileError("the content key must be 32 bytes")
    for moment in (not_before, not_after):
        if moment is not None and moment.tzinfo is None:
            raise SealError("the validity window needs times with a UTC offset")
    if not_before is not None and not_after is not None and not_after <= not_before:
        raise SealError("the validity window ends before it begins (not_after <= not_before)")
    problems = [
        f"{item.id}: {field}: {why}" for item in items for field, why in item_problems(item)
    ]
    duplicates = duplicate_ids(items)
    if duplicates:
        problems.append(f"duplicate item ids: {', '.join(sorted(duplicates))}")
    if len({b.id for b in blueprints}) != len(blueprints):
        problems.append("two blueprints share an id")
    if problems:
        raise SealError("refusing to seal invalid items: " + "; ".join(problems[:10]))
    manifest = Manifest(
        package_id=secrets.token_hex(16),
        created_at=(created_at or datetime.now(UTC)).astimezone(UTC).isoformat(),
        creator=creator,
        item_count=len(items),
        blueprint_ids=tuple(b.id for b in blueprints),
        counts=_counts(items),
        not_before=not_before.astimezone(UTC).isoformat() if not_before else None,
        not_after=not_after.astimezone(UTC).isoformat() if not_after else None,
    )
    payload = {
        "format": PAYLOAD_FORMAT,
        "manifest": manifest.to_dict(),
        "items": [item.to_dict() for item in items],
        "blueprints": [blueprint.to_dict() for blueprint in blueprints],
    }
    plaintext = zlib.compress(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 9
    )
    nonce = os.urandom(NONCE_BYTES)
    header = (
        MAGIC
        + bytes([VERSION])
        + bytes.fromhex(key_id(aes_key))
        + bytes.fromhex(signer_id(signing_key.public_key()))
        + nonce
    )
    ciphertext = AESGCM(aes_key).encrypt(nonce, plaintext, header)
    return header + ciphertext + signing_key.sign(header + ciphertext)


def _counts(items: Sequence[Item]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for item in items:
        group = f"{item.occupation or '-'}/{item.level if item.level is not None else '-'}"
        by_type = counts.setdefault(group, {})
        by_type[item.type] = by_type.get(item.type, 0) + 1
    return counts


def read_header(data: bytes) -> Header:
    """The package header (no key needed); raises `PackageInvalid` if it is not one."""
    if len(data) < HEADER_BYTES + TAG_BYTES + SIGNATURE_BYTES:
        raise PackageInvalid(f"not a sealed package: only {len(data)} bytes")
    if data[: len(MAGIC)] != MAGIC:
        raise PackageInvalid("not a sealed package (the file does not start with CBTSEAL)")
    version = data[len(MAGIC)]
    if version != VERSION:
        raise PackageInvalid(f"package format version {version} is not supported (only {VERSION})")
    at = len(MAGIC) + 1
    return Header(
        version=version,
        key_id=data[at : at + KEY_ID_BYTES].hex(),
        signer_id=data[at + KEY_ID_BYTES : at + 2 * KEY_ID_BYTES].hex(),
        nonce=data[at + 2 * KEY_ID_BYTES : HEADER_BYTES],
    )


def unseal(
    data: bytes, aes_key: bytes, verify_key: Ed25519PublicKey
) -> tuple[list[Item], list[Blueprint], Manifest]:
    """Verify, decrypt and read a package.

    Raises `PackageInvalid` (not a package / bad payload), `PackageTampered` (signature or
    tag fails; names the signer mismatch when the verify key is simply the wrong one) or
    `WrongKey` (intact package sealed for another content key).
    """
    header = read_header(data)
    signed, signature = data[:-SIGNATURE_BYTES], data[-SIGNATURE_BYTES:]
    try:
        verify_key.verify(signature, signed)
    except InvalidSignature:
        mine = signer_id(verify_key)
        hint = (
            f" The package names signer {header.signer_id}, the verify key given is {mine}: "
            "wrong verify key, or the header was altered."
            if mine != header.signer_id
            else ""
        )
        raise PackageTampered(
            "the package signature does not verify: it was altered after sealing." + hint
        ) from None
    if header.key_id != key_id(aes_key):
        raise WrongKey(
            f"the package was sealed for content key {header.key_id}; the key given is "
            f"{key_id(aes_key)}"
        )
    try:
        plaintext = AESGCM(aes_key).decrypt(
            header.nonce, signed[HEADER_BYTES:], signed[:HEADER_BYTES]
        )
    except InvalidTag:
        raise PackageTampered(
            "the package content does not decrypt (authentication failed)"
        ) from None
    return _read_payload(plaintext)


def _window_time(meta: dict[str, Any], name: str) -> str | None:
    value = meta.get(name)
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))  # ValueError: reported as a bad shape
    if moment.tzinfo is None:
        raise PackageInvalid(f"the manifest's {name} has no UTC offset")
    return moment.isoformat()


def window_of(manifest: Manifest) -> tuple[datetime | None, datetime | None]:
    """The manifest's validity window as aware datetimes."""
    return (
        datetime.fromisoformat(manifest.not_before) if manifest.not_before else None,
        datetime.fromisoformat(manifest.not_after) if manifest.not_after else None,
    )


def inspect(data: bytes, aes_key: bytes, verify_key: Ed25519PublicKey) -> Manifest:
    """The manifest of a package, after the same checks as `unseal`."""
    return unseal(data, aes_key, verify_key)[2]


def _read_payload(compressed: bytes) -> tuple[list[Item], list[Blueprint], Manifest]:
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, MAX_PAYLOAD_BYTES)
    except zlib.error as exc:
        raise PackageInvalid(f"the payload is not valid compressed data: {exc}") from None
    if inflater.unconsumed_tail:
        raise PackageInvalid(f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        payload = json.loads(raw.decode("utf-8"))
        if payload.get("format") != PAYLOAD_FORMAT:
            raise PackageInvalid(f"payload format {payload.get('format')!r} is not supported")
        meta = payload["manifest"]
        manifest = Manifest(
            package_id=str(meta["package_id"]),
            created_at=str(meta["created_at"]),
            creator=str(meta["creator"]),
            item_count=int(meta["item_count"]),
            blueprint_ids=tuple(str(b) for b in meta["blueprint_ids"]),
            counts={
                str(k): {str(t): int(n) for t, n in v.items()} for k, v in meta["counts"].items()
            },
            not_before=_window_time(meta, "not_before"),
            not_after=_window_time(meta, "not_after"),
        )
        items = [item_from_dict(entry) for entry in payload["items"]]
        blueprints = [blueprint_from_dict(entry) for entry in payload["blueprints"]]
    except PackageInvalid:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        message = str(exc) if isinstance(exc, FormatError) else f"{type(exc).__name__}: {exc}"
        raise PackageInvalid(f"the payload does not have the expected shape: {message}") from None
    if len(items) != manifest.item_count:
        raise PackageInvalid("the manifest's item count does not match the items")
    return items, blueprints, manifest

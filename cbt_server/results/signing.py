"""The site's Ed25519 signing key, and signing and verifying result documents.

The private key lives in `<data_dir>/keys/site-signing.pem` (PKCS#8 PEM, mode 0600),
created on first use. Several server processes may start at once: the key is written to
a temporary file and linked into place, so exactly one key wins and all processes use it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from cbt_server.durable import fsync_dir, private_dir
from cbt_server.results.canonical import SIGNATURE_FIELD, canonical_bytes

ALGORITHM = "Ed25519"
KEY_FILE = Path("keys") / "site-signing.pem"


class KeyFileError(ValueError):
    """The signing key file exists but cannot be used; the message names the file."""


def key_id(public_raw: bytes) -> str:
    """A short stable name for a public key: 'ed25519:' + first 16 hex of its SHA-256."""
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SiteKey:
    """The site's signing key pair."""

    private_key: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode("ascii")

    @property
    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    @property
    def kid(self) -> str:
        return key_id(self.public_raw)

    def sign(self, document: Mapping[str, Any]) -> str:
        """Base64 Ed25519 signature over the document's canonical bytes."""
        return base64.b64encode(self.private_key.sign(canonical_bytes(document))).decode("ascii")

    def describe(self) -> dict[str, str]:
        """The entry of this key in GET /api/v1/keys."""
        return {
            "kid": self.kid,
            "alg": ALGORITHM,
            "public_key": self.public_b64,
            "public_key_pem": self.public_pem,
        }


def load_or_create_key(data_path: Path) -> SiteKey:
    """The site key from `<data_path>/keys/site-signing.pem`, made on first use."""
    path = data_path / KEY_FILE
    if not path.exists():
        _create(path)
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return SiteKey(loaded)


def _create(path: Path) -> None:
    private_dir(path.parent)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        # link() fails if another process got there first: then its key is the key.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from base64 of its 32 raw bytes; ValueError if it is not one."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("public key is not base64") from None
    if len(raw) != 32:
        raise ValueError(f"public key has {len(raw)} bytes, Ed25519 needs 32")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_document(public_key: Ed25519PublicKey, document: Mapping[str, Any]) -> bool:
    """True if the document's `signature` is valid for its canonical bytes under the key."""
    return verified_bytes(public_key, document) is not None


def verified_bytes(public_key: Ed25519PublicKey, document: Mapping[str, Any]) -> bytes | None:
    """The document's canonical bytes (what was signed) if its `signature` is valid under
    the key, else None: a verifier that keeps the signed form need not encode it twice."""
    signature = document.get(SIGNATURE_FIELD)
    if not isinstance(signature, str) or not signature:
        return None
    try:
        raw = base64.b64decode(signature, validate=True)
        signed = canonical_bytes(document)
        public_key.verify(raw, signed)
    except (binascii.Error, ValueError, TypeError, InvalidSignature):
        return None
    return signed

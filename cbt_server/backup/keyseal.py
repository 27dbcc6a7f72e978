"""The site's keys in a backup, sealed with the administrator's passphrase.

scrypt turns the passphrase into a 256-bit key; AES-256-GCM seals the key files under it
with the rest of the manifest as associated data, so opening them also proves the
manifest (and through its SHA-256 lines every member) is the one written with them. A
wrong passphrase and an altered manifest look the same to GCM: the message says both.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KDF = "scrypt"
CIPHER = "AES-256-GCM"
SCRYPT_N = 2**15  # about 0.1 s and 32 MiB per derivation
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSPHRASE = 8
_SALT_BYTES = 16
_NONCE_BYTES = 12


class SealError(ValueError):
    """The passphrase is unusable, or the sealed keys do not open; the message says why."""


def check_passphrase(passphrase: str) -> bytes:
    """The passphrase as bytes; SealError if it is too short to protect the keys."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise SealError(f"the backup passphrase must have at least {MIN_PASSPHRASE} characters")
    return passphrase.encode("utf-8")


def _derive(secret: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise SealError(f"manifest keys.{what}: missing or not text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SealError(f"manifest keys.{what}: not base64") from None


@dataclass(frozen=True, slots=True)
class Sealer:
    """A passphrase made into a key once (scrypt is slow on purpose), for many backups:
    each seal has a fresh random nonce."""

    salt: bytes
    key: bytes

    @classmethod
    def from_passphrase(cls, passphrase: str) -> Sealer:
        salt = os.urandom(_SALT_BYTES)
        return cls(salt, _derive(check_passphrase(passphrase), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P))

    def seal(self, plaintext: bytes, aad: bytes) -> dict[str, Any]:
        """The manifest's `keys` entry: KDF parameters, nonce and ciphertext."""
        nonce = os.urandom(_NONCE_BYTES)
        return {
            "kdf": KDF,
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": _b64(self.salt),
            "cipher": CIPHER,
            "nonce": _b64(nonce),
            "ciphertext": _b64(AESGCM(self.key).encrypt(nonce, plaintext, aad)),
        }


def _int_param(entry: dict[str, Any], name: str, low: int, high: int) -> int:
    value = entry.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SealError(f"manifest keys.{name}: not an integer in {low}..{high}")
    return value


def unseal(entry: Any, passphrase: str, aad: bytes) -> bytes:
    """The plaintext of a `keys` entry; SealError naming what is wrong."""
    if not isinstance(entry, dict):
        raise SealError("manifest keys: missing or not an object")
    if entry.get("kdf") != KDF or entry.get("cipher") != CIPHER:
        raise SealError(f"manifest keys: only {KDF} with {CIPHER} is known")
    # Bounds keep a crafted manifest from asking for gigabytes of scrypt memory.
    n = _int_param(entry, "n", 2**14, 2**17)
    if n & (n - 1):
        raise SealError("manifest keys.n: not a power of two")
    r = _int_param(entry, "r", 1, 8)
    p = _int_param(entry, "p", 1, 16)
    salt = _unb64(entry.get("salt"), "salt")
    nonce = _unb64(entry.get("nonce"), "nonce")
    if len(nonce) != _NONCE_BYTES:
        raise SealError("manifest keys.nonce: not 12 bytes")
    ciphertext = _unb64(entry.get("ciphertext"), "ciphertext")
    key = _derive(passphrase.encode("utf-8"), salt, n, r, p)
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise SealError(
            "the passphrase does not open this backup's keys (wrong passphrase, or the "
            "manifest was altered)"
        ) from None


def passphrase_from_file(path: Path) -> str:
    """The passphrase in a file (its first line); SealError naming the file otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SealError(f"{path}: cannot read the backup passphrase: {error}") from None
    lines = text.splitlines()
    passphrase = lines[0] if lines else ""
    try:
        check_passphrase(passphrase)
    except SealError as error:
        raise SealError(f"{path}: {error}") from None
    return passphrase

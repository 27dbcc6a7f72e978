"""The centre's issuer key: the Ed25519 key that signs the paper packages it seals.

Kept in the centre's data directory (`keys/centre-issuer.pem`, mode 0600), made on
first use. Sites check packages with its public half, which a centre administrator
gives them out of band (`cbt-server centre issuer-key`), as any package issuer's.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ISSUER_FILE = Path("keys") / "centre-issuer.pem"


def issuer_key(data_dir: Path) -> Ed25519PrivateKey:
    """The centre's signing key, created (0600, never overwritten) if there is none."""
    path = data_dir / ISSUER_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def issuer_public_pem(data_dir: Path) -> str:
    """The public half as PEM: what a site passes to `package import --verify-key`."""
    public = issuer_key(data_dir).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")

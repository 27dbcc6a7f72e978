"""API bearer tokens for machine clients (the city centre's puller, lab agents).

The secret is shown once when created; the database keeps only its SHA-256 (a random
256-bit secret needs no slow hash). Tokens carry one scope, e.g. "results:read".
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db.models import ApiToken
from cbt_server.db.types import utcnow
from cbt_server.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound


class Scope(StrEnum):
    """What a token may do; each scope is spelled here only."""

    RESULTS_READ = "results:read"  # the city centre pulls graded results
    LAB_REPORT = "lab:report"  # a lab agent posts its PC's readiness report


SCOPES = tuple(scope.value for scope in Scope)
_PREFIX = "cbt_"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: int
    name: str
    scope: str
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_token(session: AsyncSession, name: str, scope: str) -> IssuedToken:
    """Create a token; the returned secret is the only copy of it."""
    name = name.strip()
    if not name or len(name) > 128:
        raise InvalidInput("token name must be 1 to 128 characters")
    if scope not in SCOPES:
        raise InvalidInput(f"unknown scope {scope!r}; known scopes: {', '.join(SCOPES)}")
    existing = await session.scalar(select(ApiToken).where(ApiToken.name == name))
    if existing is not None:
        raise Conflict(f"a token named {name!r} exists already")
    secret = _PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, scope=scope, token_hash=hash_secret(secret))
    session.add(row)
    await session.flush()
    return IssuedToken(row.id, name, scope, secret)


async def authenticate(session: AsyncSession, secret: str | None, scope: str) -> ApiToken:
    """The live token for `secret`; NotAuthenticated if unknown/revoked, Forbidden if the
    scope differs."""
    if not secret:
        raise NotAuthenticated("missing bearer token")
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("invalid or revoked token")
    if row.scope != scope:
        raise Forbidden(f"token scope {row.scope!r} does not allow {scope!r}")
    row.last_used_at = utcnow()
    return row


async def revoke_token(session: AsyncSession, name: str) -> ApiToken:
    row = await session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise NotFound(f"no token named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list(await session.scalars(select(ApiToken).order_by(ApiToken.id)))


def bearer_secret(authorization: str | None) -> str | None:
    """The secret from an `Authorization: Bearer ...` header value, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()

"""The centre's register of sites: add one, trust a changed key, rewind a cursor. Audited.

Tokens go both ways: the centre keeps the site's `results:read` token (it must send it
when pulling) and issues the site a token of its own, shown once and kept as a hash,
which the site presents when it calls the centre.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.centre.models import CentreSite
from cbt_server.centre.puller import PullError, check_site_name, normalise_server
from cbt_server.db.types import utcnow
from cbt_server.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from cbt_server.tokens import hash_secret

SITE_TOKEN_PREFIX = "cbtc_"
ADMIN_ROLE = "centre_admin"


def site_target(code: str) -> str:
    return f"site:{code}"


async def add_site(
    db: AsyncSession,
    code: str,
    url: str,
    pull_token: str,
    *,
    name: str = "",
    actor: str,
) -> tuple[CentreSite, str]:
    """Register a site; returns the row and the token the site will present (only copy)."""
    try:
        code = check_site_name(code.strip())
        url = normalise_server(url)
    except PullError as exc:
        raise InvalidInput(str(exc).replace("--site", "code").replace("--server", "url")) from None
    pull_token = pull_token.strip()
    if not pull_token or len(pull_token) > 512 or not pull_token.isprintable():
        raise InvalidInput("token: the site's results:read token, 1 to 512 printable characters")
    if len(name) > 128:
        raise InvalidInput("name: at most 128 characters")
    if await db.scalar(select(CentreSite.id).where(CentreSite.code == code)) is not None:
        raise Conflict(f"a site with code {code!r} is registered already")
    secret = SITE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    site = CentreSite(
        code=code,
        name=name.strip() or code,
        url=url,
        pull_token=pull_token,
        site_token_hash=hash_secret(secret),
        status="new",
        status_reason="registered; not pulled yet",
    )
    db.add(site)
    await db.flush()
    await audit.record(
        db, actor, ADMIN_ROLE, "centre.site.add", site_target(code), data={"url": url}
    )
    return site, secret


async def list_sites(db: AsyncSession) -> list[CentreSite]:
    return list(await db.scalars(select(CentreSite).order_by(CentreSite.code)))


async def get_site(db: AsyncSession, code: str) -> CentreSite:
    site = await db.scalar(select(CentreSite).where(CentreSite.code == code))
    if site is None:
        raise NotFound(f"no site with code {code!r} is registered")
    return site


async def trust_key(db: AsyncSession, code: str, *, actor: str, kid: str | None = None) -> str:
    """Pin the key the site now offers in place of the old one; returns its kid.

    `kid`, when given, must name the offered key: the person confirms what they checked
    with the site out of band, not whatever the site offers by the time they type.
    """
    site = await get_site(db, code)
    if site.offered_key is None or site.offered_kid is None:
        raise Conflict(f"site {code!r} offers no new key to trust (its key has not changed)")
    if kid is not None and kid != site.offered_kid:
        raise Conflict(f"site {code!r} offers key {site.offered_kid}, not {kid}")
    old = site.kid
    site.kid, site.public_key = site.offered_kid, site.offered_key
    site.offered_kid = site.offered_key = None
    site.status = "key_trusted"
    site.status_reason = f"key {site.kid} trusted by {actor} at {utcnow().isoformat()}"
    await audit.record(
        db,
        actor,
        ADMIN_ROLE,
        "centre.site.trust_key",
        site_target(code),
        data={"old_kid": old, "new_kid": site.kid},
    )
    return str(site.kid)


async def rewind(db: AsyncSession, code: str, *, actor: str) -> None:
    """Pull the site from the start again (after `cursor_ahead`: its database was restored
    from an older backup). Results already held are updated, never doubled."""
    site = await get_site(db, code)
    site.cursor = None
    site.status = "rewound"
    site.status_reason = f"cursor reset by {actor}; the next pull starts from the beginning"
    await audit.record(db, actor, ADMIN_ROLE, "centre.site.rewind", site_target(code))


async def set_token(db: AsyncSession, code: str, pull_token: str, *, actor: str) -> None:
    """Replace the site's results:read token the centre sends (after `token_refused`)."""
    site = await get_site(db, code)
    pull_token = pull_token.strip()
    if not pull_token or len(pull_token) > 512 or not pull_token.isprintable():
        raise InvalidInput("token: the site's results:read token, 1 to 512 printable characters")
    site.pull_token = pull_token
    await audit.record(db, actor, ADMIN_ROLE, "centre.site.set_token", site_target(code))


async def site_for_token(db: AsyncSession, secret: str | None) -> CentreSite:
    """The site presenting this token (the one `add_site` issued); NotAuthenticated if
    there is none or it is unknown."""
    if not secret or len(secret) > 256:
        raise NotAuthenticated("send the site's centre token as Authorization: Bearer …")
    site = await db.scalar(
        select(CentreSite).where(CentreSite.site_token_hash == hash_secret(secret))
    )
    if site is None:
        raise NotAuthenticated("unknown site token")
    return site

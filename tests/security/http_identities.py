"""Who may knock on the HTTP side, as request headers: nobody, a candidate holding their
login token, each kind of staff member (signed-in cookie, with and without their CSRF
token), and API tokens of each scope, live and revoked."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from cbt_server.auth.sessions import session_id_of
from cbt_server.db import models
from cbt_server.keys import SESSIONMAKER
from tests.security.conftest import Site


@dataclass(frozen=True)
class Identity:
    name: str
    cookie: str = ""  # the staff session secret sent as cbt_staff
    bearer: str = ""
    csrf: str = ""  # the staff session's CSRF token, for state-changing requests

    def headers(self, with_csrf: bool = False) -> dict[str, str]:
        headers = {}
        if self.cookie:
            headers["Cookie"] = f"cbt_staff={self.cookie}"
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        if with_csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        return headers


async def csrf_of(site: Site, cookie: str) -> str:
    async with site.app[SESSIONMAKER]() as db:
        token = await db.scalar(
            select(models.StaffSession.csrf_token).where(
                models.StaffSession.id == session_id_of(cookie)
            )
        )
    assert token is not None
    return str(token)


async def identities(site: Site, candidate_token: str) -> list[Identity]:
    """Every identity of the site (`candidate_token`: a candidate's resume token)."""
    secrets = site.secrets
    staff = {
        "lab_admin": secrets.admin_cookie,
        "proctor": site.s1.proctor_cookie,
        "supervisor": site.s1.supervisor_cookie,
        "outsider": site.s2.proctor_cookie,
    }
    found = [
        Identity("anonymous"),
        Identity("candidate", cookie=candidate_token, bearer=candidate_token),
        Identity("signed_out", cookie=secrets.signed_out_cookie),
        Identity("results_token", bearer=secrets.results_token),
        Identity("lab_token", bearer=secrets.lab_token),
        Identity("revoked_results_token", bearer=secrets.revoked_results_token),
        Identity("revoked_lab_token", bearer=secrets.revoked_lab_token),
    ]
    for name, cookie in staff.items():
        found.append(Identity(name, cookie=cookie, csrf=await csrf_of(site, cookie)))
    return found

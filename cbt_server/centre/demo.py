"""`make centre-demo`: a centre and two demo sites on one machine, with results flowing.

Each site is the ordinary demo (`cbt_server.demo`: session DEMO-01 of the sample bank,
30 candidates, a proctor who is also the examiner leader, a results token). A sitting is
then played through the real services: the sitting candidates' answers stored, each
candidate submitted and graded by `grading_service.grade_many` with the site's key and
signed by the site's result signing; the others marked absent. Site A's examiner leader
signs the score summary (`paperwork.signoff.sign_summary`), so its results are final;
site B's are left for the demo's user to sign in the site's console and watch become
final at the centre on its next pull.

The centre gets its own copy of the sample bank (to re-grade), an administrator, and the
two sites registered with their tokens, and site A's paper request for a session three
days on (DEMO-02), for the demo's user to approve. Everything is kept between runs: a site whose
sitting was played already is left as it is; the centre's password is reused.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import demo as site_demo
from cbt_server.accounts import create_user, hash_password, verify_password
from cbt_server.auth.policy import Role
from cbt_server.auth.principal import Principal
from cbt_server.centre import papers, sites
from cbt_server.centre.models import CentrePaperRequest, CentreSite
from cbt_server.centre.regrade import CHINA
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.migrate import migrated
from cbt_server.db.types import utcnow
from cbt_server.enrolment.sample import every_sample, store_samples
from cbt_server.item_store import load_items
from cbt_server.paperwork.signoff import sign_summary
from cbt_server.results.hooks import install_result_signing
from cbt_server.results.signing import load_or_create_key
from cbt_server.runtime.grading_service import grade_many
from cbt_server.runtime.papers import Layouts
from cbt_server.settings import Settings, load_settings
from item_bank.model import Item

CENTRE_ADMIN = "centre-admin"
DEMO_REQUEST = "DEMO-02"


@dataclass(frozen=True, slots=True)
class DemoSite:
    code: str
    name: str
    port: int
    sitting: range  # the seats that sit the exam here
    sign: bool  # the examiner leader signs at once


def site_settings(root: Path, site: DemoSite, host: str) -> Settings:
    return load_settings({}, data_dir=str(root / site.code), host=host, port=site.port)


def _answer(item: Item, seat: int, skill: int) -> list[str]:
    """A made-up answer: right for about `skill` % of the items, by a fixed hash."""
    roll = hashlib.sha256(f"{seat}:{item.id}".encode()).digest()[0] * 100 // 256
    if roll < skill:
        return sorted(item.key)
    if item.type == "true_false":
        return ["false" if "true" in item.key else "true"]
    wrong = [option for option in item.option_ids if option not in item.key]
    return [wrong[0]] if wrong else []


async def _sit(db: AsyncSession, cipher: ContentCipher, site: DemoSite) -> int:
    exam = await db.scalar(
        select(models.ExamSession).where(models.ExamSession.code == site_demo.SESSION_CODE)
    )
    assert exam is not None  # prepare_demo made it
    if await db.scalar(select(models.Result.id).where(models.Result.session_id == exam.id)):
        return 0  # played on an earlier run
    now = utcnow()
    exam.state, exam.started_at, exam.ended_at = "ended", now, now
    people = list(
        await db.scalars(select(models.Candidate).where(models.Candidate.session_id == exam.id))
    )
    sitting = [c for c in people if c.seat in site.sitting]
    papers = dict(
        (
            await db.execute(
                select(models.Paper.candidate_id, models.Paper.id).where(
                    models.Paper.candidate_id.in_([c.id for c in sitting])
                )
            )
        ).all()
    )
    layouts = await Layouts().load(db, list(papers.values()))
    item_ids = sorted({i for paper in layouts.values() for i in paper.item_ids})
    items = await load_items(db, cipher, item_ids)
    for candidate in sitting:
        skill = 40 + (candidate.seat * 37) % 55  # some fail, most pass
        for seq, item_id in enumerate(layouts[papers[candidate.id]].item_ids, start=1):
            answer = _answer(items[item_id], candidate.seat, skill)
            db.add(
                models.Answer(candidate_id=candidate.id, item_id=item_id, response=answer, seq=seq)
            )
        candidate.state, candidate.started_at = "submitted", now
        candidate.submitted_at, candidate.submit_reason = now, "candidate"
    for candidate in people:
        if candidate.seat not in site.sitting:
            candidate.state = "absent"
    await db.flush()
    await grade_many(db, cipher, sitting, now, [])
    if site.sign:
        leader = await db.scalar(
            select(models.User).where(models.User.username == site_demo.PROCTOR)
        )
        assert leader is not None
        principal = Principal(
            leader.id, leader.username, leader.display_name, Role.PROCTOR, "demo", ""
        )
        await sign_summary(db, exam, principal, now)
    return len(sitting)


async def play_sitting(settings: Settings, site: DemoSite) -> int:
    """Play the site's sitting (see the module docstring); how many sat (0 if done)."""
    cipher = ContentCipher.from_data_dir(settings.data_path)
    async with migrated(settings) as sessionmaker:
        install_result_signing(sessionmaker, load_or_create_key(settings.data_path))
        async with sessionmaker.begin() as db:
            return await _sit(db, cipher, site)


async def prepare_centre(
    settings: Settings, site_urls: dict[str, tuple[str, str, str]], previous: str | None
) -> str:
    """The centre's bank, administrator (password returned) and registered sites.

    `site_urls`: code -> (name, base URL, the site's results token)."""
    cipher = ContentCipher.from_data_dir(settings.data_path)
    async with migrated(settings) as sessionmaker, sessionmaker.begin() as db:
        await store_samples(db, cipher, *every_sample())
        user = await db.scalar(select(models.User).where(models.User.username == CENTRE_ADMIN))
        if user is None:
            password = previous or secrets.token_urlsafe(12)
            await create_user(db, CENTRE_ADMIN, password, "centre_admin", "演示中心管理员")
        elif previous and verify_password(user.password_hash, previous):
            password = previous
        else:
            password = secrets.token_urlsafe(12)
            user.password_hash = hash_password(password)
        for code, (name, url, token) in site_urls.items():
            site = await db.scalar(select(CentreSite).where(CentreSite.code == code))
            if site is None:
                await sites.add_site(db, code, url, token, name=name, actor="demo")
            else:
                site.url, site.pull_token = url, token
        await _demo_request(db)
    return password


async def _demo_request(db: AsyncSession) -> None:
    """Site A's paper request for DEMO-02 three days on, left for the demo's user to
    approve on /centre/requests (made once; it shows in the sessions of the week)."""
    site = await sites.get_site(db, "site-a")
    if await db.scalar(select(CentrePaperRequest.id).where(CentrePaperRequest.site_id == site.id)):
        return
    now = utcnow()
    day = now.astimezone(CHINA).date() + timedelta(days=3)
    form = papers.PaperRequestForm("electrician", 3, DEMO_REQUEST, day, 30)
    await papers.request_papers(db, site, form, now)


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}

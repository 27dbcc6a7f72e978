"""The examiner and supervisor registers on the centre's pages: read-only, each person
with their home site, failed duty checks (dismissed at two) and assignments; Chinese
first; for centre staff only."""

from __future__ import annotations

from datetime import date
from typing import Any

from cbt_server.centre import examiners
from tests.auth.factories import new_client, try_login
from tests.centre.conftest import PASSWORD, Centre


async def test_the_registers_list_people_and_their_assignments(
    centre: Centre, make_site: Any
) -> None:
    site_a, site_b = await make_site("site-a"), await make_site("site-b")
    await centre.add_site(site_a)
    await centre.add_site(site_b)
    async with centre.sessionmaker.begin() as db:
        await examiners.add_examiner(db, "E-0107", "王考评", "examiner", "site-b", actor="t")
        await examiners.add_examiner(db, "E-0200", "钱考评", "examiner", "site-a", actor="t")
        await examiners.add_examiner(db, "Q-0003", "赵督导", "supervisor", None, actor="t")
        await examiners.assign(db, "E-0107", "site-a", "A1", date(2026, 12, 12), leader=True,
                               actor="t")  # fmt: skip
        await examiners.assign(db, "Q-0003", "site-b", "B1", date(2026, 12, 13), actor="t")
        await examiners.record_failed_check(db, "E-0200", "迟到", actor="t")
        await examiners.record_failed_check(db, "E-0200", "缺席", actor="t")

    status, body = await centre.get("/centre/api/examiners")
    assert status == 200
    by_code = {p["code"]: p for p in body["examiners"]}
    assert set(by_code) == {"E-0107", "E-0200"}
    assert by_code["E-0107"]["home_site"] == "site-b" and not by_code["E-0107"]["dismissed"]
    assert by_code["E-0107"]["assignments"] == [
        {"site": "site-a", "session": "A1", "exam_date": "2026-12-12", "leader": True}
    ]
    assert by_code["E-0200"]["dismissed"] and by_code["E-0200"]["assignments"] == []
    (supervisor,) = body["supervisors"]
    assert supervisor["code"] == "Q-0003" and supervisor["home_site"] is None
    assert supervisor["assignments"][0]["session"] == "B1"

    # The page, for a viewer: Chinese first, every person and assignment, no form.
    async with new_client() as http:
        assert (await try_login(http, centre.base_url, "viewer", PASSWORD)).status == 303
        async with http.get(centre.base_url + "/centre/examiners") as resp:
            assert resp.status == 200
            page = await resp.text()
    assert page.index("考评员与督导员名册") < page.index("Examiner and supervisor registers")
    examiners_part, supervisors_part = page.split('data-register="supervisors"')
    assert 'data-person="E-0107"' in examiners_part and "王考评" in examiners_part
    assert 'data-assignment="site-a/A1"' in examiners_part and "考评组长" in examiners_part
    assert 'data-person="Q-0003"' in supervisors_part and "赵督导" in supervisors_part
    assert page.count("data-dismissed") == 1 and "<form" not in page.split("<main")[-1]
    assert 'href="/centre/examiners"' in page

    # Not signed in: the page sends to sign-in, the JSON is 401.
    async with new_client() as http:
        async with http.get(centre.base_url + "/centre/examiners", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"].startswith("/staff/login")
        async with http.get(centre.base_url + "/centre/api/examiners") as r:
            assert r.status == 401

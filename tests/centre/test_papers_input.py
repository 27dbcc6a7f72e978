"""Bad input to papers out, assignments and readiness, without servers: each refused with
the field (or row) named."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from cbt_server.centre.papers import exam_window, parse_request
from cbt_server.centre.request_roster import request_roster
from cbt_server.centre.site_staff import parse_assignments
from cbt_server.centre.week import parse_readiness
from cbt_server.enrolment.roster_file import RosterRejected
from cbt_server.errors import InvalidInput

GOOD: dict[str, Any] = {
    "occupation": "electrician",
    "level": 3,
    "session": "S-1",
    "exam_date": "2026-12-11",
    "candidates": 2,
}
WANG = {"id_number": "11010519491231002X", "name": "王一", "resit": True}


def test_a_good_request_parses_with_its_roster() -> None:
    form = parse_request({**GOOD, "roster": [WANG]})
    assert form.exam_date == date(2026, 12, 11) and form.roster[0].resit


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"occupation": "pilot"}, "occupation"),
        ({"level": True}, "level"),
        ({"level": "3"}, "level"),
        ({"session": ""}, "session"),
        ({"exam_date": "11/12/2026"}, "exam_date"),
        ({"candidates": 0}, "candidates"),
        (
            {"candidates": 1, "roster": [WANG, {**WANG, "id_number": "110105194912310038"}]},
            "roster",
        ),
        ({"roster": [{**WANG, "id_number": "110105194912310021"}]}, "roster row 1: id_number"),
        ({"roster": [WANG, WANG]}, "roster row 2: id_number 11010519491231002X"),
        ({"roster": [{**WANG, "resit": "yes"}]}, "roster row 1: resit"),
        ({"roster": [{**WANG, "name": ""}]}, "roster row 1: name"),
        ({"roster": {"a": 1}}, "roster"),
    ],
)
def test_bad_requests_name_the_field(change: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInput, match=named):
        parse_request({**GOOD, **change})
    with pytest.raises(InvalidInput, match="JSON object"):
        parse_request([GOOD])


def test_the_window_is_the_exam_day_in_china() -> None:
    start, end = exam_window(date(2026, 12, 11))
    assert start.astimezone(UTC) == datetime(2026, 12, 10, 16, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 86400


HEADER = "准考证号,身份证号,姓名,职业,等级,场次,座位号"


def test_the_request_roster_takes_its_session_and_the_resit_column() -> None:
    data = (
        f"{HEADER},补考\n"
        "A1,11010519491231002X,王一,electrician,3,S-1,1,是\n"
        "A2,110105194912310038,王二,electrician,3,S-1,2,\n"
        "B1,110101199001011237,李三,childcare,4,S-2,1,否\n"
    ).encode()
    rows = request_roster(data, "r.csv", "S-1", "electrician", 3)
    assert [(r["name"], r["resit"]) for r in rows] == [("王一", True), ("王二", False)]
    without = f"{HEADER}\nA1,11010519491231002X,王一,electrician,3,S-1,1\n".encode()
    assert request_roster(without, "r.csv", "S-1", "electrician", 3)[0]["resit"] is False
    with pytest.raises(RosterRejected, match="childcare level 4, not electrician 3"):
        request_roster(data, "r.csv", "S-2", "electrician", 3)
    with pytest.raises(RosterRejected, match="no candidate of session 'S-9'"):
        request_roster(data, "r.csv", "S-9", "electrician", 3)


def test_bad_assignments_and_verdicts_are_named() -> None:
    with pytest.raises(InvalidInput, match="no list of assignments"):
        parse_assignments({"site": "a"})
    with pytest.raises(InvalidInput, match="assignment 1: no session"):
        parse_assignments({"assignments": [{"code": "E", "name": "n", "role": "proctor"}]})
    entry = {"code": "E", "name": "n", "role": "admin", "session": "S", "exam_date": "x"}
    with pytest.raises(InvalidInput, match="assignment 1: role 'admin'"):
        parse_assignments({"assignments": [{**entry, "leader": False}]})
    with pytest.raises(InvalidInput, match="readiness: reasons"):
        parse_readiness({"ready": True, "reasons": "none"})

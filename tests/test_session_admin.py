"""`cbt-server session create|list`: an administrator sets up a session, then imports its roster."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cbt_server.cli import main
from cbt_server.idcard import make_number

SAMPLES = Path(__file__).resolve().parents[1] / "item_bank" / "samples"


def cbt(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """A data dir with the childcare bank and blueprint imported."""
    base = ("--data-dir", str(tmp_path / "var"))
    code, _, err = cbt(capsys, *base, "item-bank", "import", str(SAMPLES / "childcare-4.yaml"))
    assert code == 0, err
    return base


def test_create_list_and_roster(
    site: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import date

    # Items are in, the blueprint not yet: the session cannot be created.
    code, _, err = cbt(
        capsys,
        *site,
        "session",
        "create",
        "--code",
        "YY4-01",
        "--blueprint",
        "childcare-4-standard",
        "--room",
        "R2",
        "--seats",
        "40",
    )
    assert code == 1 and "no blueprint 'childcare-4-standard'" in err

    bad = tmp_path / "bad.yaml"
    bad.write_text("format: cbt-blueprint/1\nid: x\n", encoding="utf-8")
    good = SAMPLES / "blueprints" / "childcare-4-standard.yaml"
    code, _, err = cbt(capsys, *site, "blueprint", "import", str(good), str(bad))
    assert code == 1 and "nothing imported" in err and "bad.yaml" in err
    code, out, err = cbt(capsys, *site, "blueprint", "import", str(good))
    assert code == 0, err
    assert "childcare-4-standard: 100 items" in out
    code, out, err = cbt(
        capsys,
        *site,
        "session",
        "create",
        "--code",
        "YY4-01",
        "--blueprint",
        "childcare-4-standard",
        "--room",
        "R2",
        "--seats",
        "40",
        "--scheduled-at",
        "2026-12-05T09:00+0800",
        "--show-scores",
        "--mode",
        "rehearsal",  # a bank file's blueprint: a formal session needs a sealed package
    )
    assert code == 0, err
    assert "90 minutes" in out
    code, _, err = cbt(
        capsys,
        *site,
        "session",
        "create",
        "--code",
        "YY4-01",
        "--blueprint",
        "childcare-4-standard",
        "--room",
        "R2",
    )
    assert code == 1 and "exists already" in err
    code, _, err = cbt(
        capsys,
        *site,
        "session",
        "create",
        "--code",
        "YY4-02",
        "--blueprint",
        "childcare-4-standard",
        "--room",
        "R-new",
    )
    assert code == 1 and "give its number of seats" in err
    code, _, err = cbt(
        capsys,
        *site,
        "session",
        "create",
        "--code",
        "YY4-03",
        "--blueprint",
        "childcare-4-standard",
        "--room",
        "R2",
        "--seats",
        "41",
    )
    assert code == 1 and "40 seats" in err
    # The room's seat plan: it must hold every seat; given, it is the room's from then on.
    plan = ("session", "create", "--blueprint", "childcare-4-standard", "--room", "R2", "--mode")
    plan = (*plan, "rehearsal")
    code, _, err = cbt(capsys, *site, *plan, "--code", "YY4-04", "--rows", "4", "--cols", "8")
    assert code == 1 and "4×8 places cannot hold the room's 40 seats" in err
    code, _, err = cbt(capsys, *site, *plan, "--code", "YY4-04", "--rows", "4")
    assert code == 1 and "give both --rows and --cols" in err
    code, _, err = cbt(capsys, *site, *plan, "--code", "YY4-04", "--rows", "5", "--cols", "8")
    assert code == 0, err

    roster = tmp_path / "roster.csv"
    lines = ["准考证号,身份证号,姓名,职业,等级,场次,座位号"]
    for seat in range(1, 4):
        number = make_number("320104", date(1990, 5, seat), seat)
        lines.append(f"YY{seat:04d},{number},考生{seat},育婴员,中级,YY4-01,{seat}")
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = cbt(capsys, *site, "roster", "import", str(roster))
    assert code == 0, err
    assert "3 paper(s) assembled" in out

    code, out, _ = cbt(capsys, *site, "session", "list", "--json")
    rows = {row["code"]: row for row in json.loads(out)}
    assert rows["YY4-01"]["candidates"] == 3
    assert rows["YY4-01"]["seats"] == 40 and rows["YY4-01"]["show_scores"] is True
    assert (rows["YY4-04"]["rows"], rows["YY4-04"]["cols"]) == (5, 8)  # the room's, shared
    assert (rows["YY4-01"]["rows"], rows["YY4-01"]["cols"]) == (5, 8)
    assert list(rows) == ["YY4-01", "YY4-04"]


def test_bad_scheduled_time_is_a_usage_error(
    site: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cbt(
        capsys,
        *site,
        "session",
        "create",
        "--code",
        "X",
        "--blueprint",
        "b",
        "--room",
        "R",
        "--scheduled-at",
        "tomorrow",
    )
    assert code == 2 and "--scheduled-at" in err


def test_the_rules_of_a_sitting_are_set_at_create(
    site: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    good = SAMPLES / "blueprints" / "childcare-4-standard.yaml"
    assert cbt(capsys, *site, "blueprint", "import", str(good))[0] == 0
    create = ("session", "create", "--blueprint", "childcare-4-standard", "--room", "R3")
    create = (*create, "--mode", "rehearsal")
    code, _, err = cbt(
        capsys, *site, *create, "--code", "BAD", "--seats", "30",
        "--earliest-submit-minutes", "90",
    )  # fmt: skip
    assert code == 1 and "earliest hand-in (90 minutes) must fall before the end" in err
    code, _, err = cbt(
        capsys, *site, *create, "--code", "R-01", "--seats", "30", "--late-minutes", "15",
        "--earliest-submit-minutes", "30", "--calculator",
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = cbt(capsys, *site, "session", "list", "--json")
    (row,) = json.loads(out)
    assert (row["late_minutes"], row["min_submit_minutes"], row["calculator"]) == (15, 30, True)
    code, _, err = cbt(capsys, *site, *create, "--code", "X", "--late-minutes", "-1")
    assert code == 2 and "--late-minutes" in err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--code", "=cmd|' /C calc'!A0", 'session code: "=cmd|'),
        ("--code", "+YY4-01", "session code: '+YY4-01' starts with '+'"),
        ("--code", "-YY4-01", "starts with '-'"),
        ("--code", "@YY4", "starts with '@'"),
        ("--code", "YY4\x0701", "session code: holds the control character U+0007"),
        ("--code", "x" * 65, "session code: longer than 64 characters"),
        ("--room", "=R2", "room code: '=R2' starts with '='"),
        ("--room", "R\x1b2", "room code: holds the control character U+001B"),
        ("--room-name", "二楼\n机房", "room name: holds a line break"),
        ("--title", "考试\r\n第二场", "title: holds a line break"),
        ("--site", "考点\u202e", "site: holds the control character U+202E"),
    ],
)
def test_codes_and_names_follow_the_rosters_rules(
    site: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    message: str,
) -> None:
    good = SAMPLES / "blueprints" / "childcare-4-standard.yaml"
    assert cbt(capsys, *site, "blueprint", "import", str(good))[0] == 0
    fields = {"--code": "YY4-01", "--room": "R2", "--room-name": "", "--title": "", "--site": ""}
    fields[option] = value
    args = [a for k, v in fields.items() if v for a in (k, v)]
    code, _, err = cbt(
        capsys,
        *site,
        "session",
        "create",
        *args,
        "--blueprint",
        "childcare-4-standard",
        "--mode",
        "rehearsal",
        "--seats",
        "40",
    )
    assert code == 1 and message in err, err
    code, out, _ = cbt(capsys, *site, "session", "list", "--json")
    assert code == 0 and json.loads(out) == []


def test_a_practice_session_is_created_open_with_a_code(
    site: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import date

    good = SAMPLES / "blueprints" / "childcare-4-standard.yaml"
    assert cbt(capsys, *site, "blueprint", "import", str(good))[0] == 0
    create = ("session", "create", "--blueprint", "childcare-4-standard", "--room", "P")
    practice = (*create, "--seats", "30", "--mode", "practice")
    code, out, err = cbt(capsys, *site, *practice, "--code", "P-01", "--feedback", "item")
    assert code == 0, err
    printed = re.search(r"practice code 练习码: ([2-9A-Z]{8})$", out.strip())
    assert printed and "created and open (90 minutes, feedback item)" in out
    code, out, err = cbt(capsys, *site, *practice, "--code", "P-02", "--untimed",
                         "--practice-code", "ab-cd-ef-12")  # fmt: skip
    assert code == 0 and "(untimed, feedback end); practice code 练习码: ab-cd-ef-12" in out
    code, _, err = cbt(capsys, *site, *practice, "--code", "P-03", "--practice-code", "ABCDEF12")
    assert code == 1 and "session P-02 has this practice code already" in err
    code, _, err = cbt(capsys, *site, *practice, "--code", "P-03", "--practice-code", "abc")
    assert code == 1 and "practice code must be 6..32 letters or digits" in err
    code, _, err = cbt(capsys, *site, *practice, "--code", "P-03", "--late-minutes", "15")
    assert code == 1 and "a practice has no late admission" in err
    code, _, err = cbt(capsys, *site, *practice, "--code", "P-03", "--untimed",
                       "--duration", "30")  # fmt: skip
    assert code == 1 and "an untimed practice takes no --duration" in err
    code, _, err = cbt(capsys, *site, *create, "--code", "F-9", "--feedback", "item")
    assert code == 1 and "for practice only" in err
    code, out, _ = cbt(capsys, *site, "session", "list", "--json")
    rows = {row["code"]: row for row in json.loads(out)}
    assert set(rows) == {"P-01", "P-02"}
    assert (rows["P-01"]["mode"], rows["P-01"]["state"], rows["P-01"]["feedback"]) == (
        "practice", "started", "item",
    )  # fmt: skip
    assert rows["P-02"]["untimed"] and rows["P-02"]["duration_minutes"] == 24 * 60
    # No code: a practice of rostered candidates only; nothing printed.
    code, out, _ = cbt(capsys, *site, *practice, "--code", "P-04", "--no-practice-code")
    assert code == 0 and "练习码" not in out
    # A lost code is replaced; the old one stops working (only the hash is kept).
    code, out, err = cbt(capsys, *site, "session", "practice-code", "P-01")
    renewed = re.search(r"new practice code 练习码: ([2-9A-Z]{8})$", out.strip())
    assert code == 0 and renewed and renewed.group(1) != printed.group(1), err
    code, _, err = cbt(capsys, *site, "session", "practice-code", "P-01", "--practice-code",
                       "ABCDEF12")  # fmt: skip
    assert code == 1 and "session P-02 has this practice code already" in err
    code, _, err = cbt(capsys, *site, "session", "practice-code", "F-9")
    assert code == 1 and "no session 'F-9'" in err
    # It is open (started) from its creation, and still takes a roster.
    roster = tmp_path / "practice.csv"
    number = make_number("320104", date(1990, 6, 1), 9)
    roster.write_text(
        f"准考证号,身份证号,姓名,职业,等级,场次,座位号\nPP0001,{number},练习者,育婴员,中级,P-04,1\n",
        encoding="utf-8",
    )
    code, out, err = cbt(capsys, *site, "roster", "import", str(roster))
    assert code == 0 and "1 paper(s) assembled" in out, err

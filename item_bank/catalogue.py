"""The occupations (职业) and levels (等级) this system knows.

Codes are stable identifiers used in files and the database; names are what people
read and what rosters from district centres contain.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Occupation:
    code: str
    name_zh: str
    name_en: str


OCCUPATIONS: tuple[Occupation, ...] = (
    Occupation("electrician", "电工", "Electrician"),
    Occupation("maintenance_electrician", "维修电工", "Maintenance electrician"),
    Occupation("lathe", "车工", "Lathe operator"),
    Occupation("cnc_lathe", "数控车工", "CNC lathe operator"),
    Occupation("milling", "铣工", "Milling machine operator"),
    Occupation("cnc_milling", "数控铣工", "CNC milling machine operator"),
    Occupation("welder", "焊工", "Welder"),
    Occupation("auto_mechanic", "汽车维修工", "Auto mechanic"),
    Occupation("childcare", "育婴员", "Childcare worker"),
    Occupation("optometrist", "眼镜验光员", "Optometrist"),
)

# National vocational qualification levels: 5 is the entry level, 1 the highest.
LEVELS: dict[int, tuple[str, str]] = {
    5: ("初级", "Level 5 (junior)"),
    4: ("中级", "Level 4 (intermediate)"),
    3: ("高级", "Level 3 (senior)"),
    2: ("技师", "Level 2 (technician)"),
    1: ("高级技师", "Level 1 (senior technician)"),
}

_BY_CODE = {o.code: o for o in OCCUPATIONS}
_BY_NAME = {o.name_zh: o for o in OCCUPATIONS}


class UnknownOccupation(ValueError):
    """Raised for an occupation that is neither a known code nor a known Chinese name."""


class UnknownLevel(ValueError):
    """Raised for a level that is neither 1..5 nor a known Chinese level name."""


def occupation(value: str) -> Occupation:
    """Look up an occupation by code ("electrician") or Chinese name ("电工")."""
    text = value.strip()
    found = _BY_CODE.get(text) or _BY_NAME.get(text)
    if found is None:
        raise UnknownOccupation(f"unknown occupation {value!r}")
    return found


def level(value: str | int) -> int:
    """Parse a level given as 1..5, "3", "三级", or a Chinese name such as "高级"."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value in LEVELS:
            return value
        raise UnknownLevel(f"unknown level {value!r}")
    text = str(value).strip()
    for number, (name_zh, _) in LEVELS.items():
        if text == name_zh:
            return number
    digits = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
    if text.endswith("级") and text[:-1] in digits:
        return digits[text[:-1]]
    if text.isdigit() and int(text) in LEVELS:
        return int(text)
    raise UnknownLevel(f"unknown level {value!r}")


def level_name(number: int) -> str:
    """The Chinese name of a level, e.g. 3 -> "高级"."""
    return LEVELS[number][0]

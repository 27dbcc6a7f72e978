"""Exam modes (考试模式) as pure rules.

- formal (正式): papers only from a sealed package; scheduled and started inside the
  package's validity window; a package's papers serve one session, once. Only formal
  results reach the centre's feed and the signed score summary.
- rehearsal (试考): a short paper from any bank file, never the formal package; marked
  试考 everywhere; its results never leave the site.
- practice (练习): self-service practice on a paper from a bank file (never the formal
  package); right/wrong and the key shown after each item or after handing in
  (`exam/practice.py`); marked 练习 everywhere; its results never leave the site.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from cbt_server.errors import InvalidInput, OutsideWindow


class Mode(StrEnum):
    FORMAL = "formal"
    REHEARSAL = "rehearsal"
    PRACTICE = "practice"


FORMAL = Mode.FORMAL.value
LABELS = {Mode.FORMAL: "正式", Mode.REHEARSAL: "试考", Mode.PRACTICE: "练习"}


def mode_of(value: str) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise InvalidInput(f"mode must be formal, rehearsal or practice, not {value!r}") from None


def mode_label(mode: str) -> str:
    """The Chinese name of a mode (正式, 试考, 练习), or the value itself if unknown."""
    try:
        return LABELS[Mode(mode)]
    except ValueError:
        return mode


def publishes(mode: str) -> bool:
    """Whether results of a session in this mode go to the centre and are signed."""
    return mode == FORMAL


def check_source(mode: Mode, package_id: str | None, blueprint_id: str) -> None:
    """A formal session needs a packaged blueprint; a rehearsal or practice must not use one."""
    if mode is Mode.FORMAL and package_id is None:
        raise InvalidInput(
            f"blueprint {blueprint_id!r} was imported from a file: a formal session takes its "
            "paper only from a sealed package (`cbt-server package import`); for a rehearsal "
            "use --mode rehearsal"
        )
    if mode is not Mode.FORMAL and package_id is not None:
        raise InvalidInput(
            f"blueprint {blueprint_id!r} is in the sealed formal package {package_id}: a "
            f"{mode.value} takes a paper from a bank file, never the formal package"
        )


def check_window(
    moment: datetime | None,
    not_before: datetime | None,
    not_after: datetime | None,
    *,
    what: str,
) -> None:
    """Raise `OutsideWindow` when `moment` (the schedule, or now at the start) lies outside
    the package's validity window; a window needs a moment to check."""
    if not_before is None and not_after is None:
        return
    if moment is None:
        raise OutsideWindow(f"the package has a validity window: {what} must be given")
    early = not_before is not None and moment < not_before
    late = not_after is not None and moment > not_after
    if early or late:
        start = not_before.isoformat() if not_before else "…"
        end = not_after.isoformat() if not_after else "…"
        raise OutsideWindow(
            f"试卷包有效期为 {start} 至 {end}，{what}（{moment.isoformat()}）不在有效期内 "
            f"({what} lies outside the package's validity window {start} to {end})"
        )

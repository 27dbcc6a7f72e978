"""The counts and ceilings of sockets not logged in, and the open-file limit, without
sockets."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from cbt_server import runtime
from cbt_server.errors import RateLimited, Unavailable
from cbt_server.runtime import fdlimit
from cbt_server.runtime.admission import Admission


def test_slots_are_counted_per_address_and_in_all_and_released_once() -> None:
    admission = Admission(per_address=2, total=3)
    a1, a2 = admission.admit("a"), admission.admit("a")
    with pytest.raises(RateLimited, match="from a have not logged in"):
        admission.admit("a")
    b1 = admission.admit("b")
    with pytest.raises(Unavailable, match="at most 3"):
        admission.admit("c")
    a1.release()
    a1.release()  # a second release changes nothing
    assert admission.pending == 2 and admission.by_address == {"a": 1, "b": 1}
    admission.admit("c")
    a2.release()
    b1.release()
    assert admission.by_address == {"c": 1} and admission.pending == 1


def test_sockets_not_logged_in_never_take_more_than_half_the_open_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime, "open_file_limit", lambda: 1024)
    admission = runtime.make_admission(per_address=5000, total=2048)
    assert (admission.total, admission.per_address) == (512, 512)
    monkeypatch.setattr(runtime, "open_file_limit", lambda: None)
    assert runtime.make_admission(per_address=10, total=2048).total == 2048


def test_without_the_resource_module_the_limit_is_unknown_and_nothing_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.import_module

    def windows(name: str, package: str | None = None) -> ModuleType:
        if name == "resource":
            raise ModuleNotFoundError("No module named 'resource'")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", windows)
    assert fdlimit.raise_open_file_limit() is None
    assert fdlimit.open_file_limit() is None

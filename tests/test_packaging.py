"""pyproject.toml in the forms setuptools accepts without warnings (issue 19: the first
`make demo` printed about 150 lines of deprecation warnings that looked like errors)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_license_is_an_spdx_string_that_the_build_backend_understands() -> None:
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    project = data["project"]
    # A TOML table (`{text = ...}`) is deprecated since setuptools 77 and warned about
    # at every build step; the SPDX string needs setuptools 77 or later.
    assert isinstance(project["license"], str) and re.fullmatch(
        r"[A-Za-z0-9.+-]+", project["license"]
    )
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))
    [backend] = [r for r in data["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", backend)
    assert minimum and int(minimum.group(1)) >= 77, backend


def test_the_windows_install_does_not_require_uvloop() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    [uvloop] = [d for d in project["dependencies"] if d.startswith("uvloop")]
    assert "sys_platform != 'win32'" in uvloop

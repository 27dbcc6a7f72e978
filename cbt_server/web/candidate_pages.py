"""The candidate's page: `GET /` serves the one page that runs from login to result.

The page is server-rendered in zh-CN from `client_web/i18n/zh-CN.json` (the same strings
its scripts use, so there is one place per language) and then driven by the ES modules
in `client_web/static/candidate/` over the WebSocket `/ws/candidate` (protocol cbt.v1).

The lab PC's seat number reaches the page as `?seat=N` in the start URL the lab
administrator sets once per PC (e.g. the browser's start page http://SERVER:8080/?seat=12);
the page keeps it in localStorage, drops it from the address bar, and sends it in `hello`.
`?seat=` (empty) forgets it. The login screen shows the seat so a wrong one is noticed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

from aiohttp import web

import client_web
from cbt_server.keys import STATIC, STRINGS
from cbt_server.web import static
from cbt_server.web.templates import render

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
WS_PATH = "/ws/candidate"


class StringsError(ValueError):
    """A strings file is missing, not JSON, or not a flat object of strings."""


def strings_dir() -> Path:
    return Path(client_web.__file__).resolve().parent / "i18n"


def load_strings(language: str, folder: Path | None = None) -> dict[str, str]:
    """The strings of one language: a flat JSON object of key -> text."""
    path = (folder or strings_dir()) / f"{language}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StringsError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise StringsError(f"{path}: must be a JSON object of key -> text")
    bad = [key for key, value in data.items() if not isinstance(value, str)]
    if bad:
        raise StringsError(f"{path}: values must be text (see {', '.join(sorted(bad)[:5])})")
    return data


def translator(strings: Mapping[str, str]) -> Callable[[str], str]:
    def t(key: str) -> str:
        try:
            return strings[key]
        except KeyError:
            raise StringsError(f"no string {key!r} in {DEFAULT_LANGUAGE}.json") from None

    return t


async def candidate_page(request: web.Request) -> web.Response:
    files = request.app[STATIC]
    strings: dict[str, str] = request.app[STRINGS]
    response = render(
        request,
        "candidate/page.html",
        {
            "t": translator(strings),
            "lang": DEFAULT_LANGUAGE,
            "ws_path": WS_PATH,
            "strings_urls": {lang: files.url(f"i18n/{lang}.json") for lang in LANGUAGES},
        },
    )
    return static.html_response(request, response)


def setup(app: web.Application) -> None:
    """Serve the candidate page at `/` (needs templates.setup and static.setup first)."""
    app[STRINGS] = load_strings(DEFAULT_LANGUAGE)
    app.router.add_get("/", candidate_page, name="candidate_page")

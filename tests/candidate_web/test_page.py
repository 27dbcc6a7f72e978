"""The candidate page as served: strings in one place per language, no inline script or
style, no markup built from data, and the caching rules of a page with hashed assets."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest

import client_web
from cbt_server.web.candidate_pages import LANGUAGES, StringsError, load_strings
from tests.conftest import LiveServer

CLIENT = Path(client_web.__file__).resolve().parent
TEMPLATES = CLIENT / "templates" / "candidate"
SCRIPTS = CLIENT / "static" / "candidate"

# Keys built at run time from protocol values; each family must be complete.
DYNAMIC_KEYS = [
    *(f"type.{t}" for t in ("single", "multiple", "true_false")),
    *(f"hint.{t}" for t in ("single", "multiple", "true_false")),
    *(f"level.{n}" for n in range(1, 6)),
    *(f"done.reason.{r}" for r in ("candidate", "proctor", "timeout")),
    *(f"instructions.{n}" for n in range(1, 7)),
    "error.login_failed",
    "error.already_logged_in",
    "error.logged_in_elsewhere",
    "error.not_started",
    "error.rate_limited",
]


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        keys.update(re.findall(r"""\bt\('([a-z_.0-9]+)'\)""", text))
        keys.update(re.findall(r'data-i18n(?:-label)?="([a-z_.0-9]+)"', text))
        # Keys handed to the screens' macros (candidate/_macros.html), e.g. ui.choice(...).
        for args in re.findall(r"\{\{\s*ui\.\w+\((.*?)\)\s*\}\}", text):
            keys.update(re.findall(r'"([a-z_]+\.[a-z_.0-9]+)"', args))
    for path in SCRIPTS.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        keys.update(re.findall(r"""\bt\(\s*'([a-z_.0-9]+)'""", text))
        for ternary in re.findall(
            r"""\bt\(\s*[^'`()]+\?\s*'([a-z_.0-9]+)'\s*:\s*'([a-z_.0-9]+)'""", text
        ):
            keys.update(ternary)
    return keys


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_key_and_only_text(language: str) -> None:
    reference = load_strings("zh-CN")
    strings = load_strings(language)
    assert set(strings) == set(reference)
    assert all(value.strip() for value in strings.values())


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_between_languages(language: str) -> None:
    reference = load_strings("zh-CN")
    strings = load_strings(language)
    for key, text in strings.items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(
            re.findall(r"\{(\w+)\}", reference[key])
        ), key


def test_every_key_the_page_uses_exists() -> None:
    strings = load_strings("zh-CN")
    used = used_keys() | set(DYNAMIC_KEYS)
    assert len(used) > 80  # the scan found the page's keys
    missing = sorted(used - set(strings))
    assert missing == []


def test_bad_strings_files_are_refused_with_the_file_named(tmp_path: Path) -> None:
    (tmp_path / "zh-CN.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(StringsError, match="zh-CN.json"):
        load_strings("zh-CN", tmp_path)
    (tmp_path / "en.json").write_text(json.dumps({"a": 1}), encoding="utf-8")
    with pytest.raises(StringsError, match="values must be text"):
        load_strings("en", tmp_path)
    with pytest.raises(StringsError, match="fr.json"):
        load_strings("fr", tmp_path)


def test_scripts_never_build_markup() -> None:
    forbidden = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(")
    offenders = [
        path.name for path in SCRIPTS.glob("*.js") if forbidden.search(path.read_text("utf-8"))
    ]
    assert offenders == []


class _PageScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script = False
        self.style_attrs: list[str] = []
        self.handlers: list[str] = []
        self.style_tags = 0
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named)
            self._in_script = True
        if tag == "style":
            self.style_tags += 1
        for name, value in attrs:
            if name == "style":
                self.style_attrs.append(tag)
            if name.startswith("on"):
                self.handlers.append(f"{tag}.{name}")
            if name in ("src", "href") and value and value.startswith("/static/"):
                self.urls.append(value)
            if name.startswith("data-strings-") and value:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True


async def test_page_has_no_inline_script_or_style_and_its_assets_load(
    live_server: LiveServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(live_server.base_url + "/") as response:
            assert response.status == 200
            html = await response.text()
        scan = _PageScan()
        scan.feed(html)
        assert scan.scripts and all(script.get("src") for script in scan.scripts)
        assert all(script.get("type") == "module" for script in scan.scripts)
        assert not scan.inline_script
        assert scan.style_attrs == [] and scan.style_tags == 0 and scan.handlers == []
        assert len(scan.urls) >= 14  # css, icon, strings, app.js and its modulepreloads
        for url in scan.urls:
            async with http.get(live_server.base_url + url) as asset:
                assert asset.status == 200, url
                assert asset.headers["Cache-Control"].endswith("immutable"), url


async def test_page_revalidates_and_is_gzipped(live_server: LiveServer) -> None:
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        async with http.get(
            live_server.base_url + "/", headers={"Accept-Encoding": "gzip"}
        ) as response:
            assert response.headers["Cache-Control"] == "no-cache"
            assert response.headers["Content-Encoding"] == "gzip"
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            etag = response.headers["ETag"]
            assert etag.startswith('W/"')
        async with http.get(live_server.base_url + "/", headers={"If-None-Match": etag}) as again:
            assert again.status == 304
            assert await again.read() == b""

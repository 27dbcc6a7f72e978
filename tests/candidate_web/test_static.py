"""Static serving: content-hashed names with rewritten imports, gzip, ETag/304, caching."""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cbt_server import keys
from cbt_server.web import static, templates
from cbt_server.web.static import accepts_gzip
from cbt_server.web.static_files import Mount, StaticError, StaticFiles, hashed_path

Client = TestClient[web.Request, web.Application]

APP_JS = (
    "import { a } from './lib/a.js';\n"
    'import "./side.js";\n'
    "export { b } from './lib/b.js';\n"
    "const later = () => import('./lazy.js');\n"
    "const strings = new URL('../i18n/zh.json', import.meta.url);\n"
    "import { missing } from './nowhere.js';\n"
    "// a long enough body that gzip pays off: " + "x" * 400 + "\n"
)


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Mount, ...]:
    static_root = tmp_path / "static"
    i18n_root = tmp_path / "i18n"
    write(static_root, "page/app.js", APP_JS)
    write(static_root, "page/lib/a.js", "import { b } from './b.js';\nexport const a = b;\n")
    write(static_root, "page/lib/b.js", "export const b = 1;\n")
    write(static_root, "page/side.js", "console.log('side');\n")
    write(static_root, "page/lazy.js", "export default 1;\n")
    write(static_root, "page/one.js", "import { two } from './two.js';\nexport const one = 1;\n")
    write(static_root, "page/two.js", "import { one } from './one.js';\nexport const two = 2;\n")
    write(
        static_root,
        "page/style.css",
        "@import 'parts/base.css';\n.logo { background: url(\"img/logo.svg\"); }\n"
        ".x { background: url(data:image/png;base64,AAAA); }\n" + "/* pad */\n" * 40,
    )
    write(static_root, "page/parts/base.css", "body { margin: 0; }\n")
    write(static_root, "page/img/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>\n")
    write(static_root, ".hidden.js", "secret\n")
    write(static_root, "page/tool.py", "print('not served')\n")
    write(i18n_root, "zh.json", '{"hello": "你好"}\n')
    return (Mount("", static_root), Mount("i18n/", i18n_root))


def body_of(files: StaticFiles, name: str) -> str:
    return files.get(name).body.decode("utf-8")


def test_hashed_path_puts_the_hash_before_the_suffix() -> None:
    assert hashed_path("candidate/app.js", "abc") == "candidate/app.abc.js"
    assert hashed_path("a.min.css", "abc") == "a.min.abc.css"
    assert hashed_path("LICENSE", "abc") == "LICENSE.abc"


def test_every_file_has_a_content_hashed_url(tree: tuple[Mount, ...]) -> None:
    files = StaticFiles.build(tree)
    assert ".hidden.js" not in files and "page/tool.py" not in files
    url = files.url("page/lib/b.js")
    assert re.fullmatch(r"/static/page/lib/b\.[0-9a-f]{12}\.js", url)
    assert files.url("i18n/zh.json").startswith("/static/i18n/zh.")
    with pytest.raises(StaticError):
        files.url("page/none.js")


def test_relative_imports_point_at_hashed_names(tree: tuple[Mount, ...]) -> None:
    files = StaticFiles.build(tree)
    app = body_of(files, "page/app.js")
    base = lambda name: files.get(name).hashed_name.rsplit("/", 1)[1]  # noqa: E731
    assert f"from './lib/{base('page/lib/a.js')}'" in app
    assert f'import "./{base("page/side.js")}"' in app
    assert f"export {{ b }} from './lib/{base('page/lib/b.js')}'" in app
    assert f"import('./{base('page/lazy.js')}')" in app
    assert f"new URL('../i18n/{base('i18n/zh.json')}', import.meta.url)" in app
    # A reference to no file of the tree is left as written.
    assert "from './nowhere.js'" in app
    css = body_of(files, "page/style.css")
    assert f"@import 'parts/{base('page/parts/base.css')}'" in css
    assert f'url("img/{base("page/img/logo.svg")}")' in css
    assert "url(data:image/png;base64,AAAA)" in css


def test_missing_reference_is_logged(
    tree: tuple[Mount, ...], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cbt_server.web.static_files"):
        StaticFiles.build(tree)
    assert "./nowhere.js" in caplog.text


def test_a_changed_dependency_changes_every_importer_hash(
    tree: tuple[Mount, ...], tmp_path: Path
) -> None:
    before = StaticFiles.build(tree)
    write(tmp_path / "static", "page/lib/b.js", "export const b = 2;\n")
    after = StaticFiles.build(tree)
    for name in ("page/lib/b.js", "page/lib/a.js", "page/app.js"):
        assert before.url(name) != after.url(name), name
    for name in ("page/side.js", "page/style.css", "page/one.js"):
        assert before.url(name) == after.url(name), name


def test_modules_in_a_cycle_each_have_one_url(tree: tuple[Mount, ...], tmp_path: Path) -> None:
    files = StaticFiles.build(tree)
    one, two = files.get("page/one.js"), files.get("page/two.js")
    assert two.hashed_name.rsplit("/", 1)[1] in one.body.decode()
    assert one.hashed_name.rsplit("/", 1)[1] in two.body.decode()
    write(
        tmp_path / "static",
        "page/two.js",
        "import { one } from './one.js';\nexport const two = 3;\n",
    )
    changed = StaticFiles.build(tree)
    assert changed.url("page/one.js") != files.url("page/one.js")
    assert changed.url("page/two.js") != files.url("page/two.js")


def test_deps_lists_the_whole_import_tree(tree: tuple[Mount, ...]) -> None:
    files = StaticFiles.build(tree)
    deps = files.deps("page/app.js")
    expected = {
        "page/lib/a.js",
        "page/lib/b.js",
        "page/side.js",
        "page/lazy.js",
        "i18n/zh.json",
    }
    assert sorted(deps) == sorted(files.url(name) for name in expected)


def test_the_same_file_from_two_folders_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "a", "i18n/x.json", "{}")
    write(tmp_path / "b", "x.json", "{}")
    with pytest.raises(StaticError, match="i18n/x.json"):
        StaticFiles.build((Mount("", tmp_path / "a"), Mount("i18n/", tmp_path / "b")))


def test_text_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.js").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(StaticError, match="bad.js"):
        StaticFiles.build((Mount("", tmp_path),))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate", True),
        ("GZIP", True),
        ("deflate, br", False),
        ("", False),
        ("gzip;q=0", False),
        ("gzip;q=0.5, identity", True),
        ("*", True),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("x-gzip", True),
        ("gzip;q=bad", False),
    ],
)
def test_accepts_gzip(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected


@pytest.fixture
async def client(
    tree: tuple[Mount, ...],
) -> AsyncIterator[Client]:
    app = web.Application()
    templates.setup(app)
    static.setup(app, tree)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_hashed_url_is_cached_for_a_year_and_gzipped(
    client: Client,
) -> None:
    files = client.app[keys.STATIC]
    url = files.url("page/app.js")
    response = await client.get(url, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Vary"] == "Accept-Encoding"
    raw = await response.read()
    assert gzip.decompress(raw) == files.get("page/app.js").body
    assert len(raw) < len(files.get("page/app.js").body)


async def test_identity_when_gzip_is_not_accepted(
    client: Client,
) -> None:
    files = client.app[keys.STATIC]
    response = await client.get(
        files.url("page/app.js"), headers={"Accept-Encoding": "gzip;q=0"}, auto_decompress=False
    )
    assert "Content-Encoding" not in response.headers
    assert await response.read() == files.get("page/app.js").body
    assert response.headers["ETag"] != files.get("page/app.js").gzip_etag


async def test_etag_revalidation_answers_304(
    client: Client,
) -> None:
    files = client.app[keys.STATIC]
    first = await client.get("/static/page/app.js", headers={"Accept-Encoding": "gzip"})
    assert first.headers["Cache-Control"] == "no-cache"
    etag = first.headers["ETag"]
    assert etag == files.get("page/app.js").gzip_etag
    again = await client.get(
        "/static/page/app.js", headers={"Accept-Encoding": "gzip", "If-None-Match": etag}
    )
    assert again.status == 304
    assert await again.read() == b""
    assert again.headers["ETag"] == etag
    other = await client.get(
        "/static/page/app.js", headers={"Accept-Encoding": "gzip", "If-None-Match": '"nope"'}
    )
    assert other.status == 200


async def test_small_and_binary_files_are_not_gzipped(
    client: Client,
) -> None:
    files = client.app[keys.STATIC]
    response = await client.get(
        files.url("page/lib/b.js"), headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert "Content-Encoding" not in response.headers
    assert "Vary" not in response.headers
    assert files.get("page/lib/b.js").gzip_body is None


async def test_unknown_and_stale_names_are_404(
    client: Client,
) -> None:
    assert (await client.get("/static/page/app.000000000000.js")).status == 404
    assert (await client.get("/static/page/tool.py")).status == 404
    assert (await client.get("/static/../pyproject.toml")).status == 404


async def test_head_has_headers_and_no_body(
    client: Client,
) -> None:
    files = client.app[keys.STATIC]
    response = await client.head(files.url("page/style.css"))
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert await response.read() == b""


def test_templates_get_static_url_and_static_deps(tree: tuple[Mount, ...]) -> None:
    app = web.Application()
    templates.setup(app)
    static.setup(app, tree)
    env = app[keys.TEMPLATES]
    rendered = env.from_string(
        "{{ static_url('page/app.js') }}|{{ static_deps('page/lib/a.js') | join(',') }}"
    ).render()
    files = app[keys.STATIC]
    assert rendered == f"{files.url('page/app.js')}|{files.url('page/lib/b.js')}"


def test_static_setup_needs_templates_first(tree: tuple[Mount, ...]) -> None:
    with pytest.raises(StaticError, match="templates"):
        static.setup(web.Application(), tree)


def test_the_real_tree_has_no_broken_references(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="cbt_server.web.static_files"):
        files = StaticFiles.build()
    assert caplog.text == ""
    assert "candidate/app.js" in files
    assert "i18n/zh-CN.json" in files and "i18n/en.json" in files
    app_js = files.get("candidate/app.js").body.decode()
    plain_imports = re.findall(r"from '(\./[a-z_]+\.js)'", app_js)
    assert plain_imports == [], "every import of app.js should point at a hashed name"

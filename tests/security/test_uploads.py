"""Hostile files through every upload path: refused whole, with a message naming the file
and the reason, no traceback, nothing stored, and without doing the damage first.

Item files (`cbt-server item-bank import`: xlsx, CSV, QTI XML and zip, native YAML) and sealed
packages (`cbt-server package import`) come in through the CLI; staff forms and lab reports
through HTTP. The importers' own tests (tests/item_bank) pin the rules one by one; here
the files go through the command a lab administrator runs, against a real database, and
the damage is measured: memory while refusing a zip bomb, connections to an external DTD.
"""

from __future__ import annotations

import io
import socket
import sqlite3
import threading
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from cbt_server.cli import main
from item_bank.importers.base import MAX_FILE_BYTES
from tests.item_bank.test_xlsx_csv import ROWS, write_xlsx
from tests.security.conftest import SiteData, start_site
from tests.security.http_identities import csrf_of

GIB = 1024**3
MARKER = "SECRET-MARKER-5f2c"
QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"


def cbt(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the `cbt-server` command in this process; its exit code and all it printed."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def items_stored(data_dir: Path) -> int:
    database = data_dir / "cbt.sqlite3"
    if not database.exists():
        return 0
    with sqlite3.connect(database) as db:
        return int(db.execute("SELECT count(*) FROM items").fetchone()[0])


def import_items(
    capsys: pytest.CaptureFixture[str], data_dir: Path, path: Path
) -> tuple[int, str, int]:
    """`cbt-server item-bank import PATH` into the site in `data_dir`: exit code, output, and the
    peak of Python memory allocated meanwhile."""
    tracemalloc.start()
    try:
        code, output = cbt(
            capsys,
            "--data-dir",
            str(data_dir),
            "item-bank",
            "import",
            str(path),
            "--occupation",
            "electrician",
            "--level",
            "3",
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return code, output, peak


def refused(code: int, output: str, path: Path, *reason: str) -> bool:
    return (
        code == 1
        and "Traceback" not in output
        and path.name in output
        and any(word in output for word in reason)
    )


def sparse(path: Path, size: int) -> None:
    """A file of `size` zero bytes that takes no disk space."""
    with path.open("wb") as handle:
        handle.truncate(size)


def zipped(members: dict[str, bytes], level: int = 9) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def qti_item(body: str, doctype: str = "", identifier: str = "q1") -> bytes:
    return (
        f'<?xml version="1.0"?>{doctype}<assessmentItem xmlns="{QTI_NS}" '
        f'identifier="{identifier}" '
        f'title="t" adaptive="false" timeDependent="false">'
        '<responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">'
        "<correctResponse><value>A</value></correctResponse></responseDeclaration>"
        f"<itemBody><p>{body}</p>"
        '<choiceInteraction responseIdentifier="RESPONSE" shuffle="false" maxChoices="1">'
        '<simpleChoice identifier="A">安培</simpleChoice>'
        '<simpleChoice identifier="B">伏特</simpleChoice></choiceInteraction></itemBody>'
        '<responseProcessing template="http://www.imsglobal.org/question/qti_v2p1/rptemplates/'
        'match_correct"/></assessmentItem>'
    ).encode()


def manifest(*hrefs: str) -> bytes:
    resources = "".join(
        f'<resource identifier="r{n}" type="imsqti_item_xmlv2p1" href="{href}"/>'
        for n, href in enumerate(hrefs)
    )
    return (
        '<?xml version="1.0"?><manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" '
        f'identifier="m"><organizations/><resources>{resources}</resources></manifest>'
    ).encode()


LAUGHS = (
    '<!DOCTYPE assessmentItem [<!ENTITY a "lollollollollollollollollollol">'
    + "".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(9))
    + "]>"
)
"""Billion laughs: &j; expands to 10^9 copies of 'lol...' (30 GB)."""


@pytest.fixture(scope="module")
def gigabyte_bomb() -> bytes:
    """A zip of about 4.6 MB holding one 1 GiB member of zeros."""
    buffer = io.BytesIO()
    chunk = bytes(1 << 20)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("imsmanifest.xml", "w", force_zip64=True) as member,
    ):
        for _ in range(1024):
            member.write(chunk)
    return buffer.getvalue()


@pytest.fixture
def dtd_listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP port on 127.0.0.1 that records every connection made to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    seen.append(conn.recv(1024))
                except OSError:
                    seen.append(b"")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join()
    server.close()


# --- zip archives ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".zip", ".xlsx"])
def test_a_gigabyte_zip_bomb_is_refused_without_inflating_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], gigabyte_bomb: bytes, suffix: str
) -> None:
    assert len(gigabyte_bomb) < 6 * 1024 * 1024
    bomb = tmp_path / f"bomb{suffix}"
    bomb.write_bytes(gigabyte_bomb)
    code, output, peak = import_items(capsys, tmp_path / "site", bomb)
    assert refused(code, output, bomb, "zip bomb", "limit"), output
    assert peak < 64 * 1024 * 1024, f"{peak} bytes allocated while refusing a zip bomb"
    assert items_stored(tmp_path / "site") == 0


def test_many_small_members_that_inflate_a_thousandfold_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each member is small enough to escape the per-member ratio check (1 MiB); together
    they inflate to 200 MiB from a few hundred KB: the archive as a whole is judged too.
    (Each item here is valid, padded with a megabyte of spaces that text cleaning drops.)"""
    pad = " " * ((1 << 20) - 4096)  # each member stays under the per-member ratio check
    members = {f"q{n}.xml": qti_item(f"题干{n}{pad}", identifier=f"q{n}") for n in range(200)}
    data = zipped({"imsmanifest.xml": manifest(*members), **members})
    assert len(data) < 600 * 1024
    bomb = tmp_path / "padded.zip"
    bomb.write_bytes(data)
    code, output, peak = import_items(capsys, tmp_path / "site", bomb)
    assert refused(code, output, bomb, "zip bomb"), output
    assert peak < 64 * 1024 * 1024
    assert items_stored(tmp_path / "site") == 0


def test_a_member_that_inflates_beyond_its_declared_size_is_cut_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(zipped({"imsmanifest.xml": bytes(20 << 20)}, level=1))
    declared = (20 << 20).to_bytes(4, "little")
    # Make both headers claim 1000 bytes: the ratio and size checks see nothing wrong.
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    assert data[local + 22 : local + 26] == declared == data[central + 24 : central + 28]
    data[local + 22 : local + 26] = data[central + 24 : central + 28] = (1000).to_bytes(4, "little")
    liar = tmp_path / "liar.zip"
    liar.write_bytes(bytes(data))
    code, output, peak = import_items(capsys, tmp_path / "site", liar)
    assert refused(code, output, liar, "declared size", "cannot be read"), output
    assert peak < 16 * 1024 * 1024


@pytest.mark.parametrize(
    "members",
    [
        {"imsmanifest.xml": manifest("a.xml"), "a.xml": qti_item("x"), "../../evil.xml": b"<x/>"},
        {"imsmanifest.xml": manifest("a.xml"), "a.xml": qti_item("x"), "/etc/cron.d/x": b"x"},
        {"imsmanifest.xml": manifest("a.xml"), "a.xml": qti_item("x"), "C:/boot.ini": b"x"},
        {"imsmanifest.xml": manifest("../../../etc/passwd")},
    ],
    ids=["dotdot-member", "absolute-member", "drive-letter", "manifest-href"],
)
def test_paths_leaving_the_archive_are_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], members: dict[str, bytes]
) -> None:
    package = tmp_path / "deep" / "pkg.zip"
    package.parent.mkdir()
    package.write_bytes(zipped(members))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, output, _ = import_items(capsys, tmp_path / "site", package)
    assert refused(code, output, package, "outside the archive", "drive letter"), output
    assert items_stored(tmp_path / "site") == 0
    after = sorted(p.name for p in tmp_path.rglob("*") if "site" not in p.parts)
    assert after == [name for name in before if name != "site"]
    assert not (tmp_path / "evil.xml").exists()


# --- XML ------------------------------------------------------------------------------


def test_billion_laughs_in_qti_is_refused_without_expanding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    item = tmp_path / "laughs.xml"
    item.write_bytes(qti_item("&j;", LAUGHS))
    code, output, peak = import_items(capsys, tmp_path / "site", item)
    assert refused(code, output, item, "forbidden"), output
    assert peak < 32 * 1024 * 1024
    # Inside a content package too.
    package = tmp_path / "laughs.zip"
    package.write_bytes(zipped({"imsmanifest.xml": manifest("q.xml"), "q.xml": item.read_bytes()}))
    code, output, _ = import_items(capsys, tmp_path / "site", package)
    assert refused(code, output, package, "forbidden"), output
    assert items_stored(tmp_path / "site") == 0


@pytest.mark.parametrize("kind", ["entity", "parameter-entity", "dtd"])
def test_external_entities_and_dtds_are_never_fetched(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    dtd_listener: tuple[int, list[bytes]],
    kind: str,
) -> None:
    port, seen = dtd_listener
    secret = tmp_path / "secret.txt"
    secret.write_text(MARKER)
    doctype = {
        "entity": f'<!DOCTYPE assessmentItem [<!ENTITY s SYSTEM "file://{secret}">]>',
        "parameter-entity": (
            f'<!DOCTYPE assessmentItem [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p">%p;]>'
        ),
        "dtd": f'<!DOCTYPE assessmentItem SYSTEM "http://127.0.0.1:{port}/qti.dtd">',
    }[kind]
    item = tmp_path / f"{kind}.xml"
    item.write_bytes(qti_item("&s;" if kind == "entity" else "题干", doctype))
    code, output, _ = import_items(capsys, tmp_path / "site", item)
    assert refused(code, output, item, "forbidden"), output
    assert MARKER not in output
    assert seen == [], "the importer connected to a URL named in the file"
    assert items_stored(tmp_path / "site") == 0
    database = tmp_path / "site" / "cbt.sqlite3"
    assert not database.exists() or MARKER.encode() not in database.read_bytes()


def test_entities_inside_a_spreadsheet_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", ROWS)
    secret = tmp_path / "secret.txt"
    secret.write_text(MARKER)
    with zipfile.ZipFile(good) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    sheet = "xl/worksheets/sheet1.xml"  # openpyxl writes cells as inline strings
    for name, doctype in (
        ("laughs.xlsx", LAUGHS.replace("assessmentItem", "worksheet")),
        ("xxe.xlsx", f'<!DOCTYPE worksheet [<!ENTITY s SYSTEM "file://{secret}">]>'),
    ):
        entity = "&j;" if "laughs" in name else "&s;"
        poisoned = doctype + parts[sheet].decode().replace("安培", entity)
        book = tmp_path / name
        book.write_bytes(zipped({**parts, sheet: poisoned.encode()}))
        code, output, peak = import_items(capsys, tmp_path / "site", book)
        assert refused(code, output, book, "not a readable", "forbidden"), output
        assert MARKER not in output
        assert peak < 64 * 1024 * 1024
    assert items_stored(tmp_path / "site") == 0


# --- sizes and other formats ----------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".yaml", ".xml", ".zip"])
def test_a_file_over_the_size_limit_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    big = tmp_path / f"big{suffix}"
    sparse(big, MAX_FILE_BYTES + 1)
    code, output, peak = import_items(capsys, tmp_path / "site", big)
    assert refused(code, output, big, "larger than"), output
    assert peak < 16 * 1024 * 1024


def test_a_yaml_alias_bomb_is_refused_quickly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 9):
        previous, name = chr(96 + n), chr(97 + n)
        anchors.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    text = "\n".join(
        ["format: cbt-items/1", "occupation: electrician", "level: 3", "x:", "  " + anchors[0]]
        + ["  " + line for line in anchors[1:]]
        + ["items:", "  - {id: e1, type: single, stem: *i, options: *i, key: *i}"]
    )
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(text)
    code, output, peak = import_items(capsys, tmp_path / "site", bomb)
    assert refused(code, output, bomb, "must be text", "unknown"), output
    assert peak < 64 * 1024 * 1024
    assert len(output) < 20_000


@pytest.mark.parametrize(
    "make",
    [
        lambda path: path.write_bytes(b""),
        lambda path: path.write_bytes(b"CBTPKG" + bytes(40)),
        lambda path: path.write_bytes(bytes(range(256)) * 64),
        lambda path: sparse(path, 200 * 1024 * 1024 + 1),
    ],
    ids=["empty", "header-only", "random", "oversized"],
)
def test_a_package_that_is_not_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Callable[[Path], object]
) -> None:
    keys = tmp_path / "keys"
    assert cbt(capsys, "item-bank", "keygen", "--out", str(keys))[0] == 0
    package = tmp_path / "paper.cbtpkg"
    make(package)
    tracemalloc.start()
    try:
        code, output = cbt(
            capsys,
            "--data-dir",
            str(tmp_path / "site"),
            "package",
            "import",
            str(package),
            "--key",
            str(keys / "package.key"),
            "--verify-key",
            str(keys / "verify-key.pem"),
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 1 and output.startswith("error:") and "Traceback" not in output, output
    assert peak < 64 * 1024 * 1024
    assert items_stored(tmp_path / "site") == 0


# --- HTTP -----------------------------------------------------------------------------


async def test_request_bodies_over_the_limit_are_refused(
    site_template: SiteData, tmp_path: Path
) -> None:
    """Every form the site reads is bounded by max_upload_bytes (here 64 KiB): 413 with
    the error shape, and the form's action is not taken."""
    site, runner = await start_site(tmp_path / "site", site_template, max_upload_bytes=64 * 1024)
    try:
        cookie = site.secrets.admin_cookie
        csrf = await csrf_of(site, cookie)
        huge = "x" * (70 * 1024)
        async with aiohttp.ClientSession() as http:
            for path, form, headers in (
                ("/staff/login", {"username": "admin-sec", "password": huge}, {}),
                ("/staff/users", {"username": "big", "role": "proctor", "password": huge}, {}),
                ("/staff/assignments", {"username": "big", "session": huge}, {}),
                # the CSRF token in the form, not a header: the check reads the body
                ("/staff/logout", {"csrf_token": csrf, "x": huge}, {}),
                ("/paperwork/sessions/S-01/sign", {"csrf_token": csrf, "x": huge}, {}),
            ):
                if not path.startswith(("/staff/logout", "/paperwork")):
                    headers = {"X-CSRF-Token": csrf}
                async with http.post(
                    site.base_url + path,
                    data=form,
                    headers={"Cookie": f"cbt_staff={cookie}", **headers},
                    allow_redirects=False,
                ) as response:
                    body = await response.json()
                    assert response.status == 413, (path, response.status)
                    assert body["error"]["code"] == "too_large"
            # Not signed out, and no user "big" was made.
            async with http.get(
                site.base_url + "/staff/users", headers={"Cookie": f"cbt_staff={cookie}"}
            ) as page:
                assert page.status == 200
                assert ">big<" not in await page.text()
    finally:
        await runner.cleanup()


def test_a_photo_zip_bomb_and_escaping_names_are_refused_without_inflating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cbt-server roster photos`: a 1 GiB member named like a photo and names that leave
    the archive are each named and refused; nothing is inflated (a header that lies about
    its size: tests/runtime/test_photos.py), nothing is written anywhere, and no database
    is touched."""
    buffer = io.BytesIO()
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("T0001.jpg", "w", force_zip64=True) as member:
            for _ in range(1024):
                member.write(chunk)
        archive.writestr("../../evil/T0002.jpg", b"\xff\xd8\xff")
        archive.writestr("C:/T0003.jpg", b"\xff\xd8\xff")
    bomb = tmp_path / "photos.zip"
    bomb.write_bytes(buffer.getvalue())
    site = tmp_path / "site"
    tracemalloc.start()
    try:
        code, output = cbt(capsys, "--data-dir", str(site), "roster", "photos", str(bomb))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 1 and "Traceback" not in output, output
    assert "T0001.jpg: 1073741824 bytes: at most 2 MB" in output
    assert "../../evil/T0002.jpg: unsafe name" in output
    assert "C:/T0003.jpg: unsafe name" in output
    assert "nothing imported" in output
    assert peak < 64 * 1024 * 1024, f"{peak} bytes allocated while refusing a photo bomb"
    assert not (tmp_path / "evil").exists() and not (site / "cbt.sqlite3").exists()

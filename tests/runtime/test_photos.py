"""Candidate photos: a zip checked member by member, re-encoded without metadata, stored
all or nothing, with the roster or by itself."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import func, select

from cbt_server.cli.roster import roster_group
from cbt_server.db import models
from cbt_server.enrolment.photos import PhotosRejected, read_photos
from cbt_server.settings import Settings
from tests.runtime.exam_setup import open_db
from tests.runtime.test_roster import csv_bytes, person, roster_db, row

__all__ = ["roster_db"]  # the fixture, imported for the tests here

GPS_TAG = 0x8825


def jpeg(size: tuple[int, int] = (600, 800), *, gps: bool = False, colour: str = "red") -> bytes:
    image = Image.new("RGB", size, colour)
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    if gps:
        exif[GPS_TAG] = {1: "N", 2: (31.0, 52.0, 3.0)}
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return out.getvalue()


def png(size: tuple[int, int] = (300, 400), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


# --- the zip, without a database ------------------------------------------------------


def test_photos_are_reencoded_small_and_without_metadata() -> None:
    photos = read_photos(
        zipped({"photos/T0003.jpg": jpeg((1200, 1600), gps=True), "t0004.PNG": png()})
    )
    assert [(p.key, p.member) for p in photos] == [
        ("T0003", "photos/T0003.jpg"),
        ("T0004", "t0004.PNG"),
    ]
    first = Image.open(io.BytesIO(photos[0].jpeg))
    assert first.format == "JPEG"
    assert first.size == (360, 480) == (photos[0].width, photos[0].height)
    assert not first.getexif()  # no camera, no GPS position
    assert "exif" not in first.info and "comment" not in first.info
    assert b"CameraMaker" not in photos[0].jpeg and b"secret comment" not in photos[0].jpeg
    assert Image.open(io.BytesIO(photos[1].jpeg)).mode == "RGB"  # transparency flattened


def test_every_bad_member_is_named_with_its_reason() -> None:
    huge_header = png((4001, 10), mode="L")
    members = {
        "../T0001.jpg": jpeg(),
        "/etc/T0002.jpg": jpeg(),
        "T0005.gif": b"GIF89a",
        "T0006.jpg": b"this is not an image",
        "T0007.jpg": jpeg()[:300],  # truncated
        "T0008.png": huge_header,
        "T0009.jpg": jpeg(),
        "T0009.png": png(),
        "__MACOSX/._T0010.jpg": b"resource fork",  # skipped, not a photo
        "T0011.jpg": jpeg(),  # fine
    }
    with pytest.raises(PhotosRejected) as rejected:
        read_photos(zipped(members))
    text = rejected.value.problems
    assert any(t.startswith("../T0001.jpg: unsafe name: points outside") for t in text)
    assert any(t.startswith("/etc/T0002.jpg: unsafe name: points outside") for t in text)
    assert any(t.startswith("T0005.gif: not a .jpg") for t in text)
    assert any(t.startswith("T0006.jpg: not a JPEG or PNG image") for t in text)
    assert any(t.startswith("T0007.jpg: not a readable image") for t in text)
    assert any(t.startswith("T0008.png: 4001×10 pixels: at most 4000×4000") for t in text)
    assert any(t.startswith("T0009.png: a second photo of T0009") for t in text)
    assert len(text) == 7
    assert "nothing imported" in rejected.value.message


def test_size_caps_hold_whatever_the_header_says() -> None:
    # A member of 3 MB of zeros: refused from its header without inflating it.
    with pytest.raises(PhotosRejected) as big:
        read_photos(zipped({"T0001.jpg": bytes(3 * 1024 * 1024)}))
    assert big.value.problems == ["T0001.jpg: 3145728 bytes: at most 2 MB"]
    # A header that lies (says 10 bytes in both the local and the central header):
    # zipfile inflates no more than the header says (our read stops one byte past the
    # cap besides), so the member is refused for its broken checksum, named.
    data = bytearray(zipped({"T0002.jpg": bytes(3 * 1024 * 1024)}))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature) + offset
        data[at : at + 4] = (10).to_bytes(4, "little")
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        assert archive.infolist()[0].file_size == 10
    with pytest.raises(PhotosRejected) as lied:
        read_photos(bytes(data))
    assert lied.value.problems == [
        "T0002.jpg: cannot be read from the zip: Bad CRC-32 for file 'T0002.jpg'"
    ]


def test_not_a_zip_and_an_empty_zip_are_refused() -> None:
    with pytest.raises(PhotosRejected, match="p.zip: not a zip file"):
        read_photos(b"PK nonsense", "p.zip")
    with pytest.raises(PhotosRejected, match="no .jpg, .jpeg or .png photo"):
        read_photos(zipped({"readme/": b""}), "p.zip")


# --- against the database and through the CLI ------------------------------------------


async def _photo_count(settings: Settings) -> int:
    async with open_db(settings) as db:
        return int(await db.scalar(select(func.count()).select_from(models.CandidatePhoto)) or 0)


async def _candidates(settings: Settings) -> int:
    async with open_db(settings) as db:
        return int(await db.scalar(select(func.count()).select_from(models.Candidate)) or 0)


def test_cli_roster_with_photos_is_all_or_nothing(roster_db: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes([row(n) for n in range(3, 6)]))
    bad = tmp_path / "bad.zip"
    # T0003 fine, T0004 by its ID-card number, X9999 names nobody.
    bad.write_bytes(zipped({"T0003.jpg": jpeg(), f"{person(4)}.png": png(), "X9999.jpg": jpeg()}))
    result = runner.invoke(
        roster_group, ["import", str(roster), "--photos", str(bad)], obj=roster_db
    )
    assert result.exit_code != 0
    assert "X9999.jpg: no registered candidate has ticket or ID-card number X9999" in result.output
    assert "nothing imported" in result.output
    assert asyncio.run(_candidates(roster_db)) == 3  # the roster rolled back with the photos
    assert asyncio.run(_photo_count(roster_db)) == 0

    broken = tmp_path / "broken.zip"
    broken.write_bytes(zipped({"T0003.jpg": b"not a jpeg"}))
    result = runner.invoke(
        roster_group, ["import", str(roster), "--photos", str(broken)], obj=roster_db
    )
    assert result.exit_code != 0 and "T0003.jpg: not a JPEG or PNG image" in result.output
    assert asyncio.run(_candidates(roster_db)) == 3

    good = tmp_path / "good.zip"
    good.write_bytes(zipped({"T0003.jpg": jpeg(), f"{person(4)}.png": png()}))
    dry = runner.invoke(
        roster_group, ["import", str(roster), "--photos", str(good), "--dry-run"], obj=roster_db
    )
    assert dry.exit_code == 0, dry.output
    assert "would import 3 candidate(s)" in dry.output
    assert "would store 2 photo(s) for 2 candidate(s) (S-01: 2)" in dry.output
    assert asyncio.run(_candidates(roster_db)) == 3 and asyncio.run(_photo_count(roster_db)) == 0

    result = runner.invoke(
        roster_group, ["import", str(roster), "--photos", str(good)], obj=roster_db
    )
    assert result.exit_code == 0, result.output
    assert "stored 2 photo(s) for 2 candidate(s) (S-01: 2)" in result.output
    assert "S-01: 3 candidate(s) still without a photo" in result.output  # seats 1, 2, 5
    assert asyncio.run(_candidates(roster_db)) == 6
    assert asyncio.run(_photo_count(roster_db)) == 2

    # Later: the missing photo by itself, replacing nothing else.
    late = tmp_path / "late.zip"
    late.write_bytes(zipped({"T0005.jpg": jpeg(colour="blue"), "S-01-0001.jpg": jpeg()}))
    result = runner.invoke(roster_group, ["photos", str(late)], obj=roster_db)
    assert result.exit_code == 0, result.output
    assert "stored 2 photo(s) for 2 candidate(s) (S-01: 2)" in result.output
    assert asyncio.run(_photo_count(roster_db)) == 4

    async def audited() -> list[dict[str, object]]:
        async with open_db(roster_db) as db:
            return [
                e.data
                for e in await db.scalars(
                    select(models.AuditEntry).where(models.AuditEntry.action == "roster.photos")
                )
            ]

    assert asyncio.run(audited()) == [{"photos": 2}, {"photos": 2}]

"""Candidate photos from a zip file: checked, decoded and re-encoded, without I/O.

A lab administrator gets the registration photos as a zip of JPEG or PNG files, each
named by the candidate's admission-ticket number or ID-card number (`A123.jpg`,
`110101199003074514.png`; a folder inside the zip is fine). Every member is refused or
accepted by itself and every refusal names the member and the reason; the caller stores
the photos only when none was refused (all or nothing).

What a hostile zip cannot do here: nothing is extracted to disk (a member's name is only
read for its stem, so `../` or an absolute path is refused, not followed); at most
`MAX_PHOTO_BYTES` of a member are ever inflated whatever its header claims (a zip bomb
costs one cap); an image's pixel size is read from its header and refused above
`MAX_SIDE` before any pixel is decoded (a decompression bomb); only JPEG and PNG are
decoded. Each accepted photo is re-encoded as a fresh JPEG of at most `STORED_SIZE`:
EXIF (GPS position, camera, time), ICC and text chunks do not survive it.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from PIL import Image, ImageOps, UnidentifiedImageError

from cbt_server.errors import InvalidInput, rejection_message
from item_bank.importers.safezip import member_name_problem

MAX_ZIP_BYTES = 512 * 1024 * 1024
MAX_MEMBERS = 5000
MAX_PHOTO_BYTES = 2 * 1024 * 1024
MAX_SIDE = 4000
STORED_SIZE = (360, 480)
"""The largest stored photo (width, height): an ID photo on a seat card or confirm screen."""
JPEG_QUALITY = 85
EXTENSIONS = (".jpg", ".jpeg", ".png")
FORMATS = ("JPEG", "PNG")


class PhotosRejected(InvalidInput):
    """The photo zip was refused; nothing was stored. `problems` names each bad member."""

    code = "photos_rejected"

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(rejection_message("photos", self.problems))


@dataclass(frozen=True, slots=True)
class Photo:
    """One accepted photo: the key it is named by (ticket or ID-card number, upper case),
    the zip member it came from, and the re-encoded JPEG."""

    key: str
    member: str
    jpeg: bytes
    width: int
    height: int


class BadPhoto(ValueError):
    """One member is not an acceptable photo (the message says why)."""


def member_key(name: str) -> str | None:
    """The ticket or ID-card number a member is named by; None for entries that are not
    photos at all (folders, macOS resource forks, hidden files). BadPhoto if unsafe."""
    if name.endswith("/"):
        return None
    unsafe = member_name_problem(name)  # the item importers' rule for member names
    if unsafe:
        raise BadPhoto(f"unsafe name: {unsafe}")
    path = PurePosixPath(name)
    if path.parts[0] == "__MACOSX" or path.name.startswith("."):
        return None
    if path.suffix.lower() not in EXTENSIONS:
        raise BadPhoto("not a .jpg, .jpeg or .png file")
    key = path.stem.strip().upper()
    if not key:
        raise BadPhoto("no ticket or ID-card number in the file name")
    return key


def reencode(data: bytes) -> tuple[bytes, int, int]:
    """Decode a JPEG or PNG within the caps and encode it afresh as a small JPEG."""
    image = _decode(data)
    if image.mode not in ("RGB", "L"):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    image.thumbnail(STORED_SIZE)
    # A new image carries no info dict: no EXIF, ICC profile or comment is written.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), clean.width, clean.height


def _decode(data: bytes) -> Image.Image:
    """The pixels of a JPEG or PNG, upright; its header's size checked before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = opened.size
            if width > MAX_SIDE or height > MAX_SIDE:
                raise BadPhoto(f"{width}×{height} pixels: at most {MAX_SIDE}×{MAX_SIDE}")
            opened.load()
            return ImageOps.exif_transpose(opened)
    except BadPhoto:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise BadPhoto(f"not a JPEG or PNG image ({error.__class__.__name__})") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as error:
        raise BadPhoto(f"not a readable image: {error}") from None


def read_photos(data: bytes, filename: str = "photos.zip") -> list[Photo]:
    """Every photo of a zip, checked and re-encoded; PhotosRejected naming each bad
    member (and nothing returned) if any is bad."""
    if len(data) > MAX_ZIP_BYTES:
        raise PhotosRejected([f"{filename}: larger than {MAX_ZIP_BYTES // 2**20} MB"])
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise PhotosRejected([f"{filename}: not a zip file ({error})"]) from None
    problems: list[str] = []
    photos: list[Photo] = []
    seen: dict[str, str] = {}
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise PhotosRejected([f"{filename}: {len(members)} entries, at most {MAX_MEMBERS}"])
        for info in members:
            try:
                photo = _read_member(archive, info)
            except BadPhoto as error:
                problems.append(f"{info.filename}: {error}")
                continue
            if photo is None:
                continue
            if photo.key in seen:
                problems.append(
                    f"{info.filename}: a second photo of {photo.key} ({seen[photo.key]})"
                )
                continue
            seen[photo.key] = info.filename
            photos.append(photo)
    if not photos and not problems:
        problems.append(f"{filename}: no .jpg, .jpeg or .png photo in it")
    if problems:
        raise PhotosRejected(problems)
    return photos


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Photo | None:
    key = member_key(info.filename)
    if key is None:
        return None
    if info.flag_bits & 0x1:
        raise BadPhoto("encrypted")
    if info.file_size > MAX_PHOTO_BYTES:
        raise BadPhoto(f"{info.file_size} bytes: at most {MAX_PHOTO_BYTES // 2**20} MB")
    try:
        with archive.open(info) as member:
            # The header's size may lie: never inflate more than the cap and one byte.
            data = member.read(MAX_PHOTO_BYTES + 1)
    except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError) as error:
        raise BadPhoto(f"cannot be read from the zip: {error}") from None
    if len(data) > MAX_PHOTO_BYTES:
        raise BadPhoto(f"more than {MAX_PHOTO_BYTES // 2**20} MB")
    jpeg, width, height = reencode(data)
    return Photo(key, info.filename, jpeg, width, height)

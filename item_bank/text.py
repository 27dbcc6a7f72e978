"""Plain-text hygiene for item content that will reach candidates' browsers.

Item text is plain text everywhere in this system (the browser puts it into the page
with `textContent`). Importers pass every stem, option and explanation through
`clean_text` so that control characters, bidirectional overrides (which can make text
read differently from how it is stored) and odd line endings never reach a candidate.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from pathlib import PurePosixPath

# C0/C1 controls except tab and newline, zero-width no-break space (BOM), and the
# bidirectional embedding/override/isolate characters.
_UNWANTED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_LINE_SEPARATORS = str.maketrans({"\u2028": "\n", "\u2029": "\n"})

MAX_STEM_CHARS = 10_000
MAX_OPTION_CHARS = 2_000

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
MAX_IMAGE_BYTES = 2 * 1024 * 1024
_DATA_URI = re.compile(r"^data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=\s]+)$")


def clean_text(value: str) -> str:
    """Normalise text to NFC with `\\n` line ends, no control or bidi-override characters."""
    text = unicodedata.normalize("NFC", value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_LINE_SEPARATORS)
    text = _UNWANTED.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def image_src_problem(src: str) -> str | None:
    """Why `src` is not an acceptable image reference, or None when it is.

    Accepted: a `data:image/(png|jpeg|gif|webp);base64,...` URI of at most 2 MiB, or a
    relative path that stays inside the item's folder (no scheme, no `..`, no leading `/`).
    SVG is refused because it can carry scripts.
    """
    if src.startswith("data:"):
        match = _DATA_URI.match(src)
        if match is None:
            return "data URI must be data:image/(png|jpeg|gif|webp);base64,..."
        try:
            raw = base64.b64decode("".join(match.group(2).split()), validate=True)
        except (binascii.Error, ValueError):
            return "data URI is not valid base64"
        if len(raw) > MAX_IMAGE_BYTES:
            return f"image is larger than {MAX_IMAGE_BYTES} bytes"
        return None
    if not src or len(src) > 500:
        return "image path must be 1..500 characters"
    if "\\" in src or "\x00" in src or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", src):
        return "image must be a relative path or a data:image URI (no URL scheme, no '\\')"
    path = PurePosixPath(src)
    if path.is_absolute() or ".." in path.parts:
        return "image path must stay inside the item's folder (no leading '/', no '..')"
    if path.suffix.lower() not in IMAGE_TYPES:
        return f"image type {path.suffix or '(none)'} not supported (png, jpeg, gif, webp)"
    return None


def data_uri(raw: bytes, suffix: str) -> str:
    """Embed image bytes as a data URI; `suffix` is the file extension (".png")."""
    mime = IMAGE_TYPES[suffix.lower()]
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"

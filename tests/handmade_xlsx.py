"""Workbooks written by hand (zip + XML), to say what openpyxl's writer never would: a
`<dimension>` that lies about the sheet."""

from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape

_PKG = "http://schemas.openxmlformats.org/package/2006"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ML = "application/vnd.openxmlformats-officedocument.spreadsheetml"

_CONTENT_TYPES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="{_PKG}/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="{_ML}.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_ML}.worksheet+xml"/>
</Types>"""
_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{_PKG}/relationships">
<Relationship Id="rId1" Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="{title}" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""
_WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{_PKG}/relationships">
<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""


def _cell(ref: str, value: str | int) -> str:
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'


def one_sheet(dimension: str, cells: dict[str, str | int], title: str = "名单") -> bytes:
    """A workbook of one sheet declaring `dimension` and holding `cells` ({"A1": ...})."""
    rows: dict[int, list[str]] = {}
    for ref, value in cells.items():
        found = re.fullmatch(r"([A-Z]+)(\d+)", ref)
        assert found, ref
        rows.setdefault(int(found.group(2)), []).append(_cell(ref, value))
    body = "".join(f'<row r="{number}">{"".join(rows[number])}</row>' for number in sorted(rows))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{body}</sheetData></worksheet>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(title=escape(title)))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def far_corner(title: str = "名单") -> bytes:
    """About 1 KB declaring the whole sheet, A1:XFD1048576, with one cell at its far
    corner: openpyxl's normal reading pads this to 17 billion cells."""
    return one_sheet("A1:XFD1048576", {"A1": "x", "XFD1048576": "x"}, title)


def with_dimension(xlsx: bytes, ref: str) -> bytes:
    """The same workbook with every sheet's `<dimension>` replaced by `ref` (stale)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
                assert f'ref="{ref}"'.encode() in data, "no <dimension> to replace"
            target.writestr(info, data)
    return out.getvalue()

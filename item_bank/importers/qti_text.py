"""QTI item-body markup to plain text, with images pulled out as references.

Item text reaches candidates' browsers, so no markup survives import: block elements
become line breaks, everything else becomes its text, feedback and rubric blocks (not
meant for candidates during the exam) are dropped, and `img`/`object` images are
collected separately.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from item_bank.importers.xmltree import Element
from item_bank.text import clean_text

BLOCK = frozenset(
    {
        "address", "blockquote", "caption", "col", "colgroup", "dd", "div", "dl", "dt",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "prompt",
        "table", "tbody", "tfoot", "thead", "tr", "ul", "simpleChoice",
    }
)  # fmt: skip
CELL = frozenset({"td", "th"})
# Not shown to a candidate while answering: feedback, scorer rubrics, template-driven
# text; and never script or style content, which is not text at all.
SKIPPED = frozenset(
    {
        "feedbackBlock", "feedbackInline", "modalFeedback", "rubricBlock", "templateBlock",
        "templateInline", "printedVariable", "stylesheet", "apipAccessibility",
        "script", "style",
    }
)  # fmt: skip
_NEWLINE = object()  # a block boundary (never equal to any text)
_CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_SOURCE_WHITESPACE = re.compile(r"[ \t\r\n\f\v]*[\t\r\n\f\v][ \t\r\n\f\v]*")
_CJK_BREAK = re.compile(f"(?<=[{_CJK}])[ \t]*\n[ \t\n]*(?=[{_CJK}])")


@dataclass
class Image:
    src: str
    alt: str
    line: int


@dataclass
class Extract:
    text: str
    images: list[Image] = field(default_factory=list)
    problems: list[tuple[Element, str]] = field(default_factory=list)


def extract(
    element: Element, replace: Callable[[Element], Element | None] | None = None
) -> Extract:
    """Plain text and images below `element`.

    `replace(child)` may substitute a child element before it is walked (returning None
    drops it): the stem uses this to keep only the prompt of the choice interaction.
    """
    parts: list[str | object] = []
    result = Extract(text="")
    _walk(element, parts, result, replace, top=True)
    result.text = _finish(parts)
    return result


def _walk(
    element: Element,
    parts: list[str | object],
    result: Extract,
    replace: Callable[[Element], Element | None] | None,
    *,
    top: bool = False,
) -> None:
    if not top and replace is not None:
        substitute = replace(element)
        if substitute is None:
            return
        element = substitute
    name = element.name
    if name in SKIPPED:
        return
    if name == "br":
        parts.append(_NEWLINE)
        return
    if name == "img":
        result.images.append(
            Image(element.attrs.get("src", ""), element.attrs.get("alt", ""), element.line)
        )
        return
    if name == "object":
        kind = element.attrs.get("type", "")
        if kind.startswith("image/"):
            alt = clean_text(element.text())
            result.images.append(Image(element.attrs.get("data", ""), alt, element.line))
        else:
            result.problems.append(
                (element, f"embedded object of type {kind or '(none)'} is not supported")
            )
        return
    block = name in BLOCK
    if block:
        parts.append(_NEWLINE)
    for child in element.children:
        if isinstance(child, str):
            parts.append(child)
        else:
            _walk(child, parts, result, replace)
    if name in CELL:
        parts.append(" ")
    if block:
        parts.append(_NEWLINE)


def _finish(parts: list[str | object]) -> str:
    # Source line breaks are whitespace; only block boundaries (\x00 here) end lines.
    text = "".join(part if isinstance(part, str) else "\x00" for part in parts)
    text = _CJK_BREAK.sub("", text)
    lines = []
    for raw in text.split("\x00"):
        # Whitespace that came from source line breaks and indentation becomes one space;
        # runs of plain spaces stay, since "（  ）" is the answer blank of a Chinese stem.
        line = _SOURCE_WHITESPACE.sub(" ", raw).strip()
        if line:
            lines.append(line)
    return clean_text("\n".join(lines))

"""A small element tree with line numbers, parsed through defusedxml.

defusedxml refuses entity declarations (billion laughs), external entities and
external DTDs, so untrusted QTI files cannot expand or reach out. Elements keep their
namespace URI, local name, attributes and the line they start on, which the QTI
importer puts into its error messages.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.sax import SAXException
from xml.sax.handler import ContentHandler, feature_namespaces

import defusedxml.sax
from defusedxml import DefusedXmlException

XML_NS = "http://www.w3.org/XML/1998/namespace"


class XmlError(ValueError):
    """Not well-formed or forbidden XML; `line` is where the parser stopped, if known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Element:
    namespace: str
    name: str
    attrs: dict[str, str]
    line: int
    children: list[Element | str] = field(default_factory=list)

    def elements(self, name: str | None = None) -> Iterator[Element]:
        """Direct child elements, optionally only those with local name `name`."""
        for child in self.children:
            if isinstance(child, Element) and (name is None or child.name == name):
                yield child

    def first(self, name: str) -> Element | None:
        return next(self.elements(name), None)

    def iter(self) -> Iterator[Element]:
        """This element and all its descendants, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def text(self) -> str:
        """All character data below this element, concatenated."""
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)


class _Builder(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.root: Element | None = None
        self.stack: list[Element] = []
        self.locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:  # noqa: N802 - SAX API name
        self.locator = locator

    def startElementNS(self, name: tuple[str | None, str], qname: Any, attrs: Any) -> None:  # noqa: N802
        namespace, local = name
        attributes: dict[str, str] = {}
        for (attr_ns, attr_local), value in attrs.items():
            if attr_ns is None:
                attributes[attr_local] = value
            elif attr_ns == XML_NS:
                attributes[f"xml:{attr_local}"] = value
            else:
                attributes[f"{{{attr_ns}}}{attr_local}"] = value
        line = self.locator.getLineNumber() if self.locator is not None else 0
        element = Element(namespace or "", local, attributes, line)
        if self.stack:
            self.stack[-1].children.append(element)
        else:
            self.root = element
        self.stack.append(element)

    def endElementNS(self, name: Any, qname: Any) -> None:  # noqa: N802
        self.stack.pop()

    def characters(self, content: str) -> None:
        if not self.stack:
            return
        children = self.stack[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += content
        else:
            children.append(content)


def parse_xml(data: bytes) -> Element:
    """Parse XML bytes into an `Element` tree; raise `XmlError` for bad or unsafe XML."""
    builder = _Builder()
    parser = defusedxml.sax.make_parser()
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(builder)
    try:
        parser.parse(io.BytesIO(data))
    except DefusedXmlException as exc:
        raise XmlError(f"forbidden XML construct: {type(exc).__name__}") from None
    except SAXException as exc:
        line = None
        getter = getattr(exc, "getLineNumber", None)
        if getter is not None:
            try:
                line = getter()
            except (AttributeError, TypeError):
                line = None
        raise XmlError(f"not well-formed XML: {exc.getMessage()}", line) from None
    if builder.root is None:
        raise XmlError("the document has no root element")
    return builder.root

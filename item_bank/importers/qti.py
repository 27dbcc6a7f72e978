"""Importer for IMS QTI 2.1/2.2 choice items: single files and content packages (zip).

Supported: `assessmentItem` with exactly one `choiceInteraction` whose response is
declared with cardinality single (-> single) or multiple (-> multiple) and baseType
identifier; `correctResponse` (the key); `mapping` with defaultValue, lowerBound,
upperBound and mapEntry (partial credit and negative marks); `shuffle` and `fixed`
choices (-> pinned); images by `img src` or `object data` (embedded when the file is
present). Anything else that changes how an item is answered or scored is rejected by
name: other interactions (textEntryInteraction, …), templates, adaptive items, other
response-processing templates. QTI carries no occupation, level, knowledge point or
difficulty: they come from `Classification` or stay empty.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from item_bank.importers.base import (
    Classification,
    ImportIssue,
    ImportResult,
    import_file,
)
from item_bank.importers.qti_text import Extract, extract
from item_bank.importers.safezip import SafeZip, UnsafeZip, member_name_problem
from item_bank.importers.xmltree import Element, XmlError, parse_xml
from item_bank.model import ImageRef, Item, ItemType, Option, ScoreMapping, SourceRef
from item_bank.text import IMAGE_TYPES, MAX_IMAGE_BYTES, data_uri, image_src_problem
from item_bank.validate import item_problems

QTI_VERSIONS = {
    "http://www.imsglobal.org/xsd/imsqti_v2p1": "2.1",
    "http://www.imsglobal.org/xsd/imsqti_v2p2": "2.2",
}
QTI3_NAMESPACE = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
SUPPORTED_TEMPLATES = ("match_correct", "map_response")
CARDINALITY: dict[str, ItemType] = {"single": "single", "multiple": "multiple"}
MANIFEST = "imsmanifest.xml"

# Looks up an image path relative to the item: returns the reference to keep (normalised),
# the file's bytes (None when absent) and a problem (None when the path is acceptable).
AssetReader = Callable[[str], tuple[str, bytes | None, str | None]]


def import_qti(path: str | Path, classification: Classification | None = None) -> ImportResult:
    """Import a QTI item file (.xml) or a content package (.zip with imsmanifest.xml)."""
    given = classification or Classification()

    def parse(path: Path, source: str, data: bytes) -> ImportResult:
        if data[:4] == b"PK\x03\x04" or path.suffix.lower() == ".zip":
            return parse_package(data, source, given)
        return parse_item_file(data, source, given, _folder_reader(path.parent))

    return import_file(path, parse)


def parse_item_file(
    data: bytes,
    source: str,
    classification: Classification,
    read_asset: AssetReader | None = None,
) -> ImportResult:
    """Import one assessmentItem document already in memory."""
    parsed = _ItemParser(source, classification, read_asset).parse(data)
    items = [parsed.item] if parsed.item is not None else []
    return ImportResult.build(source, items, parsed.errors, parsed.warnings)


def parse_package(data: bytes, source: str, classification: Classification) -> ImportResult:
    """Import every item resource of a content package; any bad item rejects the package."""
    try:
        archive = SafeZip(data)
    except UnsafeZip as exc:
        return ImportResult.failed(source, "", f"unsafe or unreadable package: {exc}")
    if MANIFEST not in archive:
        return ImportResult.failed(
            source, "", f"not a QTI content package: {MANIFEST} is missing at the top level"
        )
    errors: list[ImportIssue] = []
    warnings: list[ImportIssue] = []
    hrefs = _manifest_items(archive, source, errors, warnings)
    items: list[Item] = []
    first_seen: dict[str, str] = {}
    for href in hrefs:
        member_source = f"{source}!{href}"
        if href not in archive:
            errors.append(
                ImportIssue(source, MANIFEST, f"resource file {href!r} is not in the package")
            )
            continue
        try:
            raw = archive.read(href)
        except UnsafeZip as exc:
            errors.append(ImportIssue(source, href, str(exc)))
            continue
        parser = _ItemParser(member_source, classification, _zip_reader(archive, href))
        parsed = parser.parse(raw)
        errors += parsed.errors
        warnings += parsed.warnings
        if parsed.item is None:
            continue
        if parsed.item.id in first_seen:
            errors.append(
                ImportIssue(
                    member_source,
                    "assessmentItem",
                    f"identifier {parsed.item.id!r} is also used by {first_seen[parsed.item.id]}",
                )
            )
        else:
            first_seen[parsed.item.id] = href
            items.append(parsed.item)
    if not hrefs and not errors:
        errors.append(ImportIssue(source, MANIFEST, "the manifest lists no QTI item resources"))
    return ImportResult.build(source, items, errors, warnings)


def _manifest_items(
    archive: SafeZip, source: str, errors: list[ImportIssue], warnings: list[ImportIssue]
) -> list[str]:
    try:
        manifest = parse_xml(archive.read(MANIFEST))
    except (XmlError, UnsafeZip) as exc:
        line = getattr(exc, "line", None)
        errors.append(
            ImportIssue(source, f"{MANIFEST}" + (f", line {line}" if line else ""), str(exc))
        )
        return []
    if manifest.name != "manifest":
        errors.append(
            ImportIssue(source, MANIFEST, f"root element is {manifest.name}, not manifest")
        )
        return []
    hrefs: list[str] = []
    for resources in manifest.elements("resources"):
        base = resources.attrs.get("xml:base", "")
        for resource in resources.elements("resource"):
            kind = resource.attrs.get("type", "")
            where = (
                f"{MANIFEST}, line {resource.line}, resource {resource.attrs.get('identifier', '')}"
            )
            if not kind.startswith("imsqti_item_xmlv2p"):
                if kind.startswith("imsqti_"):
                    warnings.append(ImportIssue(source, where, f"resource type {kind} skipped"))
                continue
            href = resource.attrs.get("href")
            if not href:
                errors.append(ImportIssue(source, where, "item resource has no href"))
                continue
            full = posixpath.normpath(
                posixpath.join(base, resource.attrs.get("xml:base", ""), href)
            )
            problem = member_name_problem(full)
            if problem:
                errors.append(ImportIssue(source, where, f"href {href!r} {problem}"))
                continue
            hrefs.append(full)
    return hrefs


def _folder_reader(folder: Path) -> AssetReader:
    base = folder.resolve()

    def read(src: str) -> tuple[str, bytes | None, str | None]:
        target = (folder / src).resolve()
        if not target.is_relative_to(base):
            return src, None, "image path leaves the item file's folder"
        kept = posixpath.normpath(src)
        if not target.is_file():
            return kept, None, None
        if target.stat().st_size > MAX_IMAGE_BYTES:
            return kept, None, f"image is larger than {MAX_IMAGE_BYTES} bytes"
        return kept, target.read_bytes(), None

    return read


def _zip_reader(archive: SafeZip, item_href: str) -> AssetReader:
    folder = posixpath.dirname(item_href)

    def read(src: str) -> tuple[str, bytes | None, str | None]:
        # Packages commonly keep items and media in sibling folders ("../media/x.png"):
        # fine as long as the path stays inside the package.
        name = posixpath.normpath(posixpath.join(folder, src))
        if member_name_problem(name):
            return src, None, "image path leaves the package"
        if name not in archive:
            return name, None, None
        try:
            data = archive.read(name)
        except UnsafeZip as exc:
            return name, None, str(exc)
        if len(data) > MAX_IMAGE_BYTES:
            return name, None, f"image is larger than {MAX_IMAGE_BYTES} bytes"
        return name, data, None

    return read


@dataclass
class _Parsed:
    item: Item | None = None
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)


def _at(element: Element) -> str:
    label = element.name
    identifier = element.attrs.get("identifier")
    if identifier:
        label += f" {identifier}"
    return f"line {element.line}, <{label}>"


class _ItemParser:
    """Reads one assessmentItem, collecting every problem it finds."""

    def __init__(
        self, source: str, classification: Classification, read_asset: AssetReader | None
    ) -> None:
        self.source = source
        self.classification = classification
        self.read_asset = read_asset
        self.result = _Parsed()

    def fail(self, where: str, reason: str) -> None:
        self.result.errors.append(ImportIssue(self.source, where, reason))

    def warn(self, where: str, reason: str) -> None:
        self.result.warnings.append(ImportIssue(self.source, where, reason))

    def parse(self, data: bytes) -> _Parsed:
        try:
            root = parse_xml(data)
        except XmlError as exc:
            self.fail(f"line {exc.line}" if exc.line else "", str(exc))
            return self.result
        if not self._check_root(root):
            return self.result
        body = root.first("itemBody")
        if body is None:
            self.fail(_at(root), "the item has no itemBody")
            return self.result
        interaction = self._interaction(body)
        if interaction is None:
            return self.result
        self._build(root, body, interaction)
        return self.result

    def _check_root(self, root: Element) -> bool:
        if root.namespace == QTI3_NAMESPACE:
            self.fail(_at(root), "QTI 3.0 is not supported (QTI 2.1 and 2.2 are)")
            return False
        if root.name != "assessmentItem":
            self.fail(_at(root), f"expected an assessmentItem, found {root.name}")
            return False
        if root.namespace not in QTI_VERSIONS:
            self.fail(
                _at(root),
                f"namespace {root.namespace or '(none)'!r} is not QTI 2.1 or 2.2",
            )
            return False
        ok = True
        if root.attrs.get("adaptive", "false").strip() == "true":
            self.fail(_at(root), "adaptive items are not supported")
            ok = False
        for name in ("templateDeclaration", "templateProcessing"):
            element = root.first(name)
            if element is not None:
                self.fail(_at(element), f"templated items ({name}) are not supported")
                ok = False
        return ok

    def _interaction(self, body: Element) -> Element | None:
        choices: list[Element] = []
        for element in body.iter():
            if element.name == "choiceInteraction":
                choices.append(element)
            elif element.name.endswith("Interaction") or element.name == "positionObjectStage":
                self.fail(
                    _at(element),
                    f"unsupported interaction {element.name}: only choiceInteraction "
                    "(single and multiple choice) can be imported",
                )
        if self.result.errors:
            return None
        if not choices:
            self.fail(_at(body), "the item has no choiceInteraction")
            return None
        if len(choices) > 1:
            self.fail(
                _at(choices[1]), "items with more than one choiceInteraction are not supported"
            )
            return None
        return choices[0]

    def _build(self, root: Element, body: Element, interaction: Element) -> None:
        identifier = root.attrs.get("identifier", "").strip()
        if not identifier:
            self.fail(_at(root), "assessmentItem has no identifier")
        declaration = self._declaration(root, interaction)
        kind: ItemType | None = None
        key: tuple[str, ...] = ()
        mapping: ScoreMapping | None = None
        if declaration is not None:
            kind = self._cardinality(declaration)
            key = self._key(declaration)
            mapping = self._mapping(declaration)
        mapping = self._response_processing(root, mapping)
        options = self._options(interaction)
        stem_extract = extract(body, replace=lambda e: e.first("prompt") if e is interaction else e)
        self._report_extract_problems(stem_extract)
        images = self._images(stem_extract)
        if self.result.errors or kind is None:
            return
        item = Item(
            id=identifier,
            type=kind,
            stem=stem_extract.text,
            key=key,
            options=options,
            occupation=self.classification.occupation,
            level=self.classification.level,
            knowledge_point=self.classification.knowledge_point,
            difficulty=self.classification.difficulty,
            score=_max_score(kind, mapping),
            shuffle=interaction.attrs.get("shuffle", "false").strip() == "true",
            mapping=mapping,
            images=images,
            source=SourceRef(self.source, _at(root)),
        )
        for field_name, reason in item_problems(item):
            self.fail(self._where(field_name, root, interaction, declaration), reason)
        if not self.result.errors:
            self.result.item = item

    def _where(
        self, field_name: str, root: Element, interaction: Element, declaration: Element | None
    ) -> str:
        root_field = field_name.split(".")[0].split("[")[0]
        if root_field in ("key", "mapping") and declaration is not None:
            return _at(declaration)
        if root_field in ("options", "stem", "images"):
            return _at(interaction)
        return _at(root)

    def _declaration(self, root: Element, interaction: Element) -> Element | None:
        response_id = interaction.attrs.get("responseIdentifier", "")
        for declaration in root.elements("responseDeclaration"):
            if declaration.attrs.get("identifier") == response_id:
                return declaration
        self.fail(_at(interaction), f"no responseDeclaration with identifier {response_id!r}")
        return None

    def _cardinality(self, declaration: Element) -> ItemType | None:
        base_type = declaration.attrs.get("baseType", "")
        if base_type != "identifier":
            self.fail(_at(declaration), f"baseType must be identifier, not {base_type!r}")
        cardinality = declaration.attrs.get("cardinality", "")
        kind = CARDINALITY.get(cardinality)
        if kind is None:
            self.fail(
                _at(declaration),
                f"cardinality {cardinality!r} is not supported (single or multiple)",
            )
        return kind

    def _key(self, declaration: Element) -> tuple[str, ...]:
        correct = declaration.first("correctResponse")
        if correct is None:
            self.fail(_at(declaration), "no correctResponse: the item has no key")
            return ()
        return tuple(value.text().strip() for value in correct.elements("value"))

    def _mapping(self, declaration: Element) -> ScoreMapping | None:
        if declaration.first("areaMapping") is not None:
            self.fail(_at(declaration), "areaMapping is not supported")
        element = declaration.first("mapping")
        if element is None:
            return None
        default = self._number(element, "defaultValue", 0.0)
        lower = self._number(element, "lowerBound", None)
        upper = self._number(element, "upperBound", None)
        entries: list[tuple[str, float]] = []
        for entry in element.elements("mapEntry"):
            value = self._number(entry, "mappedValue", None)
            key = entry.attrs.get("mapKey", "").strip()
            if not key:
                self.fail(_at(entry), "mapEntry has no mapKey")
            elif value is None:
                self.fail(_at(entry), "mapEntry has no mappedValue")
            else:
                entries.append((key, value))
        if not entries:
            self.fail(_at(element), "mapping has no mapEntry")
        return ScoreMapping(
            entries=tuple(entries), default=default or 0.0, lower_bound=lower, upper_bound=upper
        )

    def _number(self, element: Element, name: str, default: float | None) -> float | None:
        text = element.attrs.get(name)
        if text is None:
            return default
        try:
            value = float(text)
        except ValueError:
            self.fail(_at(element), f"{name} {text!r} is not a number")
            return default
        if value != value or value in (float("inf"), float("-inf")):
            self.fail(_at(element), f"{name} must be a finite number")
            return default
        return value

    def _response_processing(
        self, root: Element, mapping: ScoreMapping | None
    ) -> ScoreMapping | None:
        processing = root.first("responseProcessing")
        if processing is None:
            return mapping
        template = processing.attrs.get("template", "").strip()
        if not template:
            if any(processing.elements()):
                self.warn(
                    _at(processing),
                    "custom response processing is not run; the item is scored from "
                    "correctResponse and mapping",
                )
            return mapping
        name = template.rstrip("/").rsplit("/", 1)[-1].removesuffix(".xml")
        if name not in SUPPORTED_TEMPLATES:
            self.fail(
                _at(processing),
                f"response processing template {name!r} is not supported "
                "(match_correct, map_response)",
            )
            return mapping
        if name == "map_response" and mapping is None:
            self.fail(_at(processing), "map_response needs a mapping in the responseDeclaration")
        if name == "match_correct" and mapping is not None:
            self.warn(_at(processing), "match_correct scores all-or-nothing; mapping ignored")
            return None
        return mapping

    def _options(self, interaction: Element) -> tuple[Option, ...]:
        options: list[Option] = []
        for choice in interaction.elements("simpleChoice"):
            identifier = choice.attrs.get("identifier", "").strip()
            if not identifier:
                self.fail(_at(choice), "simpleChoice has no identifier")
                continue
            if "templateIdentifier" in choice.attrs:
                self.fail(_at(choice), "template-controlled choices are not supported")
            content = extract(choice)
            self._report_extract_problems(content)
            images = self._images(content)
            if len(images) > 1:
                self.fail(_at(choice), "a choice may hold at most one image")
            options.append(
                Option(
                    id=identifier,
                    text=content.text,
                    image=images[0] if images else None,
                    pinned=choice.attrs.get("fixed", "false").strip() == "true",
                )
            )
        return tuple(options)

    def _report_extract_problems(self, content: Extract) -> None:
        for element, reason in content.problems:
            self.fail(_at(element), reason)

    def _images(self, content: Extract) -> tuple[ImageRef, ...]:
        images: list[ImageRef] = []
        for image in content.images:
            where = f"line {image.line}, <img>"
            src, problem = image.src.strip(), None
            if not src.startswith("data:"):
                problem = _reference_problem(src)
                if problem is None and self.read_asset is not None:
                    src, raw, problem = self.read_asset(src)
                    if raw is not None:
                        src = data_uri(raw, posixpath.splitext(src)[1])
                    elif problem is None:
                        self.warn(where, f"image {src!r} not found; kept as a reference")
            problem = problem or image_src_problem(src)
            if problem:
                self.fail(where, f"image {image.src[:80]!r}: {problem}")
                continue
            images.append(ImageRef(src=src, alt=image.alt))
        return tuple(images)


def _reference_problem(src: str) -> str | None:
    if not src or "\\" in src or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", src):
        return "must be a relative path inside the item or package (no URL, no '\\')"
    if src.startswith("/"):
        return "must be a relative path, not an absolute one"
    if posixpath.splitext(src)[1].lower() not in IMAGE_TYPES:
        return f"image type {posixpath.splitext(src)[1] or '(none)'} not supported"
    return None


def _max_score(
    kind: Literal["single", "multiple", "true_false"], mapping: ScoreMapping | None
) -> float:
    """The item's own full marks: the mapping's ceiling, else 1."""
    if mapping is None:
        return 1.0
    if mapping.upper_bound is not None and mapping.upper_bound > 0:
        return mapping.upper_bound
    positive = [value for _, value in mapping.entries if value > 0]
    if not positive:
        return 1.0
    return max(positive) if kind == "single" else sum(positive)

"""QTI 2.1/2.2 importer: the four real corpus files, content packages, and hostile input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from item_bank.importers.base import Classification
from item_bank.importers.qti import import_qti
from item_bank.importers.safezip import MAX_MEMBERS

from .conftest import QTI

NS21 = "http://www.imsglobal.org/xsd/imsqti_v2p1"
NS22 = "http://www.imsglobal.org/xsd/imsqti_v2p2"
MAP_RESPONSE = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/map_response"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc````\x00\x00\x00\x05\x00\x01\xa5\xf6E@\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def item_xml(
    body: str,
    *,
    identifier: str = "q1",
    ns: str = NS21,
    cardinality: str = "single",
    correct: tuple[str, ...] = ("A",),
    mapping: str = "",
    processing: str = '<responseProcessing template="http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"/>',
    extra: str = "",
) -> bytes:
    values = "".join(f"<value>{v}</value>" for v in correct)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="{ns}" identifier="{identifier}" title="t"
    adaptive="false" timeDependent="false">
  <responseDeclaration identifier="RESPONSE" cardinality="{cardinality}" baseType="identifier">
    <correctResponse>{values}</correctResponse>{mapping}
  </responseDeclaration>
  {extra}
  <itemBody>{body}</itemBody>
  {processing}
</assessmentItem>
""".encode()


CHOICES = """<choiceInteraction responseIdentifier="RESPONSE" shuffle="true" maxChoices="1">
  <prompt>电流的单位是（  ）。</prompt>
  <simpleChoice identifier="A">安培</simpleChoice>
  <simpleChoice identifier="B">伏特</simpleChoice>
  <simpleChoice identifier="C" fixed="true">以上都不对</simpleChoice>
</choiceInteraction>"""


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- the corpus -------------------------------------------------------------------------


def test_corpus_choice_is_a_single_choice_item() -> None:
    result = import_qti(QTI / "choice.xml")
    assert result.errors == ()
    (item,) = result.items
    assert item.id == "choice" and item.type == "single"
    assert item.key == ("ChoiceA",)
    assert item.option_ids == ("ChoiceA", "ChoiceB", "ChoiceC")
    assert item.options[0].text == "You must stay with your luggage at all times."
    assert item.stem == "Look at the text in the picture.\nWhat does it say?"
    assert item.shuffle is False
    assert item.mapping is None
    # the picture is referenced (file not shipped), with its alt text, and a warning says so
    (image,) = item.images
    assert image.src == "images/sign.png" and image.alt == "NEVER LEAVE LUGGAGE UNATTENDED"
    assert any("images/sign.png" in w.reason for w in result.warnings)
    assert item.occupation is None and item.difficulty is None


def test_corpus_choice_multiple_keeps_the_mapping() -> None:
    result = import_qti(QTI / "choice_multiple.xml")
    assert result.errors == ()
    (item,) = result.items
    assert item.id == "choiceMultiple" and item.type == "multiple"
    assert item.key == ("H", "O")
    assert len(item.options) == 6 and item.shuffle is True
    mapping = item.mapping
    assert mapping is not None
    assert dict(mapping.entries) == {"H": 1.0, "O": 1.0, "Cl": -1.0}
    assert mapping.default == -2.0
    assert (mapping.lower_bound, mapping.upper_bound) == (0.0, 2.0)
    assert mapping.value("He") == -2.0  # negative mark for an unlisted choice
    assert item.score == 2.0  # the mapping's ceiling
    assert item.stem == "Which of the following elements are used to form water?"


def test_corpus_choice_fixed_pins_the_fixed_choice() -> None:
    result = import_qti(QTI / "choice_fixed.xml")
    assert result.errors == ()
    (item,) = result.items
    assert item.shuffle is True
    assert [o.pinned for o in item.options] == [False, False, False, True]
    assert item.options[3].id == "ChoiceD"


def test_corpus_text_entry_is_rejected_by_name() -> None:
    result = import_qti(QTI / "text_entry.xml")
    assert result.items == ()
    (issue,) = result.errors
    assert "textEntryInteraction" in issue.reason
    assert "textEntryInteraction" in issue.location and "line 20" in issue.location


def test_classification_fills_what_qti_lacks() -> None:
    result = import_qti(QTI / "choice.xml", Classification("electrician", 3, "DG01", 2))
    (item,) = result.items
    assert (item.occupation, item.level, item.knowledge_point, item.difficulty) == (
        "electrician", 3, "DG01", 2,
    )  # fmt: skip


# --- shapes the specification allows ----------------------------------------------------


def test_qti22_namespace_and_markup_becomes_plain_text(tmp_path: Path) -> None:
    body = (
        "<div><p>已知 <b>R</b> = 10 Ω，<span>I</span> = 2 A，</p>"
        '<p>则 U = <a href="javascript:alert(1)">（  ）</a>。</p></div>' + CHOICES
    )
    result = import_qti(write(tmp_path, "q.xml", item_xml(body, ns=NS22)))
    assert result.errors == ()
    (item,) = result.items
    assert item.stem == "已知 R = 10 Ω，I = 2 A，\n则 U = （  ）。\n电流的单位是（  ）。"
    assert "<" not in item.stem and "javascript" not in item.stem


def test_chinese_text_wrapped_over_source_lines_gets_no_spurious_space(tmp_path: Path) -> None:
    body = "<p>在纯电阻电路中，\n      电压与电流同相。</p>" + CHOICES
    (item,) = import_qti(write(tmp_path, "q.xml", item_xml(body))).items
    assert item.stem.startswith("在纯电阻电路中，电压与电流同相。")


def test_feedback_rubric_and_script_content_never_reach_the_stem(tmp_path: Path) -> None:
    body = (
        '<rubricBlock view="scorer"><p>答案是A</p></rubricBlock>'
        '<p>题干<feedbackInline outcomeIdentifier="FEEDBACK" identifier="x" showHide="show">'
        "正确答案A</feedbackInline></p>" + CHOICES
    )
    (item,) = import_qti(write(tmp_path, "q.xml", item_xml(body))).items
    assert "答案" not in item.stem


def test_custom_response_processing_is_accepted_with_a_warning(tmp_path: Path) -> None:
    processing = "<responseProcessing><responseCondition/></responseProcessing>"
    result = import_qti(write(tmp_path, "q.xml", item_xml(CHOICES, processing=processing)))
    assert result.ok and result.warnings
    assert "custom response processing" in result.warnings[0].reason


def test_unknown_processing_template_is_rejected(tmp_path: Path) -> None:
    processing = '<responseProcessing template="http://x/rptemplates/map_response_point"/>'
    result = import_qti(write(tmp_path, "q.xml", item_xml(CHOICES, processing=processing)))
    assert "map_response_point" in result.errors[0].reason


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"correct": ("Z",)}, "'Z' is not one of the option ids"),
        ({"correct": ()}, "exactly one key"),
        ({"cardinality": "ordered"}, "cardinality 'ordered'"),
        ({"cardinality": "multiple", "correct": ("A",)}, "two or more keys"),
        ({"extra": '<templateDeclaration identifier="T" cardinality="single" baseType="integer"/>'},
         "templateDeclaration"),
        ({"mapping": '<mapping defaultValue="x"><mapEntry mapKey="A" mappedValue="1"/></mapping>'},
         "defaultValue 'x'"),
        ({"mapping": '<mapping><mapEntry mapKey="Q" mappedValue="1"/></mapping>',
          "processing": f'<responseProcessing template="{MAP_RESPONSE}"/>'},
         "maps 'Q'"),
        ({"processing": f'<responseProcessing template="{MAP_RESPONSE}"/>'},
         "needs a mapping"),
    ],
)  # fmt: skip
def test_bad_items_are_rejected_with_a_reason(tmp_path: Path, kwargs: dict, reason: str) -> None:
    result = import_qti(write(tmp_path, "q.xml", item_xml(CHOICES, **kwargs)))
    assert result.items == ()
    assert any(reason in issue.reason for issue in result.errors), result.errors


def test_every_unsupported_interaction_is_named(tmp_path: Path) -> None:
    body = (
        '<p><inlineChoiceInteraction responseIdentifier="R2"/></p>'
        '<orderInteraction responseIdentifier="R3"/>' + CHOICES
    )
    result = import_qti(write(tmp_path, "q.xml", item_xml(body)))
    reasons = " ".join(issue.reason for issue in result.errors)
    assert "inlineChoiceInteraction" in reasons and "orderInteraction" in reasons


def test_no_or_two_choice_interactions(tmp_path: Path) -> None:
    result = import_qti(write(tmp_path, "none.xml", item_xml("<p>空</p>")))
    assert "no choiceInteraction" in result.errors[0].reason
    result = import_qti(write(tmp_path, "two.xml", item_xml(CHOICES + CHOICES)))
    assert "more than one choiceInteraction" in result.errors[0].reason


def test_not_qti_qti3_and_assessment_tests(tmp_path: Path) -> None:
    assert (
        "namespace"
        in import_qti(write(tmp_path, "a.xml", item_xml(CHOICES, ns="urn:x"))).errors[0].reason
    )
    qti3 = b'<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0"/>'
    assert "QTI 3.0" in import_qti(write(tmp_path, "b.xml", qti3)).errors[0].reason
    test = f'<assessmentTest xmlns="{NS21}" identifier="t" title="t"/>'.encode()
    assert "found assessmentTest" in import_qti(write(tmp_path, "c.xml", test)).errors[0].reason


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    result = import_qti(
        write(tmp_path, "bad.xml", b"<assessmentItem>\n<itemBody>\n</assessmentItem>")
    )
    (issue,) = result.errors
    assert issue.location == "line 3" and "not well-formed" in issue.reason


def test_entity_expansion_and_external_entities_are_refused(tmp_path: Path) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<assessmentItem>&lol2;</assessmentItem>"
    )
    assert "forbidden" in import_qti(write(tmp_path, "l.xml", laughs)).errors[0].reason
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<assessmentItem>&e;</assessmentItem>"
    )
    assert "forbidden" in import_qti(write(tmp_path, "x.xml", xxe)).errors[0].reason


def test_images_next_to_a_file_are_embedded(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "dial.png").write_bytes(PNG)
    body = '<p><img src="img/dial.png" alt="表盘"/></p>' + CHOICES.replace(
        '<simpleChoice identifier="B">伏特</simpleChoice>',
        '<simpleChoice identifier="B">'
        '<object type="image/png" data="img/dial.png">刻度</object></simpleChoice>',
    )
    result = import_qti(write(tmp_path, "q.xml", item_xml(body)))
    assert result.errors == () and result.warnings == ()
    (item,) = result.items
    assert item.images[0].embedded and item.images[0].alt == "表盘"
    option_b = item.options[1]
    assert option_b.image is not None and option_b.image.embedded
    # the object's content is its alt text, not option text
    assert option_b.image.alt == "刻度" and option_b.text == ""


@pytest.mark.parametrize("src", ["../outside.png", "/etc/x.png", "https://cdn.example/x.png"])
def test_image_references_leaving_the_item_are_rejected(tmp_path: Path, src: str) -> None:
    body = f'<p><img src="{src}" alt=""/></p>' + CHOICES
    result = import_qti(write(tmp_path, "q.xml", item_xml(body)))
    assert result.items == () and "image" in result.errors[0].reason


# --- content packages -------------------------------------------------------------------


def manifest(*hrefs: str, extra: str = "") -> bytes:
    resources = "".join(
        f'<resource identifier="r{i}" type="imsqti_item_xmlv2p1" href="{href}">'
        f'<file href="{href}"/></resource>'
        for i, href in enumerate(hrefs)
    )
    return (
        '<?xml version="1.0"?><manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" '
        f'identifier="m"><organizations/><resources>{resources}{extra}</resources></manifest>'
    ).encode()


def package(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_content_package_imports_all_items_and_embeds_images(tmp_path: Path) -> None:
    body = '<p><img src="../media/sign.png" alt="标志"/></p>' + CHOICES
    data = package(
        {
            "imsmanifest.xml": manifest("items/choice.xml", "items/multi.xml", "items/q3.xml"),
            "items/choice.xml": (QTI / "choice.xml").read_bytes(),
            "items/multi.xml": (QTI / "choice_multiple.xml").read_bytes(),
            "items/q3.xml": item_xml(body, identifier="q3"),
            "media/sign.png": PNG,
        }
    )
    result = import_qti(write(tmp_path, "pkg.zip", data))
    assert result.errors == ()
    assert [item.id for item in result.items] == ["choice", "choiceMultiple", "q3"]
    assert result.items[2].images[0].embedded
    assert result.items[0].source is not None
    assert result.items[0].source.file.endswith("pkg.zip!items/choice.xml")


def test_one_bad_item_rejects_the_whole_package(tmp_path: Path) -> None:
    data = package(
        {
            "imsmanifest.xml": manifest("choice.xml", "text_entry.xml"),
            "choice.xml": (QTI / "choice.xml").read_bytes(),
            "text_entry.xml": (QTI / "text_entry.xml").read_bytes(),
        }
    )
    result = import_qti(write(tmp_path, "pkg.zip", data))
    assert result.items == ()
    (issue,) = result.errors
    assert (
        issue.source.endswith("pkg.zip!text_entry.xml") and "textEntryInteraction" in issue.reason
    )


def test_package_without_manifest_or_with_missing_resource(tmp_path: Path) -> None:
    result = import_qti(write(tmp_path, "a.zip", package({"choice.xml": b"<x/>"})))
    assert "imsmanifest.xml is missing" in result.errors[0].reason
    result = import_qti(
        write(tmp_path, "b.zip", package({"imsmanifest.xml": manifest("gone.xml")}))
    )
    assert "'gone.xml' is not in the package" in result.errors[0].reason


def test_package_path_traversal_is_refused(tmp_path: Path) -> None:
    result = import_qti(
        write(tmp_path, "c.zip", package({"imsmanifest.xml": manifest("../../etc/passwd")}))
    )
    assert "outside the archive" in result.errors[0].reason
    evil = package({"imsmanifest.xml": manifest("a.xml"), "../evil.xml": b"<x/>"})
    assert "outside the archive" in import_qti(write(tmp_path, "d.zip", evil)).errors[0].reason


def test_zip_bombs_are_refused_before_inflating(tmp_path: Path) -> None:
    bomb = package({"imsmanifest.xml": manifest("a.xml"), "a.xml": b" " * (60 * 1024 * 1024)})
    assert len(bomb) < 200_000
    reason = import_qti(write(tmp_path, "bomb.zip", bomb)).errors[0].reason
    assert "limit" in reason or "zip bomb" in reason
    many = package({f"f{i}.txt": b"" for i in range(MAX_MEMBERS + 1)})
    assert "members" in import_qti(write(tmp_path, "many.zip", many)).errors[0].reason


def test_a_corrupt_zip_is_a_clear_error(tmp_path: Path) -> None:
    result = import_qti(write(tmp_path, "x.zip", b"PK\x03\x04 broken"))
    assert "unreadable" in result.errors[0].reason


def test_match_correct_ignores_a_mapping_with_a_warning(tmp_path: Path) -> None:
    mapping = '<mapping><mapEntry mapKey="A" mappedValue="1"/></mapping>'
    result = import_qti(write(tmp_path, "q.xml", item_xml(CHOICES, mapping=mapping)))
    (item,) = result.items
    assert item.mapping is None and item.score == 1.0
    assert "mapping ignored" in result.warnings[0].reason


def test_manifest_xml_base_is_honoured(tmp_path: Path) -> None:
    extra = (
        '<resource identifier="b" type="imsqti_item_xmlv2p2" href="q.xml" xml:base="items/">'
        '<file href="q.xml"/></resource>'
        '<resource identifier="t" type="imsqti_test_xmlv2p1" href="test.xml"/>'
    )
    data = package({"imsmanifest.xml": manifest(extra=extra), "items/q.xml": item_xml(CHOICES)})
    result = import_qti(write(tmp_path, "p.zip", data))
    assert result.errors == () and [i.id for i in result.items] == ["q1"]
    assert any("imsqti_test_xmlv2p1 skipped" in w.reason for w in result.warnings)

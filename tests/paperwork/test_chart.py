"""The score chart is a valid, self-contained SVG whose bars match the figures."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from cbt_server.paperwork.chart import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, render_chart
from cbt_server.paperwork.figures import Scored, figures

NS = {"svg": "http://www.w3.org/2000/svg"}


def scored(*scores: float) -> list[Scored]:
    return [Scored(v, 100.0, 60.0, v >= 60) for v in scores]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_bars_match_the_bands() -> None:
    f = figures(scored(95, 72, 41, 60, 61, 65))
    root = parse(render_chart(f))
    bars = root.findall(".//svg:rect[@class='bar']", NS)
    assert {int(b.get("data-band", -1)): int(b.get("data-count", -1)) for b in bars} == {
        4: 1,
        6: 3,
        7: 1,
        9: 1,
    }
    heights = {int(b.get("data-band", -1)): float(b.get("height", 0)) for b in bars}
    assert heights[6] == pytest.approx(3 * heights[4], abs=0.02)
    # Every bar stands on the x axis.
    for bar in bars:
        bottom = float(bar.get("y", 0)) + float(bar.get("height", 0))
        assert bottom == pytest.approx(HEIGHT - BOTTOM, abs=0.02)  # 2-decimal output


def test_pass_mark_line_sits_at_the_pass_mark() -> None:
    root = parse(render_chart(figures(scored(80, 20))))
    line = root.find(".//svg:line[@class='pass-mark']", NS)
    assert line is not None
    expected = LEFT + (WIDTH - LEFT - RIGHT) * 0.6
    assert float(line.get("x1", 0)) == pytest.approx(expected)
    texts = "".join(root.itertext())
    assert "合格线 60" in texts
    assert "合格率 50.0%" in texts and "平均分 50" in texts


def test_failing_bands_are_drawn_lighter() -> None:
    root = parse(render_chart(figures(scored(35, 85))))
    fills = {
        b.get("data-band"): b.get("fill") for b in root.findall(".//svg:rect[@class='bar']", NS)
    }
    assert fills["3"] != fills["8"]


def test_empty_chart_is_still_valid() -> None:
    root = parse(render_chart(figures([])))
    assert root.findall(".//svg:rect[@class='bar']", NS) == []
    assert root.find(".//svg:line[@class='pass-mark']", NS) is None
    assert "人数 0" in "".join(root.itertext())


def test_no_script_no_style_attributes_and_escaped_title() -> None:
    svg = render_chart(figures(scored(70)), title="<script>alert(1)</script> & 成绩")
    root = parse(svg)
    for element in root.iter():
        assert "style" not in element.attrib
        assert not element.tag.endswith("script")
    assert "<script>" not in svg
    assert root.find("svg:title", NS) is not None
    assert "<script>alert(1)</script> & 成绩" in (root.find("svg:title", NS).text or "")


def test_y_axis_reaches_the_tallest_bar() -> None:
    root = parse(render_chart(figures(scored(*([75] * 7)))))
    bar = root.find(".//svg:rect[@class='bar']", NS)
    assert bar is not None
    assert float(bar.get("y", 0)) >= TOP - 0.01

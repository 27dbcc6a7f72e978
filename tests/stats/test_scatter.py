"""The facility × discrimination chart: one point per item where it belongs, flagged
points apart, item ids that stay text, and nothing but presentation markup."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from cbt_server.stats.scatter import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, Point, render_scatter

SVG = "{http://www.w3.org/2000/svg}"


def test_points_sit_at_their_figures() -> None:
    hostile = '"><script>alert(1)</script>'
    svg = render_scatter(
        [Point("a", 0.0, 1.0, False), Point("b", 1.0, -1.0, True), Point(hostile, 0.5, 0.0, True)],
        left_out=2,
    )
    root = ElementTree.fromstring(svg)  # well-formed, so the hostile id is only text
    circles = {c.get("data-item"): c for c in root.iter(f"{SVG}circle")}
    assert set(circles) == {"a", "b", hostile}
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    assert (float(circles["a"].get("cx")), float(circles["a"].get("cy"))) == (LEFT, TOP)
    assert (float(circles["b"].get("cx")), float(circles["b"].get("cy"))) == (
        LEFT + plot_w,
        TOP + plot_h,
    )
    assert circles["b"].get("fill") != circles["a"].get("fill")
    assert "<script" not in svg and "style=" not in svg
    assert re.search(r"2 题人数不足 10", svg)

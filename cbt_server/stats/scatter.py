"""The facility × discrimination scatter chart as a self-contained SVG (no script, no
`style` attributes, so the staff pages' strict CSP allows it inline).

x: facility 0…1; y: discrimination index −1…1. Shaded: the regions the flags name
(facility under 0.20 or over 0.95). Flagged items are drawn in red and larger; each
point carries its item id (`data-item`) and a `<title>` tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from cbt_server.stats.compute import TOO_EASY, TOO_HARD

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 52, 48
FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"
POINT, FLAGGED, SHADE = "#3b6ea5", "#c0392b", "#f3e3e1"


@dataclass(frozen=True, slots=True)
class Point:
    item_id: str
    facility: float
    discrimination: float
    flagged: bool


def _f(value: float) -> str:
    return f"{value:.1f}"


def render_scatter(points: Sequence[Point], *, left_out: int = 0) -> str:
    """SVG text; `left_out` items (no discrimination index: n < 10) are counted in a note."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(facility: float) -> float:
        return LEFT + plot_w * facility

    def y(d: float) -> float:
        return TOP + plot_h * (1 - d) / 2

    title = "难度 × 区分度 Facility × discrimination"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="scatter-title" '
        f'font-family={quoteattr(FONT)} font-size="12">',
        f'<title id="scatter-title">{escape(title)}</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold" fill="#222">'
        f"{escape(title)}</text>",
        f'<rect x="{_f(x(0))}" y="{TOP}" width="{_f(x(TOO_HARD) - x(0))}" height="{plot_h}" '
        f'fill="{SHADE}"/>',
        f'<rect x="{_f(x(TOO_EASY))}" y="{TOP}" width="{_f(x(1) - x(TOO_EASY))}" '
        f'height="{plot_h}" fill="{SHADE}"/>',
    ]
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        parts.append(
            f'<line x1="{_f(x(tick))}" y1="{TOP}" x2="{_f(x(tick))}" y2="{TOP + plot_h}" '
            f'stroke="#e3e3e3"/><text x="{_f(x(tick))}" y="{TOP + plot_h + 16}" '
            f'text-anchor="middle" fill="#555">{tick:.1f}</text>'
        )
    for tick in (-1.0, -0.5, 0.0, 0.5, 1.0):
        parts.append(
            f'<line x1="{LEFT}" y1="{_f(y(tick))}" x2="{LEFT + plot_w}" y2="{_f(y(tick))}" '
            f'stroke="{"#999" if tick == 0 else "#e3e3e3"}"/><text x="{LEFT - 6}" '
            f'y="{_f(y(tick) + 4)}" text-anchor="end" fill="#555">{tick:.1f}</text>'
        )
    for p in points:
        colour, radius = (FLAGGED, 5) if p.flagged else (POINT, 3.5)
        label = f"{p.item_id}: 难度 {p.facility:.2f} 区分度 {p.discrimination:.2f}"
        parts.append(
            f'<circle class="point" data-item={quoteattr(p.item_id)} '
            f'cx="{_f(x(p.facility))}" cy="{_f(y(p.discrimination))}" r="{radius}" '
            f'fill="{colour}" fill-opacity="0.75"><title>{escape(label)}</title></circle>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 12}" text-anchor="middle" '
        f'fill="#333">难度（得分率） Facility</text>'
    )
    parts.append(
        f'<text x="14" y="{TOP + plot_h / 2:.0f}" text-anchor="middle" fill="#333" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2:.0f})">区分度 D</text>'
    )
    if left_out:
        parts.append(
            f'<text x="{LEFT}" y="40" fill="#555" class="left-out">'
            f"{left_out} 题人数不足 10，未画出 ({left_out} items with n &lt; 10 not drawn)</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)

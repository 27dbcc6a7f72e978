"""The score distribution chart as a self-contained SVG document, drawn without a library.

Bars per 10-point band, a dashed pass-mark line, count labels and axes. Only presentation
attributes are used (no `style` attributes, no script), so the page's strict CSP allows
it inline or as an image.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from cbt_server.paperwork.figures import BAND_COUNT, ScoreFigures, band_label, format_rate

WIDTH = 640
HEIGHT = 340
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 40, 56
FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"
BAR = "#3b6ea5"
BAR_FAIL = "#b9c7d8"
PASS_LINE = "#c0392b"


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _ticks(top: int) -> list[int]:
    """Whole-number y ticks 0, step, … up to at least `top`, at most five steps (1-2-5)."""
    scale = 1
    while True:
        for base in (1, 2, 5):
            step = base * scale
            steps = -(-top // step)
            if steps <= 5:
                return list(range(0, max(steps, 1) * step + 1, step))
        scale *= 10


def render_chart(figures: ScoreFigures, *, title: str = "成绩分布 Score distribution") -> str:
    """SVG text of the histogram of `figures` (an empty frame when nobody sat)."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    ticks = _ticks(max(max(figures.bands, default=0), 1))
    y_max = ticks[-1]
    band_w = plot_w / BAND_COUNT
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="chart-title" '
        f'font-family={quoteattr(FONT)} font-size="12">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold" fill="#222">'
        f"{escape(title)}</text>",
    ]
    summary = (
        f"人数 {figures.sat}　合格 {figures.passed}　合格率 {format_rate(figures.pass_rate)}"
        f"　平均分 {'—' if figures.mean is None else _num(figures.mean)}"
    )
    parts.append(
        f'<text x="{WIDTH - RIGHT}" y="22" text-anchor="end" fill="#444" class="summary">'
        f"{escape(summary)}</text>"
    )
    for tick in ticks:
        y = TOP + plot_h - plot_h * tick / y_max
        parts.append(
            f'<line x1="{LEFT}" y1="{_num(y)}" x2="{WIDTH - RIGHT}" y2="{_num(y)}" '
            f'stroke="#e3e3e3" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{_num(y + 4)}" text-anchor="end" fill="#555">{tick}</text>'
        )
    pass_pct = figures.pass_mark_pct
    for index, count in enumerate(figures.bands):
        x = LEFT + index * band_w
        label_x = _num(x + band_w / 2)
        if count:
            h = plot_h * count / y_max
            y = TOP + plot_h - h
            below_pass = pass_pct is not None and (index + 1) * 10 <= pass_pct
            parts.append(
                f'<rect class="bar" data-band="{index}" data-count="{count}" '
                f'x="{_num(x + 4)}" y="{_num(y)}" width="{_num(band_w - 8)}" '
                f'height="{_num(h)}" fill="{BAR_FAIL if below_pass else BAR}"/>'
            )
            parts.append(
                f'<text x="{label_x}" y="{_num(y - 4)}" text-anchor="middle" '
                f'fill="#222">{count}</text>'
            )
        parts.append(
            f'<text x="{label_x}" y="{TOP + plot_h + 16}" text-anchor="middle" '
            f'fill="#555">{escape(band_label(index))}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        f'stroke="#333" stroke-width="1"/>'
    )
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" '
        f'stroke="#333" stroke-width="1"/>'
    )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 14}" text-anchor="middle" '
        f'fill="#333">分数段（百分制） Score band (of 100)</text>'
    )
    if pass_pct is not None:
        x = LEFT + plot_w * pass_pct / 100
        parts.append(
            f'<line class="pass-mark" x1="{_num(x)}" y1="{TOP - 4}" x2="{_num(x)}" '
            f'y2="{TOP + plot_h}" stroke="{PASS_LINE}" stroke-width="2" '
            f'stroke-dasharray="6 4"/>'
        )
        parts.append(
            f'<text x="{_num(x + 4)}" y="{TOP + 8}" fill="{PASS_LINE}">'
            f"合格线 {_num(pass_pct)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)

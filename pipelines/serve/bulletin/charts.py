"""Inline SVG charts drawn from the data: the page fetches nothing, so no chart library or script.

Each function returns Markup ready for the template (every text it draws is escaped here).
"""

from __future__ import annotations

import html
from datetime import date

from markupsafe import Markup

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def line_chart_svg(series: dict[str, list[float]], days: list[date], title: str, width: int = 660,
                   height: int = 190) -> Markup:
    """A small multi-line chart as inline SVG (no xmlns URL needed inside HTML5)."""
    left, right, top, bottom = 44, 12, 22, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(v) for v in series.values() if v] + [1])
    step = plot_w / max(len(days) - 1, 1)

    def xy(i, v):
        return f"{left + i * step:.1f},{top + plot_h - (v / peak) * plot_h:.1f}"

    out = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f"<title>{_esc(title)}</title>",
           f'<text x="{left}" y="14" class="ct">{_esc(title)}</text>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis"/>',
           f'<text x="{left - 4}" y="{top + 4}" class="yl">{peak:g}</text>',
           f'<text x="{left - 4}" y="{top + plot_h}" class="yl">0</text>']
    if days:
        for i in sorted({0, len(days) // 2, len(days) - 1}):
            out.append(f'<text x="{left + i * step:.1f}" y="{height - 8}" class="xl">{days[i].strftime("%m-%d")}</text>')
    for k, (name, values) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        points = " ".join(xy(i, v) for i, v in enumerate(values))
        out.append(f'<polyline class="series" fill="none" stroke="{color}" stroke-width="1.8" points="{points}">'
                   f"<title>{_esc(name)}</title></polyline>")
        if values:
            out.append(f'<circle cx="{xy(len(values) - 1, values[-1]).split(",")[0]}" '
                       f'cy="{xy(len(values) - 1, values[-1]).split(",")[1]}" r="2.5" fill="{color}"/>')
    out.append("</svg>")
    legend = "".join(f'<span class="lg"><i style="background:{PALETTE[k % len(PALETTE)]}"></i>{_esc(n)}</span>'
                     for k, n in enumerate(series))
    return Markup("".join(out) + f'<div class="legend">{legend}</div>')


def bar_chart_svg(bars: list[tuple[str, float]], title: str, width: int = 420, height: int = 170) -> Markup:
    """One bar per (label, value), each with its value written above it."""
    left, top, bottom = 10, 22, 24
    plot_h = height - top - bottom
    peak = max([v for _, v in bars] + [1])
    slot = (width - 2 * left) / max(len(bars), 1)
    out = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f"<title>{_esc(title)}</title>", f'<text x="{left}" y="14" class="ct">{_esc(title)}</text>']
    for i, (label, v) in enumerate(bars):
        h = (v / peak) * (plot_h - 12)
        x = left + i * slot + slot * 0.15
        y = top + plot_h - h
        out.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{max(h, 0.5):.1f}" '
                   f'fill="{PALETTE[i % len(PALETTE)]}"><title>{_esc(label)}: {v:g}</title></rect>')
        out.append(f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" class="bl">{v:g}</text>')
        out.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - 8}" class="bl">{_esc(label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def interval_chart_svg(rows: list[tuple[str, float, float | None, float | None]], title: str,
                       width: int = 660) -> Markup:
    """Point estimates with their intervals, one row each (label, estimate, low, high)."""
    row_h, left, right, top = 18, 170, 20, 22
    height = top + row_h * len(rows) + 20
    peak = max([max(x for x in (e, lo, hi) if x is not None) for _, e, lo, hi in rows] + [1e-9])
    scale = (width - left - right) / peak
    out = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f"<title>{_esc(title)}</title>", f'<text x="4" y="14" class="ct">{_esc(title)}</text>']
    for i, (label, est, lo, hi) in enumerate(rows):
        y = top + i * row_h + row_h / 2
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="yl">{_esc(label)}</text>')
        if lo is not None and hi is not None:
            out.append(f'<line class="ci" x1="{left + lo * scale:.1f}" y1="{y:.1f}" x2="{left + hi * scale:.1f}" '
                       f'y2="{y:.1f}" stroke="#555" stroke-width="2"/>')
        out.append(f'<circle cx="{left + est * scale:.1f}" cy="{y:.1f}" r="3.5" fill="#d62728"/>')
    out.append(f'<text x="{width - right}" y="{height - 4}" class="yl">{peak:.4g}</text>')
    out.append("</svg>")
    return Markup("".join(out))

"""Inline SVG charts drawn from the data: the page fetches nothing, so no chart library or script.

Each function returns Markup ready for the template (every text it draws is escaped here).
"""

from __future__ import annotations

import html
from datetime import date

from markupsafe import Markup

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MINI_LINES = ["#1f77b4", "#e377c2", "#2ca02c", "#17becf", "#8c564b", "#bcbd22"]  # apart from the rules' red/orange


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _segments(values: list[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive known values: a missing day breaks the line instead of dropping it to zero."""
    runs, run = [], []
    for i, v in enumerate(values):
        if v is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append((i, v))
    return runs + ([run] if run else [])


def line_chart_svg(series: dict[str, list[float | None]], days: list[date], title: str, width: int = 660,
                   height: int = 190) -> Markup:
    """A small multi-line chart as inline SVG (no xmlns URL needed inside HTML5).

    None is a day without data (before the first run, or a day not published): it is left blank, and the
    stretch before the first known value is shaded and labelled 无数据 no data, never drawn as zero.
    """
    left, right, top, bottom = 44, 12, 22, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for vals in series.values() for v in vals if v is not None] + [1])
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
    known = [i for vals in series.values() for i, v in enumerate(vals) if v is not None]
    first = min(known) if known else len(days)
    if first > 0:
        shade_w = min(first, len(days) - 1) * step if first < len(days) else plot_w
        out.append(f'<rect class="nodata" x="{left}" y="{top}" width="{max(shade_w, 2):.1f}" height="{plot_h}" '
                   f'fill="#eee"><title>无数据 no data</title></rect>'
                   f'<text x="{left + max(shade_w, 2) / 2:.1f}" y="{top + plot_h / 2:.1f}" class="xl">无数据 no data</text>')
    if days:
        for i in sorted({0, len(days) // 2, len(days) - 1}):
            out.append(f'<text x="{left + i * step:.1f}" y="{height - 8}" class="xl">{days[i].strftime("%m-%d")}</text>')
    for k, (name, values) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        for run in _segments(values):
            points = " ".join(xy(i, v) for i, v in run)
            out.append(f'<polyline class="series" fill="none" stroke="{color}" stroke-width="1.8" points="{points}">'
                       f"<title>{_esc(name)}</title></polyline>")
        if values and values[-1] is not None:
            x, y = xy(len(values) - 1, values[-1]).split(",")
            out.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{color}"/>')
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


def mini_chart_svg(title: str, labels: list[str], lines: dict[str, list[float | None]] | None = None,
                   points: dict[str, list[tuple[int, float]]] | None = None,
                   rules: dict[str, float | None] | None = None, marker: tuple[int, str] | None = None,
                   bars: list[tuple[str, float]] | None = None, width: int = 330, height: int = 140) -> Markup:
    """The small chart beside a lead: lines over the x labels (None = no data, left blank), dots (e.g. trades),
    horizontal reference lines (the figure the rule compared against), one dated marker (e.g. the promotion
    start), or bars. An empty chart says 无数据 no data rather than drawing zeros."""
    lines, points, rules, bars = lines or {}, points or {}, rules or {}, bars or []
    left, right, top, bottom = 40, 8, 18, 20
    plot_w, plot_h = width - left - right, height - top - bottom
    values = ([v for vals in lines.values() for v in vals if v is not None] + [y for pts in points.values()
              for _, y in pts] + [v for v in rules.values() if v is not None] + [v for _, v in bars])
    out = [f'<svg class="chart mini" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f"<title>{_esc(title)}</title>", f'<text x="2" y="12" class="ct">{_esc(title)}</text>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis"/>']
    if not any(v is not None for vals in lines.values() for v in vals) and not any(points.values()) and not bars:
        out.append(f'<rect class="nodata" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#eee"/>'
                   f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" class="xl">无数据 no data</text></svg>')
        return Markup("".join(out))
    low = 0.0 if bars or min(values) >= 0 and min(values) < 0.35 * max(values) else min(values) * 0.95
    high = max(values) * 1.05 if max(values) > low else low + 1
    n = len(bars) if bars else len(labels)
    step = plot_w / max(n - 1, 1)

    def y_of(v):
        return top + plot_h - (v - low) / (high - low) * plot_h

    out += [f'<text x="{left - 3}" y="{top + 4}" class="yl">{high:.4g}</text>',
            f'<text x="{left - 3}" y="{top + plot_h}" class="yl">{low:.4g}</text>']
    if labels and not bars:
        out.append(f'<text x="{left}" y="{height - 5}" class="xl" style="text-anchor:start">{_esc(labels[0])}</text>'
                   f'<text x="{left + plot_w}" y="{height - 5}" class="xl" style="text-anchor:end">{_esc(labels[-1])}</text>')
    legend = []
    for k, (name, value) in enumerate(rules.items()):
        if value is None:
            continue
        color = ["#d62728", "#7f7f7f", "#9467bd"][k % 3]
        out.append(f'<line class="rule" x1="{left}" y1="{y_of(value):.1f}" x2="{left + plot_w}" y2="{y_of(value):.1f}" '
                   f'stroke="{color}" stroke-dasharray="4 3"><title>{_esc(name)} {value:g}</title></line>')
        legend.append((name, color, "rule"))
    if marker is not None and 0 <= marker[0] < n:
        x = left + marker[0] * step
        out.append(f'<line class="marker" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#ff7f0e">'
                   f'<title>{_esc(marker[1])}</title></line>')
        legend.append((marker[1], "#ff7f0e", "rule"))
    for k, (name, vals) in enumerate(lines.items()):
        color = MINI_LINES[k % len(MINI_LINES)]
        for run in _segments(vals):
            pts = " ".join(f"{left + i * step:.1f},{y_of(v):.1f}" for i, v in run)
            if len(run) == 1:
                out.append(f'<circle cx="{left + run[0][0] * step:.1f}" cy="{y_of(run[0][1]):.1f}" r="1.8" '
                           f'fill="{color}"/>')
            out.append(f'<polyline class="series" fill="none" stroke="{color}" stroke-width="1.6" points="{pts}">'
                       f"<title>{_esc(name)}</title></polyline>")
        legend.append((name, color, "line"))
    for k, (name, pts) in enumerate(points.items()):
        color = ["#222222", "#8c564b"][k % 2]
        for i, v in pts:
            out.append(f'<circle class="dot" cx="{left + i * step:.1f}" cy="{y_of(v):.1f}" r="2.4" fill="{color}" '
                       f'fill-opacity="0.7"><title>{_esc(name)} {v:g}</title></circle>')
        legend.append((name, color, "dot"))
    if bars:
        slot = plot_w / len(bars)
        for i, (label, v) in enumerate(bars):
            x, y = left + i * slot + slot * 0.2, y_of(v)
            out.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.6:.1f}" '
                       f'height="{max(top + plot_h - y, 0.5):.1f}" fill="{PALETTE[i % len(PALETTE)]}">'
                       f"<title>{_esc(label)}: {v:g}</title></rect>"
                       f'<text x="{x + slot * 0.3:.1f}" y="{height - 5}" class="xl">{_esc(label)}</text>'
                       f'<text x="{x + slot * 0.3:.1f}" y="{y - 2:.1f}" class="xl">{v:.4g}</text>')
    out.append("</svg>")
    keys = "".join(f'<span class="lg"><i class="{kind}" style="background:{color}"></i>{_esc(name)}</span>'
                   for name, color, kind in legend)
    return Markup("".join(out) + (f'<div class="legend">{keys}</div>' if keys else ""))

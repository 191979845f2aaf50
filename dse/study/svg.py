"""Small, dependency-free SVG charts for the self-contained HTML report (no matplotlib, no CDN).

    >>> nice_ticks(0.15, 0.375)
    [0.15, 0.2, 0.25, 0.3, 0.35, 0.4]
    >>> svg = scatter_svg([{"x": [1, 2], "y": [3, 4], "label": "trials", "color": "#999"}], "lut", "accuracy")
    >>> svg.startswith("<svg") and "lut" in svg
    True

Each series: ``x``, ``y``, ``label``, ``color``, optional ``marker`` (``circle``, ``ring``, ``cross``,
``square``), ``size``, ``titles`` (hover text per point) and ``line`` (join the points). ``links`` draws
segments between pairs of points (predicted -> measured).
"""
from __future__ import annotations

import math
from html import escape
from typing import Sequence

__all__ = ["scatter_svg", "line_svg", "nice_ticks"]

W, H = 420, 300
ML, MR, MT, MB = 62, 12, 12, 44


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step + 1e-9) * step
    ticks, v = [round(start, 10)], start
    while v < hi - step * 1e-9:
        v += step
        ticks.append(round(v, 10))
    return ticks


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 10000:
        return f"{v / 1000:.0f}k"
    if a >= 1000:
        return f"{v / 1000:.1f}k"
    if a >= 10:
        return f"{v:.0f}"
    if a >= 1:
        return f"{v:.1f}".rstrip("0").rstrip(".")
    return f"{v:.3f}".rstrip("0").rstrip(".")


def _frame(xs: Sequence[float], ys: Sequence[float], xlabel: str, ylabel: str):
    xs = [x for x in xs if x is not None and math.isfinite(x)] or [0.0, 1.0]
    ys = [y for y in ys if y is not None and math.isfinite(y)] or [0.0, 1.0]
    xt, yt = nice_ticks(min(xs), max(xs)), nice_ticks(min(ys), max(ys))
    x0, x1 = xt[0], xt[-1] if xt[-1] > xt[0] else xt[0] + 1
    y0, y1 = yt[0], yt[-1] if yt[-1] > yt[0] else yt[0] + 1

    def px(x):
        return ML + (x - x0) / (x1 - x0) * (W - ML - MR)

    def py(y):
        return H - MB - (y - y0) / (y1 - y0) * (H - MT - MB)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect x="{ML}" y="{MT}" width="{W - ML - MR}" height="{H - MT - MB}" fill="#fff" stroke="#888"/>']
    for t in xt:
        parts.append(f'<line x1="{px(t):.1f}" y1="{MT}" x2="{px(t):.1f}" y2="{H - MB}" stroke="#eee"/>'
                     f'<text x="{px(t):.1f}" y="{H - MB + 14}" text-anchor="middle">{_fmt(t)}</text>')
    for t in yt:
        parts.append(f'<line x1="{ML}" y1="{py(t):.1f}" x2="{W - MR}" y2="{py(t):.1f}" stroke="#eee"/>'
                     f'<text x="{ML - 4}" y="{py(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    parts.append(f'<text x="{(ML + W - MR) / 2}" y="{H - 8}" text-anchor="middle" font-weight="bold">'
                 f'{escape(xlabel)}</text>')
    parts.append(f'<text transform="translate(14,{(MT + H - MB) / 2}) rotate(-90)" text-anchor="middle" '
                 f'font-weight="bold">{escape(ylabel)}</text>')
    return parts, px, py


def _marker(kind: str, x: float, y: float, color: str, size: float, title: str) -> str:
    t = f"<title>{escape(title)}</title>" if title else ""
    if kind == "ring":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size + 2.5}" fill="none" stroke="{color}" stroke-width="2">{t}</circle>'
    if kind == "cross":
        s = size
        return (f'<path d="M{x - s:.1f},{y - s:.1f}L{x + s:.1f},{y + s:.1f}M{x - s:.1f},{y + s:.1f}L{x + s:.1f},'
                f'{y - s:.1f}" stroke="{color}" stroke-width="2">{t}</path>')
    if kind == "square":
        return (f'<rect x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size}" height="{2 * size}" '
                f'fill="{color}">{t}</rect>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size}" fill="{color}" fill-opacity="0.8">{t}</circle>'


def scatter_svg(series: list[dict], xlabel: str, ylabel: str, links: list | None = None) -> str:
    """A scatter plot with a legend; see the module docstring for the series format."""
    xs = [x for s in series for x in s["x"]]
    ys = [y for s in series for y in s["y"]]
    parts, px, py = _frame(xs, ys, xlabel, ylabel)
    for (xa, ya), (xb, yb) in links or []:
        if None not in (xa, ya, xb, yb):
            parts.append(f'<line x1="{px(xa):.1f}" y1="{py(ya):.1f}" x2="{px(xb):.1f}" y2="{py(yb):.1f}" '
                         f'stroke="#2a2" stroke-dasharray="3,2"/>')
    for s in series:
        pts = [(x, y, i) for i, (x, y) in enumerate(zip(s["x"], s["y"])) if x is not None and y is not None]
        if s.get("line") and len(pts) > 1:
            d = "M" + "L".join(f"{px(x):.1f},{py(y):.1f}" for x, y, _ in pts)
            parts.append(f'<path d="{d}" fill="none" stroke="{s["color"]}" stroke-width="2"/>')
        titles = s.get("titles") or []
        for x, y, i in pts:
            parts.append(_marker(s.get("marker", "circle"), px(x), py(y), s["color"], s.get("size", 3),
                                 titles[i] if i < len(titles) else ""))
    ly = MT + 12
    for s in series:
        if not s.get("label"):
            continue
        parts.append(_marker(s.get("marker", "circle"), W - MR - 110, ly - 4, s["color"], 3, ""))
        parts.append(f'<text x="{W - MR - 102}" y="{ly}">{escape(s["label"])}</text>')
        ly += 14
    parts.append("</svg>")
    return "".join(parts)


def line_svg(x: Sequence[float], y: Sequence[float], xlabel: str, ylabel: str, color: str = "#1f77b4",
             extra: list[dict] | None = None) -> str:
    """A line chart (e.g. hypervolume over trials), optionally with more series in ``extra``."""
    series = [{"x": list(x), "y": list(y), "color": color, "line": True, "size": 1.5, "label": ylabel}]
    return scatter_svg(series + list(extra or []), xlabel, ylabel)

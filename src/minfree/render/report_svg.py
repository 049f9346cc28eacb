"""Inline SVG plots for ``minfree report``, drawn here in Python: no script, no font, no network.

Every plot is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (its text alternative),
and tells its series apart without colour: lines by dash pattern and a label at their end,
markers by shape and a label, bars by their printed value, heatmap cells by a palette whose
lightness alone orders the values (it reads in grey) and by the data table beside it. Every
string is escaped (:func:`esc`): zone, host and process names come from other machines' logs.
"""
from __future__ import annotations

import html
import math
from typing import Callable, Sequence

from minfree.model.record import field, record

WIDTH, HEIGHT = 860, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 96, 16, 34
#: Told apart by pattern: solid, long dash, short dash, dot, dash-dot...
DASHES = ("", "8 4", "3 3", "1 3", "8 3 1 3", "12 3 3 3", "2 6", "6 2")
#: Stroke colours (also told apart by DASHES and labels; colour is a help, never the only cue).
COLOURS = ("#1f4e9c", "#b3261e", "#7a5a00", "#2e7d32", "#6a1b9a", "#00838f", "#5d4037", "#37474f")
#: A sequential palette, light to dark: lightness falls monotonically (it prints in grey).
PALETTE = ("#fff7bc", "#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02", "#993404", "#662506", "#3b1a04")


def esc(value: object) -> str:
    """Any value as HTML/SVG text, every markup character escaped.

    >>> esc('<script>alert("x")</script> & co')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co'
    """
    return html.escape(str(value), quote=True)


@record(frozen=False)
class Line:
    """One series of a line chart: its label (printed at its end), its (x, y) points in data units,
    and its stroke width."""

    label: str
    points: list[tuple[float, float]]
    width: float = 1.5


@record(frozen=False)
class Marker:
    """A vertical marker of a line chart (a failure): its x in data units and its label."""

    x: float
    label: str


@record(frozen=False)
class Plot:
    """What every plot has: an id (for aria), a title and a description."""

    ident: str
    title: str
    desc: str
    extra: list[str] = field(default_factory=list)

    def open(self, width: int = WIDTH, height: int = HEIGHT) -> str:
        return (f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
                f'width="{width}" height="{height}" role="img" aria-labelledby="{esc(self.ident)}-t {esc(self.ident)}-d">'
                f'<title id="{esc(self.ident)}-t">{esc(self.title)}</title>'
                f'<desc id="{esc(self.ident)}-d">{esc(self.desc)}</desc>')


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high].

    >>> _ticks(0, 100), _ticks(0, 215.3)
    ([0, 20, 40, 60, 80, 100], [0, 50, 100, 150, 200, 250])
    """
    if high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if step * m >= raw)
    first = math.floor(low / step) * step
    ticks = [round(first + i * step, 10) for i in range(count + 3)]
    return [t for i, t in enumerate(ticks) if i == 0 or ticks[i - 1] < high - step * 1e-9]


def line_chart(plot: Plot, lines: Sequence[Line], markers: Sequence[Marker], x_range: tuple[float, float],
               x_format: Callable[[float], str], y_label: str, y_max: float | None = None) -> str:
    """Lines over a shared x axis (time), with vertical markers (failures) labelled below it."""
    x0, x1 = x_range
    x1 = x1 if x1 > x0 else x0 + 1
    ys = [y for line in lines for _, y in line.points]
    top = y_max if y_max is not None else (max(ys) * 1.08 if ys and max(ys) > 0 else 1.0)
    ticks = _ticks(0, top)
    top = max(top, ticks[-1])
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * w

    def py(y: float) -> float:
        return TOP + h - y / top * h

    out = [plot.open(), f'<g class="axes" font-size="11" fill="#222">', _axis_labels(y_label, x_range, x_format)]
    for t in ticks:
        out.append(f'<line x1="{LEFT}" x2="{LEFT + w}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#ddd"/>'
                   f'<text x="{LEFT - 4}" y="{py(t) + 4:.1f}" text-anchor="end">{esc(_num(t))}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="none" stroke="#888"/></g>')
    for m in markers:
        out.append(f'<g class="marker"><title>{esc(m.label)}</title>'
                   f'<line x1="{px(m.x):.1f}" x2="{px(m.x):.1f}" y1="{TOP}" y2="{TOP + h}" stroke="#000" '
                   f'stroke-width="1" stroke-dasharray="2 2"/>'
                   f'<path d="M{px(m.x) - 5:.1f},{TOP + h + 2} l5,8 l5,-8 z" fill="#000"/></g>')
    label_y = _spread({i: py(line.points[-1][1]) + 4 for i, line in enumerate(lines) if line.points}, 11)
    for i, line in enumerate(lines):
        if not line.points:
            continue
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line.points)
        dash = DASHES[i % len(DASHES)]
        out.append(f'<g class="series"><title>{esc(line.label)}</title><polyline points="{coords}" fill="none" '
                   f'stroke="{COLOURS[i % len(COLOURS)]}" stroke-width="{line.width}"'
                   + (f' stroke-dasharray="{dash}"' if dash else "") + "/>"
                   f'<text x="{LEFT + w + 4}" y="{label_y[i]:.1f}" font-size="11" '
                   f'fill="{COLOURS[i % len(COLOURS)]}">{esc(line.label)}</text></g>')
    if markers:
        out.append(f'<text x="{LEFT + w + 4}" y="{TOP + h + 10}" font-size="10">&#9660; failure</text>')
    out.append("</svg>")
    return "".join(out)


def _spread(wanted: dict[int, float], gap: float) -> dict[int, float]:
    """Label heights moved apart so that no two are closer than ``gap`` (pushed downwards, in
    the order of the heights they wanted).

    >>> _spread({0: 50.0, 1: 52.0, 2: 90.0}, 11)
    {0: 50.0, 1: 61.0, 2: 90.0}
    """
    placed: dict[int, float] = {}
    floor = float("-inf")
    for key, y in sorted(wanted.items(), key=lambda kv: kv[1]):
        placed[key] = max(y, floor + gap)
        floor = placed[key]
    return placed


def heatmap(plot: Plot, columns: Sequence[float], column_span: float, rows: Sequence[str],
            values: Sequence[Sequence[int]], x_range: tuple[float, float], x_format: Callable[[float], str],
            y_label: str) -> str:
    """``values[column][row]`` as cells on a log colour scale (0 in white, then log10(n+1));
    ``columns`` are the times the columns start, each ``column_span`` seconds wide (a time the
    recorder was not running stays blank)."""
    x0, x1 = x_range
    x1 = x1 if x1 > x0 else x0 + 1
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max((v for col in values for v in col), default=0)
    scale = math.log10(top + 1) or 1.0
    cell_w = min(column_span, x1 - x0) / (x1 - x0) * w
    cell_h = h / max(len(rows), 1)
    out = [plot.open(), '<g font-size="11" fill="#222">', _axis_labels(y_label, x_range, x_format)]
    for r, label in enumerate(rows):
        out.append(f'<text x="{LEFT - 4}" y="{TOP + h - (r + 0.5) * cell_h + 4:.1f}" text-anchor="end">{esc(label)}</text>')
    out.append('</g><g class="cells" shape-rendering="crispEdges">')
    for start, column in zip(columns, values):
        left = LEFT + max(start - x0, 0) / (x1 - x0) * w
        for r, value in enumerate(column):
            if value <= 0:
                continue
            shade = PALETTE[min(int(math.log10(value + 1) / scale * (len(PALETTE) - 1) + 0.5), len(PALETTE) - 1)]
            out.append(f'<rect x="{left:.1f}" y="{TOP + h - (r + 1) * cell_h:.1f}" '
                       f'width="{cell_w + 0.3:.1f}" height="{cell_h:.1f}" fill="{shade}"/>')
    out.append(f'</g><rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="none" stroke="#888"/>')
    legend_x = LEFT + w + 10
    for i, colour in enumerate(PALETTE):
        y = TOP + h - (i + 1) * h / len(PALETTE)
        out.append(f'<rect x="{legend_x}" y="{y:.1f}" width="14" height="{h / len(PALETTE):.1f}" fill="{colour}" stroke="#999" stroke-width="0.3"/>')
    out.append(f'<text x="{legend_x + 18}" y="{TOP + 10}" font-size="10">{esc(_num(top))}</text>'
               f'<text x="{legend_x + 18}" y="{TOP + h}" font-size="10">1</text>'
               f'<text x="{legend_x}" y="{TOP + h + 14}" font-size="10">log scale</text></svg>')
    return "".join(out)


def _axis_labels(y_label: str, x_range: tuple[float, float], x_format: Callable[[float], str]) -> str:
    """The y axis's name and five labels along the x axis (the plot area: LEFT..WIDTH-RIGHT)."""
    x0, x1 = x_range
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    return (f'<text x="12" y="{TOP + h / 2:.0f}" transform="rotate(-90 12 {TOP + h / 2:.0f})" '
            f'text-anchor="middle">{esc(y_label)}</text>'
            + "".join(f'<text x="{LEFT + w * i / 4:.1f}" y="{HEIGHT - 18}" text-anchor="middle">'
                      f'{esc(x_format(x0 + (x1 - x0) * i / 4))}</text>' for i in range(5)))


def bar_chart(plot: Plot, items: Sequence[tuple[str, float]], unit: str = "", log: bool = False) -> str:
    """Horizontal bars, each with its label and its value printed (``log``: log10(value+1) lengths)."""
    row = 20
    height = TOP + BOTTOM + row * max(len(items), 1)
    width = WIDTH
    label_w = 190
    w = width - label_w - 120
    top = max((v for _, v in items), default=0)

    def length(v: float) -> float:
        if top <= 0 or v <= 0:
            return 0.0
        return (math.log10(v + 1) / math.log10(top + 1) if log else v / top) * w

    out = [plot.open(width, height), '<g font-size="11" fill="#222">']
    for i, (label, value) in enumerate(items):
        y = TOP + i * row
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{esc(label)}</text>'
                   f'<rect x="{label_w}" y="{y + 3}" width="{length(value):.1f}" height="{row - 6}" '
                   f'fill="{COLOURS[0]}" stroke="#000" stroke-width="0.5"/>'
                   f'<text x="{label_w + length(value) + 4:.1f}" y="{y + 14}">{esc(_num(value))}{esc(unit)}</text>')
    if log:
        out.append(f'<text x="{label_w}" y="{height - 10}" font-size="10">bar lengths on a log scale</text>')
    out.append("</g></svg>")
    return "".join(out)


def _num(value: float) -> str:
    """
    >>> _num(3.0), _num(12345.0), _num(0.25)
    ('3', '12,345', '0.25')
    """
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"

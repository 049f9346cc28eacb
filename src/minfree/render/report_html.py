"""``minfree report``: the model (:mod:`minfree.analysis.report`) as one self-contained HTML page.

No script runs, nothing is fetched: styles are inline, plots are SVG drawn by
:mod:`minfree.render.report_svg`, fonts are the reader's own. The raw data rides along as JSON
(:mod:`minfree.render.report_data`). Every plot has a text alternative (its SVG title and
description, and a summary or a data table beside it); nothing is told by colour alone; a
print stylesheet lays it out for paper. Every string from a log, a host or a file is escaped.
"""
from __future__ import annotations

import time
from typing import Iterable

from minfree.analysis.explain import ExplainedEvent
from minfree.analysis.report import ReportModel
from minfree.analysis.report_series import ZoneSeries
from minfree.analysis.zones import ZoneView
from minfree.render.doctor_text import evidence_text
from minfree.render.report_data import embedded, script_json
from minfree.render.report_svg import Line, Marker, Plot, bar_chart, esc, heatmap, line_chart

#: Failure reports explained in the page (all are counted; the JSON holds up to EVENTS_EMBEDDED).
EVENTS_SHOWN = 200
STATUS_SIGN = {"OK": "\u2714 OK", "WARNING": "\u25b2 WARNING", "CRITICAL": "\u2716 CRITICAL", "UNKNOWN": "? UNKNOWN"}
TEXT, OUTLIER = ' class="text"', ' class="outlier"'
SEVERITY_SIGN = {"critical": "\u2716 critical", "warning": "\u25b2 warning", "info": "\u2139 info"}

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:960px;padding:1em;color:#111;background:#fff}
h1{font-size:1.5em;margin:.2em 0}h2{border-bottom:2px solid #333;margin-top:1.6em}h3{margin:1em 0 .3em}
.meta{color:#444}.status{display:inline-block;padding:.2em .7em;border:3px solid #000;font-weight:700;font-size:1.3em}
.status.CRITICAL{background:#fde0dc;border-style:double}.status.WARNING{background:#fff3c4;border-style:dashed}
.status.OK{background:#e3f4e1}.finding{border-left:6px solid #555;padding:.1em .8em;margin:.6em 0}
.finding.critical{border-left-style:double;border-left-color:#b3261e}.finding.warning{border-left-style:dashed;border-left-color:#a66b00}
table{border-collapse:collapse;margin:.4em 0;font-size:.9em}th,td{border:1px solid #999;padding:.15em .5em;text-align:right}
th:first-child,td:first-child{text-align:left}td.text{text-align:left}
tr.outlier td{border-top:2px dashed #000;border-bottom:2px dashed #000;font-weight:600}
pre{white-space:pre-wrap;background:#f4f4f4;padding:.5em;font-size:.85em;overflow-x:auto}
svg.plot{max-width:100%;height:auto;display:block}.caption{font-size:.85em;color:#333}
.wide{overflow-x:auto}details{margin:.3em 0}summary{cursor:pointer}.missing{border:1px dashed #555;padding:.3em .8em}
@media print{body{max-width:none;font-size:11pt}details::details-content{display:block;content-visibility:visible}
 details>*{display:block}summary{font-weight:700}.wide{overflow:visible}
 .finding,figure,table,tr{break-inside:avoid}h2{break-after:avoid}a{color:#000}}
"""


def render(model: ReportModel, generated: float | None = None) -> str:
    generated = time.time() if generated is None else generated
    parts = [_head(model, generated), _verdict(model)]
    if model.fleet is not None:
        parts.append(_fleet(model))
    if model.series:
        parts.append(_history(model))
    elif model.doctor is not None:
        parts.append(_instant(model.doctor.zones.zones, model.doctor.state.page_size))
    parts.append(_failures(model))
    if model.tune is not None:
        parts.append(_tune(model))
    if model.missing:
        parts.append('<section id="missing"><h2>What this report cannot show</h2>'
                     + "".join(f'<p class="missing">{esc(m)}</p>' for m in model.missing) + "</section>")
    parts.append(_data(model, generated))
    return "".join(parts) + "</body></html>\n"


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def _clock(t: float) -> str:
    return time.strftime("%H:%M", time.gmtime(t))


def _head(model: ReportModel, generated: float) -> str:
    host = kernel = None
    if model.doctor is not None:   # the source names the host (live) or the capture
        kernel = model.doctor.state.release
    elif model.recording is not None:
        host, kernel = model.recording.hostname, model.recording.release
    who = "".join(f" \u00b7 {esc(label)} <b>{esc(value)}</b>" for label, value in (("host", host), ("kernel", kernel))
                  if value)
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
            f"<title>minfree report: {esc(model.kind)} {esc(model.source)}</title><style>{STYLE}</style></head><body>"
            f'<header><h1>minfree report</h1><p class="meta">{esc(model.kind)} report of <b>{esc(model.source)}</b>{who}'
            f" \u00b7 made {esc(_when(generated))}</p></header>")


def _verdict(model: ReportModel) -> str:
    out = ['<section id="verdict"><h2>Verdict</h2>',
           f'<p><span class="status {esc(model.status)}">{esc(STATUS_SIGN.get(model.status, model.status))}</span> '
           f'<span class="caption">judged from {esc(model.status_basis)}</span></p>']
    if model.headline:
        out.append("<ul>" + "".join(f"<li>{esc(h)}</li>" for h in model.headline) + "</ul>")
    serious = [f for f in model.findings if f.severity != "info"]
    if not model.findings and not model.headline:
        out.append("<p>No findings.</p>")
    for f in model.findings:
        out.append(f'<details class="finding {esc(f.severity)}"{" open" if f in serious else ""}>'
                   f"<summary><b>{esc(SEVERITY_SIGN.get(f.severity, f.severity))}</b>: {esc(f.title)}</summary>"
                   f"<p>{esc(f.explanation)}</p><p><b>Fix:</b> {esc(f.fix)}</p>"
                   f"<p><b>Evidence</b> ({esc(f.id)}): {esc(evidence_text(f.evidence))}</p></details>")
    return "".join(out) + "</section>"


def _mib(pages: float, page_size: int) -> float:
    return pages * page_size / 2**20


def _history(model: ReportModel) -> str:
    recording = model.recording
    assert recording is not None
    page = recording.page_size
    span = (recording.since, recording.until)
    markers = [Marker(f.t, f"failure at {_when(f.t)}: {f.summary or f.process}") for f in recording.failures]
    out = ['<section id="zones-over-time"><h2>Free memory against the watermarks, per zone</h2>',
           f'<p class="caption">{recording.samples:,} samples from {esc(_when(recording.since))} to '
           f"{esc(_when(recording.until))} in {esc(recording.path)}. Downsampled: each point is the sample with "
           f"the lowest free memory in a {recording.bucket:g} s bucket (its watermarks as recorded then); "
           f"every sample is counted in the figures below. \u25bc marks a failure report logged while recording.</p>"]
    for s in model.series:
        lines = [Line("free", [(p.t, _mib(p.free, page)) for p in s.points], 2.0)]
        lines += [Line(mark, [(p.t, _mib(getattr(p, mark), page)) for p in s.points]) for mark in ("min", "low", "high")]
        lowest = s.lowest
        summary = (f"{s.label}: {s.samples:,} samples, free under low in {s.under_low:,} "
                   f"({s.under_low / max(s.samples, 1):.1%}), under min in {s.under_min:,}; lowest "
                   f"{_mib(lowest.free, page):,.1f} MiB at {_when(lowest.t)} (min {_mib(lowest.min, page):,.1f}, "
                   f"low {_mib(lowest.low, page):,.1f} MiB); {len(markers)} failure report(s) marked")
        plot = Plot(f"free-{s.node}-{s.zone}", f"Free memory vs min/low/high, {s.label}", summary)
        out.append(f"<figure><h3>{esc(s.label)}</h3>"
                   + line_chart(plot, lines, markers, span, _clock, "MiB")
                   + f'<figcaption class="caption">{esc(summary)}.</figcaption></figure>')
    out.append("</section>")
    out.append(_heatmaps(model.series, span, recording.bucket))
    out.append(_unusable(model.series, span))
    return "".join(out)


def _heatmaps(series: list[ZoneSeries], span: tuple[float, float], bucket: float) -> str:
    out = ['<section id="free-blocks"><h2>Free blocks per order over time</h2>']
    for s in series:
        if not any(p.free_blocks for p in s.heat):
            continue
        orders = max(len(p.free_blocks) for p in s.heat)
        values = [list(p.free_blocks) + [0] * (orders - len(p.free_blocks)) for p in s.heat]
        desc = (f"{s.label}: free blocks of each order 0 to {orders - 1}, {len(s.heat)} columns of {s.heat_span:g} s "
                f"(each the lowest-free sample in it), log colour scale; table below")
        plot = Plot(f"blocks-{s.node}-{s.zone}", f"Free blocks per order over time, {s.label}", desc)
        picks = s.heat[:: max(1, len(s.heat) // 8)]
        table = _table(["time (UTC)"] + [f"order {o}" for o in range(orders)],
                       [[_when(p.t)] + [f"{n:,}" for n in p.free_blocks] for p in picks])
        out.append(f"<figure><h3>{esc(s.label)}</h3>"
                   + heatmap(plot, s.heat_starts, s.heat_span, [str(o) for o in range(orders)], values, span, _clock,
                             "order")
                   + f'<figcaption class="caption">{esc(desc)}.</figcaption>'
                   f"<details><summary>Data table ({len(picks)} of the {len(s.heat)} columns)</summary>{table}</details></figure>")
    return "".join(out) + "</section>"


def _unusable(series: list[ZoneSeries], span: tuple[float, float]) -> str:
    out = ['<section id="unusable"><h2>Unusable free space index per order over time</h2>'
           '<p class="caption">The kernel\'s unusable index (mm/vmstat.c unusable_free_index, as '
           "/sys/kernel/debug/extfrag/unusable_index prints it): the share of free memory in blocks too small "
           "for an order. 0 = all free memory usable, 1 = none. Same points as above.</p>"]
    for s in series:
        if not any(s.unusable):
            continue
        orders = max(len(u) for u in s.unusable)
        lines = [Line(f"order {o}", [(p.t, u[o] / 1000) for p, u in zip(s.points, s.unusable) if len(u) > o])
                 for o in range(1, orders) if o in (1, 2, 3, 4, 6, 9, 10)]
        last = s.unusable[-1]
        desc = (f"{s.label}: unusable index of orders " + ", ".join(line.label[6:] for line in lines)
                + "; at the end: " + ", ".join(f"order {o} {last[o] / 1000:.3f}" for o in range(1, len(last))))
        plot = Plot(f"unusable-{s.node}-{s.zone}", f"Unusable index per order over time, {s.label}", desc)
        out.append(f"<figure><h3>{esc(s.label)}</h3>" + line_chart(plot, lines, [], span, _clock, "index", 1.0)
                   + f'<figcaption class="caption">{esc(desc)}.</figcaption></figure>')
    return "".join(out) + "</section>"


def _instant(zones: list[ZoneView], page_size: int) -> str:
    """One reading: free vs watermarks, free blocks and unusable index per zone, now."""
    out = ['<section id="zones-now"><h2>Zones at this instant</h2>']
    rows = []
    for z in zones:
        i = z.info
        if not i.managed:
            continue
        rows.append([f"node {i.node} {i.zone}"] + [f"{_mib(v, page_size):,.1f}" for v in (i.free, i.min, i.low, i.high)]
                    + ["below min" if i.free < i.min else "below low" if i.free < i.low else "above low"])
        label = f"node {i.node} {i.zone}"
        items = [(f"{k} ({_mib(v, page_size):,.1f} MiB)", float(v)) for k, v in
                 (("free", i.free), ("min", i.min), ("low", i.low), ("high", i.high))]
        out.append(f"<figure><h3>{esc(label)}</h3><h4>Free memory and the watermarks</h4>" + bar_chart(Plot(
            f"now-{i.node}-{i.zone}", f"Free vs watermarks, {label}",
            f"{label}: free {i.free:,} pages, min {i.min:,}, low {i.low:,}, high {i.high:,}"), items, " pages"))
        if z.free_blocks:
            out.append("<h4>Free blocks per order</h4>" + bar_chart(Plot(
                f"blocks-now-{i.node}-{i.zone}", f"Free blocks per order, {label}",
                f"{label}: free blocks per order " + ", ".join(f"{o}: {n}" for o, n in enumerate(z.free_blocks))),
                [(f"order {o}", float(n)) for o, n in enumerate(z.free_blocks)], log=True))
            out.append("<h4>Unusable free space index per order (0 = all usable, 1 = none)</h4>" + bar_chart(Plot(
                f"unusable-now-{i.node}-{i.zone}", f"Unusable index per order, {label}",
                f"{label}: unusable index per order ({z.indices_from}) "
                + ", ".join(f"{o}: {u / 1000:.3f}" for o, u in enumerate(z.unusable))),
                [(f"order {o}", u / 1000) for o, u in enumerate(z.unusable)]))
        out.append("</figure>")
    out.append(_table(["zone", "free MiB", "min MiB", "low MiB", "high MiB", "free is"], rows))
    return "".join(out) + "</section>"


def _failures(model: ReportModel) -> str:
    b = model.breakdown
    out = ['<section id="failures"><h2>Failures by order, origin and class</h2>']
    if not b.total:
        out.append("<p>No page allocation failure report in what was read.</p>")
    for title, counts, key in (("order", b.by_order, "order"), ("origin", b.by_origin, "origin"),
                               ("class", b.by_class, "class")):
        if not counts:
            continue
        items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        desc = f"failure reports by {title}: " + ", ".join(f"{k} {n}" for k, n in items)
        out.append(f"<h3>By {esc(title)}</h3>" + bar_chart(Plot(f"by-{key}", f"Failures by {title}", desc),
                                                          [(f"{title} {k}", float(n)) for k, n in items]))
    if model.scan is not None and model.scan.events:
        events = model.scan.events
        out.append(f"<h3>The reports, explained ({len(events):,})</h3>")
        if len(events) > EVENTS_SHOWN:
            out.append(f"<p>The first {EVENTS_SHOWN} are shown; all are counted above.</p>")
        out.extend(_event(e) for e in events[:EVENTS_SHOWN])
    return "".join(out) + "</section>"


def _event(e: ExplainedEvent) -> str:
    from minfree.render.explanation import explanation_rows
    from minfree.render.scan_text import one_line

    ev = e.event
    rows = [("Where", f"{ev.source}:{ev.line} {ev.host or ''}"), *explanation_rows(e)]
    trace = "\n".join(f.function + (f" [{f.module}]" if f.module else "") for f in e.frames)
    return (f"<details><summary>{esc(one_line(e))}</summary><dl>"
            + "".join(f"<dt><b>{esc(k)}</b></dt><dd>{esc(v)}</dd>" for k, v in rows)
            + (f"<dt><b>Call trace</b></dt><dd><pre>{esc(trace)}</pre></dd>" if trace else "") + "</dl></details>")


def _tune(model: ReportModel) -> str:
    tune = model.tune
    assert tune is not None
    page = model.doctor.state.page_size if model.doctor else 4096
    out = ['<section id="tune"><h2>What <code>minfree tune</code> recommends</h2>',
           f'<p class="caption">Dry run, profile {esc(tune.proposal.profile)}: the same proposal and watermark '
           "model as <code>minfree tune</code>; nothing was changed.</p>",
           _table(["setting", "current", "proposed", "reason"],
                  [[c.key, "-" if c.current is None else f"{c.current:,}",
                    "-" if c.proposed is None else f"{c.proposed:,}", c.refused or c.reason]
                   for c in tune.proposal.changes], text_columns=(3,))]
    after = {(p.node, p.zone): p for p in tune.after}
    rows = []
    for p in tune.before:
        a = after.get((p.node, p.zone))
        if a is None or not (p.watermarks.high or a.watermarks.high):   # an empty zone: nothing to reserve
            continue
        cells = [f"node {p.node} {p.zone}"]
        for mark in ("min", "low", "high"):
            b_val, a_val = getattr(p.watermarks, mark), getattr(a.watermarks, mark)
            cells.append(f"{_mib(b_val, page):,.1f} \u2192 {_mib(a_val, page):,.1f}")
        rows.append(cells)
    out.append("<h3>Predicted watermarks, before \u2192 after (MiB)</h3>"
               + _table(["zone", "min", "low", "high"], rows))
    items = [(f"node {p.node} {p.zone} low {when}", _mib(getattr(src, 'watermarks').low, page))
             for p in tune.before if (p.node, p.zone) in after and (p.watermarks.high or after[(p.node, p.zone)].watermarks.high)
             for when, src in (("before", p), ("after", after[(p.node, p.zone)]))]
    if items:
        out.append(bar_chart(Plot("tune-low", "Low watermark per zone before and after the proposal",
                                  "; ".join(f"{k}: {v:,.1f} MiB" for k, v in items)), items, " MiB"))
    if tune.proposal.notes:
        out.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in tune.proposal.notes) + "</ul>")
    return "".join(out) + "</section>"


def _fleet(model: ReportModel) -> str:
    fleet = model.fleet
    assert fleet is not None
    columns = ("name", "status", "kernel", "failures", "min_free_kbytes", "recommended_kb", "watermark_scale_factor",
               "headroom_kb", "unusable")
    rows = []
    for row in fleet.rows:
        name = str(row.get("name"))
        marks = fleet.outliers_of(name)
        flag = "; ".join(f"\u2691 outlier ({o.get('kind')}: {o.get('key')}): {o.get('explanation')}" for o in marks)
        cells = "".join(f"<td{TEXT if c in ('name', 'status', 'kernel') else ''}>{esc(_cell(row.get(c)))}</td>"
                        for c in columns)
        rows.append(f"<tr{OUTLIER if marks else ''}>{cells}</tr>")
        if flag:   # a full-width line under the host's row: the table stays as wide as the page
            rows.append(f'<tr{OUTLIER}><td class="text" colspan="{len(columns)}">{esc(flag)}</td></tr>')
    head = "".join(f"<th>{esc(c.replace('_', ' '))}</th>" for c in columns)
    out = [f'<section id="fleet"><h2>Fleet: one row per host (fleet {esc(fleet.command)})</h2>',
           f"<p>{len(fleet.rows)} host(s) answered; {len(fleet.outliers)} outlier mark(s), shown with \u2691 and a "
           "dashed row border.</p>",
           f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>']
    if fleet.unanswered:
        out.append("<p>Did not answer: " + esc(", ".join(fleet.unanswered)) + "</p>")
    return "".join(out) + "</section>"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _table(head: Iterable[str], rows: Iterable[Iterable[str]], text_columns: tuple[int, ...] = ()) -> str:
    body = "".join("<tr>" + "".join(f"<td{TEXT if i in text_columns else ''}>{esc(c)}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in head)}</tr></thead><tbody>{body}</tbody></table>"


def _data(model: ReportModel, generated: float) -> str:
    return ('<section id="data"><h2>The data in this file</h2><p class="caption">The figures above are embedded as '
            'JSON (schema minfree.report/1) in the element <code>script#minfree-data</code>: doctor\'s and scan\'s '
            "documents, tune's proposal, the history as plotted (bucketed, not every sample) and the fleet run. "
            "Extract it with a browser's developer tools or any HTML parser.</p></section>"
            f'<script type="application/json" id="minfree-data">{script_json(embedded(model, generated))}</script>')

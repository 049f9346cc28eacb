"""The raw data a ``minfree report`` embeds (``<script type="application/json" id="minfree-data">``),
so the report can be re-analysed: schema ``minfree.report/1``.

``{"schema", "kind", "source", "generated", "status", "status_basis", "findings": [...],
"doctor": doctor JSON | null, "scan": scan JSON | null (events capped at EVENTS_EMBEDDED, with
"events_total"), "tune": {"changes", "predicted_zones_before", "predicted_zones"} | null,
"history": {"db", "since", "until", "samples", "bucket_seconds", "points_are": ..., "zones":
[{"node", "zone", "columns": [...], "points": [[...]...]}], "failures": [...]} | null,
"fleet": the fleet run's document | null, "missing": [...]}``.
The history is embedded as plotted (bucketed), never sample by sample: bounded whatever the
length of the recording.
"""
from __future__ import annotations

import json
from typing import Any

from minfree.analysis.report import ReportModel, TunePreview
from minfree.analysis.report_series import Recording, ZoneSeries

SCHEMA = "minfree.report/1"
#: Failure reports embedded in full (a scan of a huge log can hold thousands).
EVENTS_EMBEDDED = 500
POINT_COLUMNS = ["start", "samples", "under_low", "under_min", "t", "free", "min", "low", "high", "free_blocks"]


def embedded(model: ReportModel, generated: float) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": SCHEMA, "kind": model.kind, "source": model.source, "generated": generated,
        "status": model.status, "status_basis": model.status_basis,
        "findings": [f.to_json() for f in model.findings],
        "doctor": None, "scan": None, "tune": None, "history": None, "fleet": model.fleet_document,
        "missing": model.missing,
    }
    if model.doctor is not None:
        from minfree.render.doctor_json import to_json

        data["doctor"] = to_json(model.doctor)
    if model.scan is not None:
        from minfree.render.scan_json import report_to_json

        scan = report_to_json(model.scan)
        scan["events_total"] = len(scan["events"])
        scan["events"] = scan["events"][:EVENTS_EMBEDDED]
        data["scan"] = scan
    if model.tune is not None:
        data["tune"] = _tune(model.tune)
    if model.recording is not None:
        data["history"] = _history(model.recording, model.series)
    return data


def _tune(tune: TunePreview) -> dict[str, Any]:
    from minfree.render.tune_json import predicted_zones

    return {"profile": tune.proposal.profile,
            "changes": [{"key": c.key, "current": c.current, "proposed": c.proposed, "reason": c.reason,
                         "refused": c.refused} for c in tune.proposal.changes],
            "predicted_zones_before": predicted_zones(tune.before),
            "predicted_zones": predicted_zones(tune.after)}


def _history(recording: Recording, series: list[ZoneSeries]) -> dict[str, Any]:
    return {
        "db": recording.path, "hostname": recording.hostname, "release": recording.release,
        "since": recording.since, "until": recording.until, "samples": recording.samples,
        "page_size": recording.page_size, "bucket_seconds": recording.bucket,
        "points_are": "per zone and bucket, the sample with the lowest free memory (its watermarks "
                      "and free blocks per order), and how many of the bucket's samples were under low and min",
        "psi_some_max": recording.psi_some_max, "psi_full_max": recording.psi_full_max,
        "zones": [{"node": s.node, "zone": s.zone, "columns": POINT_COLUMNS,
                   "points": [[p.start, p.samples, p.under_low, p.under_min, p.t, p.free, p.min, p.low, p.high,
                               list(p.free_blocks)] for p in s.points]} for s in series],
        "failures": [{"t": f.t, "process": f.process, "order": f.order, "origin": f.origin,
                      "class": f.request_class, "summary": f.summary} for f in recording.failures],
    }


def script_json(data: dict[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` survives unescaped, so
    no string (a log line holding ``</script>``) can end the element.

    >>> script_json({"line": "</script><b>"})
    '{"line":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(data, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

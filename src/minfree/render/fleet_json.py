"""The `minfree fleet ... --json` document (schema in the README, "fleet JSON").

``{"schema": 1, "command": "doctor", "status": ..., "hosts": [{"name", "address", "error",
"seconds", ...the command's own document for that host...}], "nodes": [row...],
"outliers": [...], "timeline": [...], "summary": {"hosts", "answered", "failed"}}``. A host
that did not answer has ``error`` set and nothing else of its own; ``nodes`` holds one row per
host that answered. ``fleet snapshot`` and ``fleet tune`` use the same outer shape.
"""
from __future__ import annotations

from typing import Any

from minfree.analysis.fleet import ClusterView, HostOutcome
from minfree.model.record import asdict

SCHEMA_VERSION = 1


def host_entry(outcome: HostOutcome, own: dict[str, Any] | None) -> dict[str, Any]:
    """One host: who, whether it answered, then its own document (``schema`` is the outer one)."""
    entry: dict[str, Any] = {"name": outcome.name, "address": outcome.address, "error": outcome.error,
                             "seconds": round(outcome.seconds, 3)}
    for key, value in (own or {}).items():
        if key != "schema":
            entry.setdefault(key, value)
    return entry


def document(command: str, hosts: list[dict[str, Any]], view: ClusterView | None,
             status: str | None = None, **extra: Any) -> dict[str, Any]:
    failed = [h["name"] for h in hosts if h["error"] is not None]
    doc: dict[str, Any] = {"schema": SCHEMA_VERSION, "command": command}
    if status is not None:
        doc["status"] = status
    doc["hosts"] = hosts
    if view is not None:
        doc["nodes"] = [asdict(row) for row in view.rows]
        doc["outliers"] = [asdict(o) for o in view.outliers]
        doc["timeline"] = [asdict(t) for t in view.timeline]
    doc.update(extra)
    doc["summary"] = {"hosts": len(hosts), "answered": len(hosts) - len(failed), "failed": failed}
    return doc

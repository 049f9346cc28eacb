"""The `minfree tune --json` document: the proposal with reasons and bounds, the predicted zones
after and before, where the values persist and what fights them at boot, advice, notes, and
(with ``--apply``) what applying did.

``{"schema": 1, "profile": "generic", "changes": [{"key", "current", "proposed", "reason",
"bounds": {...}, "refused", "forced"}], "predicted_zones": [zone...], "predicted_zones_before":
[zone...], "persist": {"file", "shadowed_by", "also_set_by", "sets_at_boot"}, "advice": [...], "notes": [...],
"apply": {"ok", "entry", "file", "messages", "mismatches", "rolled_back"}}``, a zone being
``{"node", "zone", "min", "low", "high", "promo", "protection"}`` in pages. ``apply`` is present
with ``--apply`` only; its ``messages`` end with the warnings of a successful apply.

The persistence plan and the apply outcome are stated below as protocols (render does not
import actions); ``render.tune_text`` reads the same objects.
"""
from __future__ import annotations

from typing import Any, Collection, Protocol, Sequence

from minfree.analysis.prediction import ZonePrediction
from minfree.analysis.sizing import Change, Proposal
from minfree.render.undo_json import Entry, entry_files

SCHEMA_VERSION = 1


class Assignment(Protocol):
    """``key = value`` in a config file (``actions.persist.Assignment``)."""

    key: str
    value: str

    def where(self) -> str: ...


class Persistence(Protocol):
    """Where the values persist (``actions.persist.PersistPlan``)."""

    file: str  # relative to the config root
    shadowed_by: Sequence[Assignment]  # applied after the drop-in at boot: they win
    overridden: Sequence[Assignment]  # applied before it


class ApplyOutcome(Protocol):
    """What ``--apply`` did or why it did not (``actions.apply.ApplyResult``)."""

    ok: bool
    entry: Entry | None
    messages: Sequence[str]
    mismatches: Sequence[str]
    rolled_back: bool
    warnings: Sequence[str]


def persisted_file(outcome: ApplyOutcome) -> str | None:
    """The drop-in an apply wrote (its first file), under the config root it was applied to."""
    entry = outcome.entry
    if not outcome.ok or entry is None or not entry.files:
        return None
    return entry_files(entry)[0]


def predicted_zones(predictions: Sequence[ZonePrediction]) -> list[dict[str, Any]]:
    return [{"node": p.node, "zone": p.zone, "min": p.watermarks.min, "low": p.watermarks.low,
             "high": p.watermarks.high, "promo": p.watermarks.promo, "protection": list(p.protection)}
            for p in predictions]


def change_json(c: Change) -> dict[str, Any]:
    """One proposed value (tune's ``changes``, scan's ``sizing.changes``)."""
    return {"key": c.key, "current": c.current, "proposed": c.proposed, "reason": c.reason,
            "bounds": c.bounds.as_dict(), "refused": c.refused, "forced": c.forced, "no_effect": c.no_effect}


def advice_json(proposal: Proposal) -> list[dict[str, Any]]:
    return [{"key": a.key, "current": a.current, "suggestion": a.suggestion, "reason": a.reason}
            for a in proposal.advice]


def boot_settings(persist: Persistence, written: Collection[str]) -> list[Assignment]:
    """Files setting a key minfree does not write: nothing overrides or shadows them, they are
    what the boot applies."""
    return [a for a in (*persist.overridden, *persist.shadowed_by) if a.key not in written]


def to_json(proposal: Proposal, before: Sequence[ZonePrediction], after: Sequence[ZonePrediction],
            persist: Persistence, outcome: ApplyOutcome | None = None,
            written: Collection[str] = ()) -> dict[str, Any]:
    """``written``: the keys --apply writes (the others' files are ``sets_at_boot``)."""
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "profile": proposal.profile,
        "changes": [change_json(c) for c in proposal.changes],
        "predicted_zones": predicted_zones(after),
        "predicted_zones_before": predicted_zones(before),
        "persist": {"file": "/" + persist.file,
                    "shadowed_by": [a.where() for a in persist.shadowed_by if a.key in written],
                    "also_set_by": [a.where() for a in persist.overridden if a.key in written],
                    "sets_at_boot": [f"{a.where()}: {a.key} = {a.value}" for a in boot_settings(persist, written)]},
        "advice": advice_json(proposal),
        "notes": list(proposal.notes),
    }
    if outcome is not None:
        doc["apply"] = {"ok": outcome.ok, "entry": outcome.entry.id if outcome.entry else None,
                        "file": persisted_file(outcome),
                        "messages": [*outcome.messages, *outcome.warnings],
                        "mismatches": list(outcome.mismatches), "rolled_back": outcome.rolled_back}
    return doc

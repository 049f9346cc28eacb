"""Human output of `minfree tune`: each value with its reason and bounds, every zone's
watermarks now and after (with the GFP_ATOMIC reserve below min and the kswapd lead ahead of
it), where the values persist and what fights them, advice and notes; then what --apply did."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Mapping, Sequence

from minfree.analysis.prediction import ZonePrediction
from minfree.analysis.sizing import Change, Proposal
from minfree.model.wmark_check import AllocFlags, Request, alloc_flags_for, reduced_floor
from minfree.model.zones import Watermarks
from minfree.proc.system import SystemState
from minfree.render.tune_json import ApplyOutcome, Persistence, boot_settings, persisted_file

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

ZONES_EXPLAINED = ("per zone (pages; MiB): GFP_ATOMIC may still take 'atomic' below min; "
                   "kswapd wakes 'lead' ahead of min")


def render(state: SystemState, proposal: Proposal, before: Sequence[ZonePrediction],
           after: Sequence[ZonePrediction], persist: Persistence, values: Mapping[str, int],
           console: Console, config_root: str = "/") -> None:
    """The dry run (``values``: what --apply would write; files under ``config_root``)."""
    console.print(f"minfree tune (profile {proposal.profile})", style="bold", markup=False)
    console.print()
    for change in proposal.changes:
        print_change(change, console)
    if after:
        console.print()
        console.print("  " + ZONES_EXPLAINED, markup=False)
        _zones(state, before, after, console)
    console.print()
    console.print(f"  persist: {os.path.join(config_root, persist.file)}" + ("" if values else " (nothing to write)"),
                  markup=False)
    for a in persist.shadowed_by:
        if a.key in values:
            console.print(f"    shadowed at boot by {a.where()}: {a.key} = {a.value} "
                          "(--resolve-conflicts comments it out)", style="yellow", markup=False)
    for a in persist.overridden:
        if a.key in values:
            console.print(f"    also set (earlier, overridden) in {a.where()}: {a.key} = {a.value}", markup=False)
    for a in boot_settings(persist, values):
        console.print(f"    set at boot by {a.where()}: {a.key} = {a.value} (minfree writes nothing for it)",
                      markup=False)
    for a in proposal.advice:
        console.print(f"  advice: {a.key} {a.current} -> {a.suggestion}: {a.reason}", markup=False)
    for note in proposal.notes:
        console.print(f"  note: {note}", style="dim", markup=False)
    if not values and not proposal.refused:
        console.print()
        console.print("  Nothing to change: the current values already meet the policy.", style="green",
                      markup=False)


def print_change(c: Change, console: Console) -> None:
    """One proposed value: current -> proposed, why, bounds, and what stops or limits it."""
    arrow = "unchanged" if c.proposed == c.current else f"-> {c.proposed}"
    console.print(f"  {c.key}: {c.current} {arrow}", style="bold", markup=False)
    console.print(f"      why: {c.reason}", markup=False)
    b = c.bounds
    console.print(f"      bounds: kernel {b.kernel_min}..{b.kernel_max}"
                  + (f", never below the kernel default {b.floor}" if b.floor is not None else "")
                  + (f", safe up to {b.safe_max}" if b.safe_max is not None else ""), markup=False)
    if c.no_effect:
        console.print(f"      no effect: {c.no_effect}", style="yellow", markup=False)
    if c.refused:
        console.print(f"      REFUSED: {c.refused}", style="bold red", markup=False)
    if c.forced:
        console.print(f"      forced past: {c.forced}", style="yellow", markup=False)


def _zones(state: SystemState, before: Sequence[ZonePrediction], after: Sequence[ZonePrediction],
           console: Console) -> None:
    """One row per zone now, and one after where the watermarks change."""
    from rich.padding import Padding
    from rich.table import Table

    table = Table(box=None, header_style="bold", padding=(0, 1), pad_edge=False)
    for column in ("zone", "", "min", "low", "high", "atomic MiB", "lead MiB"):
        table.add_column(column, no_wrap=True, justify="left" if column in ("zone", "") else "right")
    flags = alloc_flags_for(Request.GFP_ATOMIC, 0, state.rules) if state.rules else None
    now = {(p.node, p.zone): p for p in before}
    managed = {(z.node, z.zone): z.managed for z in state.zones}
    for p in after:
        old = now.get((p.node, p.zone))
        if not managed.get((p.node, p.zone)) or old is None:
            continue
        table.add_row(f"node {p.node} {p.zone}", "now", *_marks(old.watermarks, flags, state.page_size))
        if p.watermarks != old.watermarks:
            table.add_row("", "after", *_marks(p.watermarks, flags, state.page_size), style="bold")
    console.print(Padding(table, (0, 0, 0, 2), expand=False))


def _marks(w: Watermarks, flags: AllocFlags | None, page_size: int) -> tuple[str, ...]:
    atomic = "?" if flags is None else _mib(w.min - reduced_floor(w.min, flags), page_size)
    return str(w.min), str(w.low), str(w.high), atomic, _mib(w.low - w.min, page_size)


def _mib(pages: int, page_size: int) -> str:
    return f"{pages * page_size / 2**20:.1f}"


def confirm_prompt(values: Mapping[str, int]) -> Text:
    from rich.text import Text

    return Text("Apply " + ", ".join(f"{k}={v}" for k, v in values.items()) + "? [y/N] ")


def render_apply(outcome: ApplyOutcome, console: Console) -> None:
    """What --apply did, or why it did not; nothing when there was nothing to write (the dry run
    above already says so)."""
    if outcome.entry is None and outcome.ok:
        return
    if outcome.ok:
        console.print(f"Applied and verified: /proc/zoneinfo shows the predicted watermarks; persisted in "
                      f"{persisted_file(outcome)}. Journal entry {outcome.entry.id} "
                      "(`minfree undo` reverts it).", style="green", markup=False)
    for message in outcome.messages:
        console.print(message, style=None if outcome.ok else "red", markup=False)
    for warning in outcome.warnings:
        console.print(f"WARNING: {warning}", style="yellow", markup=False)

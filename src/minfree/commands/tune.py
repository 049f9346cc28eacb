"""``minfree tune``: recommend reserves with reasons and predicted watermarks; ``--apply``
writes them live, verifies and persists. Exit status: 0 ok, 1 refused / failed / not root, 2 usage.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from minfree.errors import UsageError

EXIT_OK = 0
EXIT_REFUSED = 1
NOT_ROOT = "{what} needs root (it writes /proc/sys/vm); run it with sudo. Nothing was changed."

TUNE_EXAMPLES = """examples:
  minfree tune                                   recommend values for this host (dry run)
  minfree tune --profile aerospike --json
  minfree tune --set vm.watermark_scale_factor=100
  sudo minfree tune --apply                      write live, verify zoneinfo, persist in sysctl.d
  sudo minfree tune --apply --resolve-conflicts  also comment out lines that would override it at boot
  sudo minfree undo                              revert the last change (live values and files)
"""


def add_parser(subparsers) -> None:
    from minfree.actions.journal import DEFAULT_STATE_DIR
    from minfree.analysis.sizing import PROFILES

    tune = subparsers.add_parser(
        "tune", help="recommend (and apply) vm.min_free_kbytes and vm.watermark_scale_factor",
        description="Recommend reserves with their reasons and predicted per-zone watermarks; "
                    "--apply writes them live, verifies /proc/zoneinfo and persists them.",
        epilog=TUNE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    tune.add_argument("--profile", default="generic", choices=sorted(PROFILES),
                      help="workload profile (default: generic)")
    tune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="choose a value yourself (vm.min_free_kbytes, vm.watermark_scale_factor)")
    tune.add_argument("--json", action="store_true", help="one JSON document")
    tune.add_argument("--apply", action="store_true", help="write the values live and persist them (root)")
    tune.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    tune.add_argument("--force", action="store_true", help="allow values beyond the safe bounds")
    tune.add_argument("--resolve-conflicts", action="store_true",
                      help="comment out other files' lines for the same keys (backups kept)")
    tune.add_argument("--config-root", default="/", metavar="DIR",
                      help="where /etc/sysctl.d and friends are (default /)")
    tune.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR), metavar="DIR",
                      help=f"journal and backups (default {DEFAULT_STATE_DIR})")
    tune.add_argument("--root", default="/", metavar="DIR",
                      help="read the machine from a snapshot or sosreport (dry run only)")
    tune.set_defaults(run=run)



def parse_settings(items: list[str]) -> dict[str, int]:
    """``--set`` arguments to {"vm.key": value}; raises UsageError on anything else."""
    from minfree.proc.sysctl_files import normalize_key
    from minfree.analysis.sizing import TUNABLE_KEYS

    values: dict[str, int] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = normalize_key(key.strip())
        key = key if key.startswith("vm.") else f"vm.{key}"
        if not sep or key not in TUNABLE_KEYS:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE with KEY one of {', '.join(TUNABLE_KEYS)}")
        try:
            values[key] = int(value.strip())
        except ValueError:
            raise UsageError(f"--set {item!r}: the value must be an integer") from None
    return values


def _log_failures(root):
    from minfree.analysis.sizing import FailureSummary, summarize_failures

    if not root.is_live:
        return FailureSummary(), "log not read (not the live machine)"
    try:
        from minfree.sources.logfiles import live_inputs
        from minfree.commands.scan import scan_inputs

        report = scan_inputs(live_inputs())
    except Exception as exc:  # the log is evidence, not a precondition: tuning goes on without it
        return FailureSummary(), f"kernel log unreadable: {exc}"
    return summarize_failures(report.events), None


def _zones_json(predictions) -> list[dict]:
    return [{"node": p.node, "zone": p.zone, "min": p.watermarks.min, "low": p.watermarks.low,
             "high": p.watermarks.high, "promo": p.watermarks.promo, "protection": list(p.protection)}
            for p in predictions]


def run(args: argparse.Namespace) -> int:
    from minfree.analysis.prediction import predict_zones
    from minfree.sources.root import SystemRoot
    from minfree.sources.system import load_system
    from minfree.actions.persist import detect_tuned, plan_persist
    from minfree.analysis.sizing import MIN_FREE, WSF, propose

    overrides = parse_settings(args.set)
    root = SystemRoot(args.root)
    if args.apply and not root.is_live:
        raise UsageError("--apply changes the running kernel: it cannot be used with --root")
    state = load_system(root)
    if not state.zones or state.sysctls is None:
        sys.stderr.write(f"minfree: cannot read /proc/zoneinfo or /proc/sys/vm under {args.root}\n")
        return EXIT_REFUSED
    failures, log_note = _log_failures(root)
    proposal = propose(state, profile=args.profile, overrides=overrides, failures=failures, force=args.force)
    if log_note:
        proposal.notes.append(log_note)
    mfk, wsf = proposal.effective(MIN_FREE), proposal.effective(WSF)
    before = predict_zones(state)
    after = predict_zones(state, min_free_kbytes=mfk, watermark_scale_factor=wsf)
    to_write = {c.key: c.proposed for c in proposal.changes
                if c.refused is None and (c.proposed != c.current or c.key in overrides)}
    reasons = {c.key: c.reason for c in proposal.changes}
    config_root = Path(args.config_root)
    plan = plan_persist(config_root, to_write or {c.key: c.proposed for c in proposal.changes}, reasons)
    tuned = detect_tuned(config_root)
    if tuned is not None and (warning := tuned.warning(set(reasons))):
        proposal.notes.append(warning)

    doc = {
        "profile": proposal.profile,
        "changes": [{"key": c.key, "current": c.current, "proposed": c.proposed, "reason": c.reason,
                     "bounds": c.bounds.as_dict(), "refused": c.refused, "forced": c.forced}
                    for c in proposal.changes],
        "predicted_zones": _zones_json(after),
        "predicted_zones_before": _zones_json(before),
        "persist": {"file": "/" + plan.file,
                    "shadowed_by": [a.where() for a in plan.shadowed_by],
                    "also_set_by": [a.where() for a in plan.overridden]},
        "advice": [{"key": a.key, "current": a.current, "suggestion": a.suggestion, "reason": a.reason}
                   for a in proposal.advice],
        "notes": proposal.notes,
    }
    out = sys.stdout
    if not args.json:
        _render_tune(out, state, proposal, before, after, plan, to_write)
    status = EXIT_REFUSED if proposal.refused else EXIT_OK
    if args.apply:
        apply_doc, status = _apply(args, proposal, to_write, reasons, config_root, out)
        if apply_doc.get("ok") and plan.shadowed_by and not args.resolve_conflicts:
            warning = ("at boot these lines win over the drop-in: "
                       + ", ".join(a.where() for a in plan.shadowed_by) + " (--resolve-conflicts)")
            apply_doc["messages"].append(warning)
            if not args.json:
                out.write(f"WARNING: {warning}\n")
        doc["apply"] = apply_doc
    if args.json:
        json.dump(doc, out, indent=1)
        out.write("\n")
    return status


def _apply(args, proposal, to_write, reasons, config_root: Path, out: TextIO) -> tuple[dict, int]:
    from minfree.actions.apply import SysctlWriter, apply_changes, live_verifier
    from minfree.actions.journal import Journal

    def refuse(message: str) -> tuple[dict, int]:
        if not args.json:
            out.write(message + "\n")
        return {"ok": False, "messages": [message]}, EXIT_REFUSED

    if proposal.refused:
        return refuse("Not applied: " + "; ".join(f"{c.key} {c.refused}" for c in proposal.refused))
    if not to_write:
        return {"ok": True, "messages": ["nothing to change"]}, EXIT_OK
    if os.geteuid() != 0:
        return refuse(NOT_ROOT.format(what="minfree tune --apply"))
    if not args.yes:
        if not sys.stdin.isatty():
            return refuse("Not applied: confirmation needed (run in a terminal or pass --yes).")
        out.write("Apply " + ", ".join(f"{k}={v}" for k, v in to_write.items()) + "? [y/N] ")
        out.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return refuse("Not applied.")
    result = apply_changes(to_write, reasons, journal=Journal(args.state_dir), writer=SysctlWriter("/"),
                           config_root=config_root, resolve_conflicts=args.resolve_conflicts,
                           verify=live_verifier("/"))
    doc = {"ok": result.ok, "entry": result.entry.id if result.entry else None,
           "messages": result.messages, "mismatches": result.mismatches, "rolled_back": result.rolled_back}
    if not args.json:
        if result.ok:
            out.write(f"Applied and verified: /proc/zoneinfo shows the predicted watermarks; persisted in "
                      f"{config_root / result.entry.files[0].path}. Journal entry {result.entry.id} "
                      f"(`minfree undo` reverts it).\n")
        for message in result.messages:
            out.write(message + "\n")
    return doc, EXIT_OK if result.ok else EXIT_REFUSED


def _mib(pages: int, page_size: int) -> str:
    return f"{pages * page_size / 2**20:.1f}"


def _render_tune(out: TextIO, state, proposal, before, after, plan, to_write) -> None:
    from minfree.model.wmark_check import Request, alloc_flags_for, reduced_floor

    out.write(f"minfree tune (profile {proposal.profile})\n\n")
    for c in proposal.changes:
        arrow = "unchanged" if c.proposed == c.current else f"-> {c.proposed}"
        out.write(f"  {c.key}: {c.current} {arrow}\n      why: {c.reason}\n")
        b = c.bounds
        out.write(f"      bounds: kernel {b.kernel_min}..{b.kernel_max}"
                  + (f", never below the kernel default {b.floor}" if b.floor is not None else "")
                  + (f", safe up to {b.safe_max}" if b.safe_max is not None else "") + "\n")
        if c.refused:
            out.write(f"      REFUSED: {c.refused}\n")
        if c.forced:
            out.write(f"      forced past: {c.forced}\n")
    flags = alloc_flags_for(Request.GFP_ATOMIC, 0, state.rules)
    ps = state.page_size
    out.write("\n  per zone (pages; MiB): GFP_ATOMIC may still take 'atomic' below min; kswapd wakes "
              "'lead' ahead of min\n")
    out.write(f"  {'zone':<16}{'min':>16}{'low':>16}{'high':>16}{'atomic MiB':>18}{'lead MiB':>18}\n")
    now = {(p.node, p.zone): p for p in before}
    for p in after:
        old = now.get((p.node, p.zone))
        managed = next((z.managed for z in state.zones if (z.node, z.zone) == (p.node, p.zone)), 0)
        if not managed or old is None:
            continue
        w, o = p.watermarks, old.watermarks

        def pair(a: int, b: int) -> str:
            return f"{a}" if a == b else f"{a}->{b}"

        atomic = lambda m: _mib(m - reduced_floor(m, flags), ps)  # noqa: E731
        out.write(f"  {f'node {p.node} {p.zone}':<16}{pair(o.min, w.min):>16}{pair(o.low, w.low):>16}"
                  f"{pair(o.high, w.high):>16}{pair(atomic(o.min), atomic(w.min)):>18}"
                  f"{pair(_mib(o.low - o.min, ps), _mib(w.low - w.min, ps)):>18}\n")
    out.write(f"\n  persist: /{plan.file}\n")
    for a in plan.shadowed_by:
        out.write(f"    shadowed at boot by {a.where()}: {a.key} = {a.value} (--resolve-conflicts comments it out)\n")
    for a in plan.overridden:
        out.write(f"    also set (earlier, overridden) in {a.where()}: {a.key} = {a.value}\n")
    for a in proposal.advice:
        out.write(f"  advice: {a.key} {a.current} -> {a.suggestion}: {a.reason}\n")
    for note in proposal.notes:
        out.write(f"  note: {note}\n")
    if not to_write and not proposal.refused:
        out.write("\n  Nothing to change: the current values already meet the policy.\n")

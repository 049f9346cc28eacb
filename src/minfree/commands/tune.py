"""``minfree tune``: recommend reserves with reasons and predicted watermarks; ``--apply``
writes them live, verifies and persists. Exit status: 0 ok, 1 refused / failed / not root, 2 usage.

Orchestration only: the machine from ``sources``, this boot's failures from its kernel log (as
doctor counts them), the proposal from ``analysis.sizing``, the plan and the apply from
``actions.apply``, every word and JSON field from ``render.tune_text`` / ``render.tune_json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from minfree.errors import UsageError

if TYPE_CHECKING:
    from minfree.actions.apply import ApplyResult, ChangePlan
    from minfree.analysis.sizing import FailureSummary, Proposal
    from minfree.proc.system import SystemState
    from minfree.sources.root import SystemRoot

EXIT_OK = 0
EXIT_REFUSED = 1
NOT_ROOT = "{what} needs root (it writes /proc/sys/vm); run it with sudo. Nothing was changed."

TUNE_EXAMPLES = """examples:
  minfree tune                                   recommend values for this host (dry run)
  minfree tune --profile aerospike --json
  minfree tune --set vm.watermark_scale_factor=100
  minfree tune --trace trace.json               size from 'minfree trace --json > trace.json'
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
                      help=f"journal, backups and the change lock (default {DEFAULT_STATE_DIR}); used only "
                           "when owned by root and writable by no one else")
    tune.add_argument("--trace", metavar="FILE",
                      help="size from the demand measured by 'minfree trace --json' (saved)")
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


def print_json(doc: dict) -> None:
    """One JSON document on stdout (every --json of tune, undo and relieve)."""
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


def _log_failures(root: SystemRoot, state: SystemState) -> tuple[FailureSummary, str | None]:
    """Failures in the kernel log of the boot ``root`` describes (doctor's meaning and code path),
    and a note when the log could not be read: the log is evidence, not a precondition, so tuning
    goes on without it."""
    from minfree.analysis.sizing import FailureSummary, summarize_failures
    from minfree.commands.scan import this_boot_failures

    known_gaps = len(root.gaps)
    report = this_boot_failures(root, state.release)
    if report is None:
        reasons = "; ".join(f"{path}: {reason}" for path, reason in root.gaps[known_gaps:])
        return FailureSummary(), f"kernel log not read ({reasons}): failures in it are not counted"
    note = f"kernel log partly unreadable: {'; '.join(report.errors)}" if report.errors else None
    return summarize_failures(report.events), note


def _trace_demand(path: str):
    """The measured demand of a saved ``minfree trace --json`` document."""
    from minfree.analysis.trace_window import demand_from_trace

    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"--trace {path}: {getattr(exc, 'strerror', None) or exc}") from None
    demand = demand_from_trace(doc) if isinstance(doc, dict) else None
    if demand is None:
        raise UsageError(f"--trace {path}: no demand in it (save 'minfree trace --json')")
    return demand


def run(args: argparse.Namespace) -> int:
    from minfree.actions.apply import plan_changes
    from minfree.analysis.prediction import predict_zones
    from minfree.analysis.sizing import MIN_FREE, WSF, propose
    from minfree.render import tune_text
    from minfree.render.console import console
    from minfree.render.tune_json import to_json
    from minfree.commands.roots import open_root
    from minfree.sources.system import load_system

    overrides = parse_settings(args.set)
    root = open_root(args.root)
    if args.apply and not root.is_live:
        raise UsageError("--apply changes the running kernel: it cannot be used with --root")
    state = load_system(root)
    if not state.zones or state.sysctls is None:
        sys.stderr.write(f"minfree: cannot read /proc/zoneinfo or /proc/sys/vm under {args.root}\n")
        return EXIT_REFUSED
    failures, log_note = _log_failures(root, state)
    demand = _trace_demand(args.trace) if args.trace else None
    proposal = propose(state, profile=args.profile, overrides=overrides, failures=failures, force=args.force,
                       demand=demand)
    if log_note:
        proposal.notes.append(log_note)
    before = predict_zones(state)
    after = predict_zones(state, min_free_kbytes=proposal.effective(MIN_FREE),
                          watermark_scale_factor=proposal.effective(WSF))
    plan = plan_changes(proposal, overrides, Path(args.config_root))
    proposal.notes.extend(plan.notes)
    if not args.json:
        tune_text.render(state, proposal, before, after, plan.persist, plan.values, console(),
                         config_root=os.path.abspath(args.config_root))
    outcome = _apply(args, proposal, plan) if args.apply else None
    if args.json:
        print_json(to_json(proposal, before, after, plan.persist, outcome, written=set(plan.values)))
    elif outcome is not None:
        tune_text.render_apply(outcome, console())
    if outcome is not None:
        return EXIT_OK if outcome.ok else EXIT_REFUSED
    return EXIT_REFUSED if proposal.refused else EXIT_OK


def _apply(args: argparse.Namespace, proposal: Proposal, plan: ChangePlan) -> ApplyResult:
    """Apply the plan live (root, confirmed), or the refusal that stopped it."""
    from minfree.actions.apply import ApplyResult, apply_changes, live_verifier
    from minfree.actions.journal import Journal
    from minfree.actions.sysctl import SysctlWriter

    if proposal.refused:
        return ApplyResult(False, None, ["Not applied: " + "; ".join(f"{c.key} {c.refused}" for c in proposal.refused)])
    if not plan.values:
        return ApplyResult(True, None, ["nothing to change"])
    if os.geteuid() != 0:
        return ApplyResult(False, None, [NOT_ROOT.format(what="minfree tune --apply")])
    if not args.yes:
        if not sys.stdin.isatty():
            return ApplyResult(False, None, ["Not applied: confirmation needed (run in a terminal or pass --yes)."])
        if not _confirmed(plan.values):
            return ApplyResult(False, None, ["Not applied."])
    return apply_changes(plan.values, plan.reasons, journal=Journal(args.state_dir), writer=SysctlWriter("/"),
                         config_root=Path(args.config_root), resolve_conflicts=args.resolve_conflicts,
                         verify=live_verifier("/"))


def _confirmed(values: dict[str, int]) -> bool:
    """Ask on the terminal; anything but y/yes (or end of input) is no."""
    from minfree.render.console import console
    from minfree.render.tune_text import confirm_prompt

    try:
        answer = console().input(confirm_prompt(values))
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")

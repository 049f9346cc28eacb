"""Apply tuned values: plan, journal first, write live, read back, verify zoneinfo, persist; roll back on failure.

Steps (after tuned's read-before-write / keep originals / verify / roll back, peers.md §4):

0. plan (``plan_changes``): the values to write, their reasons, the drop-in and the files that
   fight it at boot, a tuned profile that rewrites them;
1. read the current live values (nothing is changed if that fails);
2. journal entry with status ``intent``: the originals and a backup of every file to edit;
3. write each live value and read it back;
4. re-read the machine and check /proc/zoneinfo shows exactly the predicted watermarks;
5. write the sysctl.d drop-in atomically, comment out conflicting lines if asked;
6. mark the entry ``applied``.

Any exception in 3-5 restores what was changed (``undo.restore``, the one way back) and marks
the entry ``rolled_back`` (or ``rollback_failed``). A kill leaves ``intent``: ``minfree undo``
repairs it. Live values are read and written by ``actions.sysctl`` only; files by
``actions.safefs`` only, keeping each file's mode and owner. All of it runs holding the change
lock (one change at a time), in a trusted state directory, after removing the temporaries a
killed run left (``undo.clean_after_kill``).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Mapping

from minfree.actions.journal import Entry, FileChange, Journal, JournalError, LiveChange, config_file_allowed, sha256
from minfree.actions.lock import LockedError
from minfree.actions.persist import PersistPlan, comment_out, detect_tuned, plan_persist
from minfree.actions.safefs import file_meta, read_file, write_file
from minfree.actions.sysctl import SysctlWriter, sysctl_name
from minfree.actions.undo import clean_after_kill, restore
from minfree.analysis.prediction import ZonePrediction, differences, predict_zones
from minfree.analysis.sizing import MIN_FREE, WSF, Proposal
from minfree.model.record import field, record
from minfree.proc.zoneinfo import ZoneInfo, parse_zoneinfo
from minfree.sources.root import SystemRoot
from minfree.sources.specs import ZONEINFO
from minfree.sources.system import load_system

VERIFY_ATTEMPTS = 8
VERIFY_PAUSE_SECONDS = 0.15


class ApplyError(Exception):
    """A step failed; the message says which."""


@record(frozen=False)
class ChangePlan:
    """What ``--apply`` would write, why, and how it persists (computed for the dry run too)."""

    values: dict[str, int]  # {"vm.min_free_kbytes": 90112}: not refused, and new or asked for
    reasons: dict[str, str]
    persist: PersistPlan
    notes: list[str] = field(default_factory=list)


def plan_changes(proposal: Proposal, overrides: Mapping[str, int], config_root: Path) -> ChangePlan:
    """The writes of ``proposal``; with nothing to write, persistence is planned for every proposed
    value so that the dry run still shows the files that would fight it."""
    values = {c.key: c.proposed for c in proposal.changes
              if c.refused is None and (c.proposed != c.current or c.key in overrides)}
    reasons = {c.key: c.reason for c in proposal.changes}
    persist = plan_persist(config_root, values or {c.key: c.proposed for c in proposal.changes}, reasons)
    plan = ChangePlan(values, reasons, persist)
    if persist.refusal is not None:
        plan.notes.append(f"--apply will refuse: {persist.refusal}")
    tuned = detect_tuned(config_root)
    if tuned is not None and (warning := tuned.warning(set(reasons))):
        plan.notes.append(warning)
    return plan


def zone_mismatches(predicted: list[ZonePrediction], zones: list[ZoneInfo]) -> list[str]:
    """Every field where the prediction differs from zoneinfo ([] = exact)."""
    shown = {(z.node, z.zone): z for z in zones}
    problems = []
    if {(p.node, p.zone) for p in predicted} != set(shown):
        problems.append("the zones predicted are not the zones shown")
    for p in predicted:
        if (zone := shown.get((p.node, p.zone))) is not None:
            problems += [f"node {p.node} {p.zone}: {d}" for d in differences(p, zone)]
    return problems


def live_verifier(root: Path | str = "/") -> Callable[[Mapping[str, int]], list[str]]:
    """Re-read the machine after writing and compare zoneinfo with the model, retrying while the
    zones move under us (lazily initialised memory grows ``managed``; boost comes and goes)."""

    def verify(values: Mapping[str, int]) -> list[str]:
        problems = ["not verified"]
        for _ in range(VERIFY_ATTEMPTS):
            system = SystemRoot(root)
            state = load_system(system)  # reads vm.lowmem_reserve_ratio last: protection recomputed
            again = system.read_text(ZONEINFO.path)  # so this zoneinfo shows fresh protection too
            if again is None:
                return [f"cannot read /{ZONEINFO.path}: {system.gaps[-1][1]}"]
            state.zones = parse_zoneinfo(again)
            predicted = predict_zones(state, min_free_kbytes=values.get(MIN_FREE),
                                      watermark_scale_factor=values.get(WSF))
            problems = zone_mismatches(predicted, state.zones)
            for key, value in values.items():
                shown = getattr(state.sysctls, sysctl_name(key), None)
                if shown != value:
                    problems.append(f"{key} reads {shown}, wrote {value}")
            if not problems:
                return []
            time.sleep(VERIFY_PAUSE_SECONDS)
        return problems

    return verify


@record(frozen=False)
class ApplyResult:
    """What ``apply_changes`` did: whether it succeeded, its journal entry (None: nothing changed),
    the messages for the user, zoneinfo's mismatches and whether a rollback restored everything."""

    ok: bool
    entry: Entry | None
    messages: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    rolled_back: bool = False
    warnings: list[str] = field(default_factory=list)  # applied, but something will fight it


def apply_changes(
    values: Mapping[str, int],
    reasons: Mapping[str, str],
    *,
    journal: Journal,
    writer: SysctlWriter,
    config_root: Path,
    resolve_conflicts: bool = False,
    verify: Callable[[Mapping[str, int]], list[str]] | None = None,
    checkpoint: Callable[[str], None] | None = None,
) -> ApplyResult:
    """Write ``values`` ({"vm.min_free_kbytes": 90112, ...}) live and to the drop-in.

    ``checkpoint(step)`` is called after each durable step (tests stop there to model a kill).
    """
    try:
        journal.prepare()
        with journal.lock():
            return _apply_locked(values, reasons, journal, writer, Path(os.path.abspath(config_root)),
                                 resolve_conflicts, verify, checkpoint or (lambda step: None))
    except (JournalError, LockedError) as exc:
        return ApplyResult(False, None, [f"{exc}; nothing changed" if isinstance(exc, JournalError) else str(exc)])
    except OSError as exc:
        return ApplyResult(False, None, [f"cannot lock {journal.state_dir}: {exc}; nothing changed"])


def _apply_locked(values: Mapping[str, int], reasons: Mapping[str, str], journal: Journal, writer: SysctlWriter,
                  config_root: Path, resolve_conflicts: bool,
                  verify: Callable[[Mapping[str, int]], list[str]] | None,
                  checkpoint: Callable[[str], None]) -> ApplyResult:
    try:
        names = {key: sysctl_name(key) for key in values}
        before = {key: writer.read(name) for key, name in names.items()}
    except (OSError, ValueError) as exc:
        return ApplyResult(False, None, [f"cannot read the current values: {exc}; nothing changed"])

    plan = plan_persist(config_root, values, reasons)
    if plan.refusal is not None:
        return ApplyResult(False, None, [f"{plan.refusal}; nothing changed"])
    texts: dict[str, bytes] = {plan.file: plan.text.encode("utf-8", "surrogateescape")}  # real path -> new bytes
    warnings = []
    if resolve_conflicts:
        by_file: dict[str, set[int]] = {}
        for item in plan.shadowed_by + plan.overridden:
            by_file.setdefault(item.real_path, set()).add(item.lineno)
        for rel, lines in by_file.items():
            if not config_file_allowed(rel):  # a sysctl.d link to a file elsewhere: undo could not restore it
                warnings.append(f"not edited: {config_root / rel} (linked from a sysctl directory) is not a "
                                "sysctl configuration file minfree may change; edit it yourself")
                continue
            try:
                old = read_file(config_root, rel)
            except OSError as exc:
                return ApplyResult(False, None, [f"cannot edit {config_root / rel}: {exc}; nothing changed"])
            if old is not None:
                texts[rel] = comment_out(old.decode("utf-8", "surrogateescape"), lines).encode(
                    "utf-8", "surrogateescape")

    entry = journal.new_entry("; ".join(f"{k}: {reasons.get(k, '')}" for k in values), config_root)
    entry.live = {names[k]: LiveChange(before[k], v) for k, v in values.items()}
    try:
        notes = clean_after_kill(journal, config_root, list(texts))
        for rel, data in texts.items():
            meta = file_meta(config_root / rel)
            original = read_file(config_root, rel) if meta is not None else None
            backup = journal.backup(entry, rel, original) if original is not None else None
            entry.files.append(FileChange(rel, original is not None, backup,
                                          meta.mode & 0o777 if meta else 0o644,  # never set-id bits
                                          meta.uid if meta else os.geteuid(), meta.gid if meta else os.getegid(),
                                          sha256(data)))
        journal.step(entry, "intent", status="intent")
    except OSError as exc:
        return ApplyResult(False, None, [f"cannot prepare the change ({exc}); nothing changed"])
    checkpoint("intent")

    result = ApplyResult(True, entry, notes, warnings=warnings)
    try:
        for key, value in values.items():
            writer.write(names[key], value)
            journal.step(entry, f"live:{names[key]}")
            checkpoint(f"live:{names[key]}")
            shown = writer.read(names[key])
            if shown != value:
                raise ApplyError(f"{key}: wrote {value}, the kernel reads back {shown}")
        if verify is not None:
            result.mismatches = verify(values)
            if result.mismatches:
                raise ApplyError("/proc/zoneinfo does not show the predicted watermarks: "
                                 + "; ".join(result.mismatches))
            journal.step(entry, "verified")
            checkpoint("verified")
        for item in entry.files:
            owner = (item.uid, item.gid) if item.uid is not None and item.gid is not None else None
            write_file(config_root, item.path, texts[item.path], 0o644 if item.mode is None else item.mode,
                       owner=owner, create_dirs=0o755)
            journal.step(entry, f"file:{item.path}")
            checkpoint(f"file:{item.path}")
        journal.step(entry, "done", status="applied")
    except (OSError, ValueError, ApplyError) as exc:
        _roll_back(exc, entry, journal, writer, config_root, result)
        return result
    if plan.shadowed_by and not resolve_conflicts:
        result.warnings.append("at boot these lines win over the drop-in: "
                               + ", ".join(a.where() for a in plan.shadowed_by) + " (--resolve-conflicts)")
    return result


def _roll_back(exc: Exception, entry: Entry, journal: Journal, writer: SysctlWriter, config_root: Path,
               result: ApplyResult) -> None:
    result.ok = False
    result.messages.append(f"failed: {exc}")
    problems = restore(entry, journal, writer, config_root).problems
    result.rolled_back = not problems
    if problems:
        result.messages.append("ROLLBACK INCOMPLETE: " + "; ".join(problems)
                               + " (run `minfree undo` once the cause is fixed)")
        status = "rollback_failed"
    else:
        result.messages.append("rolled back: the original live values and files are restored")
        status = "rolled_back"
    entry.messages.extend(result.messages)
    try:
        journal.step(entry, "rollback", status=status)
    except OSError as exc:
        result.messages.append(f"could not record the rollback in the journal: {exc}")

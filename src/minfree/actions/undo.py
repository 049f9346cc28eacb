"""Revert a journaled change: live values first, then files byte for byte from their backups.

``restore`` is shared with ``apply`` (its rollback) and is idempotent: a live value is written
only when it differs from the original (every write of min_free_kbytes marks it user-set,
reference §1.2), a file only when its bytes differ from the backup. That is what makes an
entry left at ``intent`` by a killed process safe to undo, whatever step it reached.

It says what it did, value by value and file by file (:class:`Restoration`), including a live
value found different from the one the change wrote: a later change that the revert undoes too.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from minfree.actions.journal import Entry, FileChange, Journal, write_atomic
from minfree.actions.sysctl import SysctlWriter

#: What ``restore`` did to a file.
FILE_RESTORED, FILE_REMOVED, FILE_MODE, FILE_UNCHANGED = "restored", "removed", "mode restored", "unchanged"


@dataclass(frozen=True, slots=True)
class ValueRestored:
    """``vm.<name>`` read ``found`` and now holds ``before`` (``after``: what the change wrote)."""

    name: str
    found: int
    before: int
    after: int

    @property
    def key(self) -> str:
        return f"vm.{self.name}"


@dataclass(frozen=True, slots=True)
class FileRestored:
    path: Path  # under the config root the change was applied to
    action: str  # FILE_RESTORED (bytes from the backup), FILE_REMOVED (the change created it)...


@dataclass(slots=True)
class Restoration:
    values: list[ValueRestored] = field(default_factory=list)
    files: list[FileRestored] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be restored ([] = all)


def restore(entry: Entry, journal: Journal, writer: SysctlWriter, config_root: Path) -> Restoration:
    """Put back the entry's original live values and files; say what was done and what was not."""
    done = Restoration()
    for name, change in entry.live.items():
        try:
            found = writer.read(name)
            if found != change.before:
                writer.write(name, change.before)
            shown = writer.read(name)
        except (OSError, ValueError) as exc:
            done.problems.append(f"vm.{name}: {exc}")
            continue
        if shown != change.before:
            done.problems.append(f"vm.{name} reads back {shown}, not {change.before}")
        else:
            done.values.append(ValueRestored(name, found, change.before, change.after))
    for item in entry.files:
        path = config_root / item.path
        try:
            done.files.append(FileRestored(path, _restore_file(journal, item, path)))
        except OSError as exc:
            done.problems.append(f"{path}: {exc}")
    return done


def _restore_file(journal: Journal, item: FileChange, path: Path) -> str:
    if not item.existed:
        if not os.path.lexists(path):  # unlink() of a missing file still fails on a read-only fs
            return FILE_UNCHANGED
        path.unlink()
        return FILE_REMOVED
    original = journal.read_backup(item.backup or "")
    current = path.read_bytes() if path.is_file() else None
    if current != original:
        write_atomic(path, original, item.mode if item.mode is not None else 0o644)
        return FILE_RESTORED
    if item.mode is not None and os.stat(path).st_mode & 0o7777 != item.mode:
        os.chmod(path, item.mode)
        return FILE_MODE
    return FILE_UNCHANGED


@dataclass(slots=True)
class UndoResult:
    ok: bool
    entry: Entry | None
    messages: list[str] = field(default_factory=list)
    restoration: Restoration | None = None


def undo_last(journal: Journal, writer: SysctlWriter, config_root: Path | None = None) -> UndoResult:
    """Revert the newest entry that changed something (applied, or left at intent by a kill)."""
    entry = journal.last_undoable()
    if entry is None:
        return UndoResult(True, None, ["nothing to undo"])
    was = entry.status
    done = restore(entry, journal, writer, config_root or Path(entry.config_root))
    if done.problems:
        entry.messages.append("undo incomplete: " + "; ".join(done.problems))
        journal.step(entry, "undo", status="rollback_failed")
        return UndoResult(False, entry, list(done.problems), done)
    journal.step(entry, "undo", status="undone")
    note = " (an interrupted apply: repaired)" if was == "intent" else ""
    return UndoResult(True, entry, [f"reverted {entry.id}{note}"], done)


def history(journal: Journal) -> list[Entry]:
    """Every change, newest first."""
    return list(reversed(journal.entries()))

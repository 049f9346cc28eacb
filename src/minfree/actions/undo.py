"""Revert a journaled change: live values first, then files byte for byte from their backups.

``restore`` is shared with ``apply`` (its rollback) and is idempotent: a live value is written
only when it differs from the original (every write of min_free_kbytes marks it user-set,
reference §1.2), a file only when its bytes differ from the backup. That is what makes an
entry left at ``intent`` by a killed process safe to undo, whatever step it reached.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from minfree.actions.journal import Entry, Journal, write_atomic

if TYPE_CHECKING:
    from minfree.actions.apply import SysctlWriter


def restore(entry: Entry, journal: Journal, writer: SysctlWriter, config_root: Path) -> list[str]:
    """Put back the entry's original live values and files; the problems left ([] = all restored)."""
    problems: list[str] = []
    for name, change in entry.live.items():
        try:
            if writer.read(name) != change.before:
                writer.write(name, change.before)
            if writer.read(name) != change.before:
                problems.append(f"vm.{name} reads back {writer.read(name)}, not {change.before}")
        except (OSError, ValueError, IndexError) as exc:
            problems.append(f"vm.{name}: {exc}")
    for item in entry.files:
        path = config_root / item.path
        try:
            if not item.existed:
                if os.path.lexists(path):  # unlink() of a missing file still fails on a read-only fs
                    path.unlink()
                continue
            original = journal.read_backup(item.backup or "")
            current = path.read_bytes() if path.is_file() else None
            if current != original:
                write_atomic(path, original, item.mode if item.mode is not None else 0o644)
            elif item.mode is not None and os.stat(path).st_mode & 0o7777 != item.mode:
                os.chmod(path, item.mode)
        except OSError as exc:
            problems.append(f"/{item.path}: {exc}")
    return problems


@dataclass(slots=True)
class UndoResult:
    ok: bool
    entry: Entry | None
    messages: list[str] = field(default_factory=list)


def undo_last(journal: Journal, writer: SysctlWriter, config_root: Path | None = None) -> UndoResult:
    """Revert the newest entry that changed something (applied, or left at intent by a kill)."""
    entry = journal.last_undoable()
    if entry is None:
        return UndoResult(True, None, ["nothing to undo"])
    root = config_root if config_root is not None else Path(entry.config_root)
    was = entry.status
    problems = restore(entry, journal, writer, root)
    if problems:
        entry.messages.append("undo incomplete: " + "; ".join(problems))
        journal.step(entry, "undo", status="rollback_failed")
        return UndoResult(False, entry, problems)
    journal.step(entry, "undo", status="undone")
    note = " (an interrupted apply: repaired)" if was == "intent" else ""
    return UndoResult(True, entry, [f"reverted {entry.id}{note}"])


def history(journal: Journal) -> list[Entry]:
    """Every change, newest first."""
    return list(reversed(journal.entries()))

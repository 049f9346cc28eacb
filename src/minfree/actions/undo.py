"""Revert a journaled change: live values first, then files byte for byte from their backups.

``restore`` is shared with ``apply`` (its rollback) and is idempotent: a live value is written
only when it differs from the original (every write of min_free_kbytes marks it user-set,
reference §1.2), a file only when its bytes, mode or owner differ from the backup's. That is
what makes an entry left at ``intent`` by a killed process safe to undo, whatever step it
reached. Files are written and removed through ``actions.safefs`` only (no link followed).

Before touching anything ``undo_last`` takes the change lock, checks the journal can be
trusted (``actions.journal``), refuses a ``--config-root`` other than the one the change was
applied to, removes temporaries a killed run left, and looks for **later edits**
(:func:`later_edits`): a live value that is neither the original nor what the change wrote, a
file whose bytes are neither the backup's nor the ones the change left. By default it then
refuses, naming each; ``keep`` reverts the rest and leaves those as they are; ``discard``
reverts them too. Either way it says so (:class:`Restoration`).
"""
from __future__ import annotations

from pathlib import Path

from minfree.actions.journal import Entry, FileChange, Journal, JournalError, sha256
from minfree.actions.lock import LockedError
from minfree.actions.safefs import UnsafeError, clean_stale, file_meta, read_file, remove_file, write_file
from minfree.actions.sysctl import SysctlWriter
from minfree.model.record import field, record

#: What ``restore`` did to a file.
FILE_RESTORED, FILE_REMOVED, FILE_MODE, FILE_UNCHANGED = "restored", "removed", "mode restored", "unchanged"
FILE_KEPT = "kept (edited after the change)"
#: What undo does with edits made after the change.
REFUSE, KEEP, DISCARD = "refuse", "keep", "discard"


@record
class ValueRestored:
    """``vm.<name>`` read ``found`` and now holds ``before`` (``after``: what the change wrote)."""

    name: str
    found: int
    before: int
    after: int

    @property
    def key(self) -> str:
        return f"vm.{self.name}"


@record
class FileRestored:
    """A file ``restore`` dealt with, and what it did to it (``action``: one of the FILE_* words)."""

    path: Path  # under the config root the change was applied to
    action: str  # FILE_RESTORED (bytes from the backup), FILE_REMOVED (the change created it)...


@record
class LaterEdit:
    """Something changed after the change: ``what`` is ``vm.<name>`` or a config-root relative path."""

    what: str
    description: str


@record(frozen=False)
class Restoration:
    """What ``restore`` did: the live values and files it put back, what it could not restore, and
    the later edits it left in place."""

    values: list[ValueRestored] = field(default_factory=list)
    files: list[FileRestored] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be restored ([] = all)
    kept: list[LaterEdit] = field(default_factory=list)  # later edits left in place (KEEP)


def later_edits(entry: Entry, journal: Journal, writer: SysctlWriter, config_root: Path) -> list[LaterEdit]:
    """What no longer is what the change left (nor the original): see module doc. A backup that
    cannot be trusted or read raises OSError: nothing can be compared, nothing is touched."""
    edits = []
    for name, change in entry.live.items():
        try:
            found = writer.read(name)
        except (OSError, ValueError):
            continue  # restore reports it
        if found not in (change.before, change.after):
            edits.append(LaterEdit(f"vm.{name}", f"vm.{name} is {found}: set after the change "
                                                 f"(which wrote {change.after}; the original is {change.before})"))
    for item in entry.files:
        if item.after_sha256 is None:
            continue  # an entry written before minfree recorded what it left
        path = config_root / item.path
        original = journal.read_backup(item.backup) if item.existed and item.backup else None  # OSError: refused
        try:
            current = read_file(config_root, item.path)
        except OSError as exc:  # now a symlink, a directory...
            edits.append(LaterEdit(item.path, f"{path}: {exc}"))
            continue
        if current is not None and sha256(current) == item.after_sha256 or current == original:
            continue
        what = "removed" if current is None else "edited"
        edits.append(LaterEdit(item.path, f"{path} was {what} after the change"))
    return edits


def restore(entry: Entry, journal: Journal, writer: SysctlWriter, config_root: Path,
            keep: list[LaterEdit] | None = None) -> Restoration:
    """Put back the entry's original live values and files, except the later edits in ``keep``;
    say what was done and what was not."""
    done = Restoration(kept=list(keep or ()))
    kept = {edit.what for edit in done.kept}
    for name, change in entry.live.items():
        if f"vm.{name}" in kept:
            continue
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
        if item.path in kept:
            done.files.append(FileRestored(path, FILE_KEPT))
            continue
        try:
            done.files.append(FileRestored(path, _restore_file(journal, item, config_root)))
        except OSError as exc:
            done.problems.append(str(exc) if isinstance(exc, UnsafeError) else f"{path}: {exc.strerror or exc}")
    return done


def _restore_file(journal: Journal, item: FileChange, config_root: Path) -> str:
    if not item.existed:
        return FILE_REMOVED if remove_file(config_root, item.path) else FILE_UNCHANGED
    original = journal.read_backup(item.backup or "")
    current = read_file(config_root, item.path)
    meta = file_meta(config_root / item.path) if current is not None else None
    mode = item.mode if item.mode is not None else 0o644
    owner = (item.uid, item.gid) if item.uid is not None and item.gid is not None else None
    if current == original and meta is not None and meta.mode == mode and \
            (owner is None or (meta.uid, meta.gid) == owner):
        return FILE_UNCHANGED
    write_file(config_root, item.path, original, mode, owner=owner)
    return FILE_RESTORED if current != original else FILE_MODE


@record(frozen=False)
class UndoResult:
    """What ``undo_last`` did: whether it succeeded, the entry it reverted or refused (None: none to
    undo), the messages for the user, and what was restored."""

    ok: bool
    entry: Entry | None
    messages: list[str] = field(default_factory=list)
    restoration: Restoration | None = None


def clean_after_kill(journal: Journal, config_root: Path | None, files: list[str]) -> list[str]:
    """Remove temporaries a killed run left in the state directory and, with ``config_root``,
    beside ``files`` (config-root relative); call it holding the change lock. One message per
    file removed."""
    removed = clean_stale(journal.state_dir, journal.stale_dirs())
    if config_root is not None:
        removed += clean_stale(config_root, {rel.rpartition("/")[0] for rel in files})
    return [f"removed {path}, a temporary file a killed run left" for path in removed]


def undo_last(journal: Journal, writer: SysctlWriter, config_root: Path | None = None,
              edits: str = REFUSE) -> UndoResult:
    """Revert the newest entry that changed something (applied, or left at intent by a kill)."""
    try:
        if not journal.check():
            return UndoResult(True, None, ["nothing to undo"])
        with journal.lock():
            return _undo_locked(journal, writer, config_root, edits)
    except (JournalError, LockedError) as exc:
        return UndoResult(False, None, [str(exc)])
    except OSError as exc:
        return UndoResult(False, None, [f"cannot use the journal: {exc}; nothing was changed"])


def _undo_locked(journal: Journal, writer: SysctlWriter, config_root: Path | None, edits: str) -> UndoResult:
    notes = clean_after_kill(journal, None, [])
    entry = journal.last_undoable()
    if entry is None:
        return UndoResult(True, None, ["nothing to undo", *notes])
    applied_to = Path(entry.config_root)
    if config_root is not None and Path(config_root).resolve() != applied_to.resolve():
        return UndoResult(False, entry, [
            f"{entry.id} was applied to config root {applied_to}, not {config_root}: nothing was changed "
            f"(run `minfree undo` without --config-root, or with --config-root {applied_to})"])
    notes += clean_after_kill(journal, applied_to, [item.path for item in entry.files])
    found = later_edits(entry, journal, writer, applied_to)
    if found and edits == REFUSE:
        return UndoResult(False, entry, [
            f"{entry.id} not undone: changed after it was applied, and undo would throw that away:",
            *(f"  {edit.description}" for edit in found),
            "nothing was changed; run `minfree undo --keep-edits` to revert the rest and keep these, "
            "or `minfree undo --discard-edits` to revert them too"] + notes)
    was = entry.status
    done = restore(entry, journal, writer, applied_to, keep=found if edits == KEEP else None)
    if found and edits == DISCARD:
        notes += [f"discarded a later edit: {edit.description}" for edit in found]
    if done.kept:
        notes += [f"kept a later edit: {edit.description}" for edit in done.kept]
    status = "rollback_failed" if done.problems else "undone"
    if done.problems:
        entry.messages.append("undo incomplete: " + "; ".join(done.problems))
        messages = list(done.problems) + notes
    else:
        entry.messages.extend(notes)
        note = " (an interrupted apply: repaired)" if was == "intent" else ""
        messages = [f"reverted {entry.id}{note}"] + notes
    try:
        journal.step(entry, "undo", status=status)
    except OSError as exc:  # what was restored stays restored; the next undo finds it so
        messages.append(f"could not record the undo in the journal: {exc}")
    return UndoResult(not done.problems, entry, messages, done)


def history(journal: Journal) -> list:
    """Every journal file, newest first: an ``Entry``, or a ``journal.Unreadable`` saying why it
    cannot be used. Raises JournalError when the state directory is not trusted."""
    return list(reversed(journal.scan()))

"""The `minfree undo --json` and `minfree undo --list --json` documents.

undo: ``{"schema": 1, "ok": true, "entry": "20250101T120000.000000Z-4242",
"values": [{"key": "vm.min_free_kbytes", "found": 90112, "restored": 67584, "written": 90112}],
"files": [{"path": "/etc/sysctl.d/99-minfree.conf", "action": "removed"}],
"problems": [], "kept": [], "messages": ["reverted ..."]}``: ``found`` is what the value read before the
revert (not ``written``, what the change wrote: a later change was reverted too); a file's
``action`` is ``restored`` (bytes from the backup), ``removed`` (the change created it),
``mode restored``, ``unchanged`` or ``kept (edited after the change)``; ``kept`` lists the later
edits ``--keep-edits`` left in place, ``{"what": "vm.<name>" or a config-root relative path,
"description"}``. ``entry`` is null when there was nothing to undo.

list: ``{"schema": 1, "entries": [{"id", "created", "status", "reason", "config_root",
"values": [{"key", "before", "after"}], "files": [paths under config_root], "messages"}]}``,
newest first; a journal file that cannot be used is listed in its place as
``{"file": "NAME.json", "status": "unusable", "problem": "why"}`` (never skipped).
A file that undo left as it was because it was edited after the change has the action
``kept (edited after the change)``.

The shapes of the journal and of a restoration are stated below as protocols (render does not
import actions); ``render.undo_text`` reads the same objects.
"""
from __future__ import annotations

from os import PathLike
from typing import Any, Mapping, Protocol, Sequence

SCHEMA_VERSION = 1


class LiveChange(Protocol):
    before: int
    after: int


class FileChange(Protocol):
    path: str  # relative to the entry's config root


class Entry(Protocol):
    """A journal entry (``actions.journal.Entry``)."""

    id: str
    created: str
    status: str
    reason: str
    config_root: str
    live: Mapping[str, LiveChange]
    files: Sequence[FileChange]
    messages: Sequence[str]


class Unusable(Protocol):
    """A journal file undo cannot use (``actions.journal.Unreadable``)."""

    name: str
    reason: str


class ValueRestored(Protocol):
    found: int
    before: int
    after: int

    @property
    def key(self) -> str: ...


class FileRestored(Protocol):
    path: PathLike[str]
    action: str


class LaterEdit(Protocol):
    what: str
    description: str


class Restoration(Protocol):
    values: Sequence[ValueRestored]
    files: Sequence[FileRestored]
    problems: Sequence[str]
    kept: Sequence[LaterEdit]


class UndoOutcome(Protocol):
    """What undo did (``actions.undo.UndoResult``)."""

    ok: bool
    entry: Entry | None
    messages: Sequence[str]
    restoration: Restoration | None


def entry_files(entry: Entry) -> list[str]:
    """The entry's files under the config root it was applied to.

    >>> from types import SimpleNamespace as N
    >>> entry_files(N(config_root="/tmp/cfg", files=[N(path="etc/sysctl.d/99-minfree.conf")]))
    ['/tmp/cfg/etc/sysctl.d/99-minfree.conf']
    """
    from pathlib import Path   # here: a scan's advice imports this module, and pathlib costs it ~3 ms

    return [str(Path(entry.config_root) / item.path) for item in entry.files]


def to_json(outcome: UndoOutcome) -> dict[str, Any]:
    done = outcome.restoration
    return {
        "schema": SCHEMA_VERSION,
        "ok": outcome.ok,
        "entry": outcome.entry.id if outcome.entry else None,
        "values": [] if done is None else [
            {"key": v.key, "found": v.found, "restored": v.before, "written": v.after} for v in done.values],
        "files": [] if done is None else [{"path": str(f.path), "action": f.action} for f in done.files],
        "problems": [] if done is None else list(done.problems),
        "kept": [] if done is None else [{"what": k.what, "description": k.description} for k in done.kept],
        "messages": list(outcome.messages),
    }


def _history_item(e: Entry | Unusable) -> dict[str, Any]:
    if not hasattr(e, "id"):
        return {"file": e.name, "status": "unusable", "problem": e.reason}
    return {"id": e.id, "created": e.created, "status": e.status, "reason": e.reason,
            "config_root": e.config_root,
            "values": [{"key": f"vm.{name}", "before": c.before, "after": c.after} for name, c in e.live.items()],
            "files": entry_files(e), "messages": list(e.messages)}


def history_to_json(entries: Sequence[Entry | Unusable]) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "entries": [_history_item(e) for e in entries]}

"""The change journal: one JSON file per change in ``STATE_DIR/journal``, written BEFORE the change.

An entry is written with status ``intent`` before anything is touched: it holds the original
live values, a backup (``STATE_DIR/backups/<id>/...``, byte for byte, with mode and owner) of
every file the change will edit, and the SHA-256 of what the change will leave in each file,
so that ``undo`` can tell a later edit from the change's own bytes. Each step is recorded as
it completes, and the entry ends ``applied``, ``rolled_back`` or ``rollback_failed``. A
process killed in the middle leaves ``intent``, which ``minfree undo`` repairs from the
recorded originals. Everything is written through ``actions.safefs`` (temporary + fsync +
rename), so a kill never leaves half a JSON file.

Root acts on what an entry says, so the journal is trusted only when the state directory and
every file in it are owned by root and writable by no one else, and each entry is checked
before anything is touched (:func:`check_entry`): its files can only be sysctl configuration
files (``etc/sysctl.conf``, ``*.conf`` in a sysctl.d directory) under its config root, its
live values only the ``vm.*`` keys minfree manages, its backups only its own. An entry that
cannot be read or fails a check is reported, never skipped.

Sample entry (abridged)::

    {"id": "20250101T120000.000000Z-4242", "status": "applied", "created": "2025-01-01T12:00:00Z",
     "reason": "vm.min_free_kbytes: kernel default 67584 kB ...",
     "config_root": "/", "live": {"min_free_kbytes": {"before": 67584, "after": 90112}},
     "files": [{"path": "etc/sysctl.d/99-minfree.conf", "backup": null, "existed": false,
                "mode": 420, "uid": 0, "gid": 0, "after_sha256": "9f86d0..."}],
     "steps": ["intent", "live:min_free_kbytes", "verified", "file:etc/sysctl.d/99-minfree.conf"]}
"""
from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import time
from pathlib import Path

from minfree.actions.lock import ChangeLock
from minfree.actions.safefs import check_trusted, make_state_dir, read_file, write_file
from minfree.analysis.sizing import TUNABLE_KEYS
from minfree.model.record import asdict, field, record
from minfree.sources.specs import SYSCTL_CONF, SYSCTL_D_DIRS

DEFAULT_STATE_DIR = Path("/var/lib/minfree")
#: Statuses from which ``undo`` has something to revert.
UNDOABLE = frozenset({"intent", "applied", "rollback_failed"})
STATUSES = UNDOABLE | {"new", "rolled_back", "undone"}
ENTRIES, BACKUPS = "journal", "backups"
_ID = re.compile(r"[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[0-9]+\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_MAX_ENTRY_BYTES = 1 << 20


class JournalError(Exception):
    """The journal cannot be trusted or read; the message says why and nothing was changed."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@record(frozen=False)
class LiveChange:
    """A live ``vm.*`` value the change writes: the value before it and the value written."""

    before: int
    after: int


@record(frozen=False)
class FileChange:
    """A file the change edits: ``path`` relative to the config root; ``backup`` relative to the
    state dir (None when the file did not exist before); ``mode``/``uid``/``gid`` of the original
    (of the new file when there was none); ``after_sha256``: the bytes the change leaves there."""

    path: str
    existed: bool
    backup: str | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    after_sha256: str | None = None


@record(frozen=False)
class Entry:
    """One change as its journal file holds it (module doc): id, creation time, status, reason, config
    root, the live values and files it changes, the steps done and what apply and undo reported."""

    id: str
    created: str
    status: str
    reason: str
    config_root: str
    live: dict[str, LiveChange] = field(default_factory=dict)
    files: list[FileChange] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> Entry:
        """An entry from its JSON form, every field of the right type; ValueError otherwise.

        >>> e = Entry.from_json({"id": "x", "created": "t", "status": "intent", "reason": "r",
        ...     "config_root": "/", "live": {"min_free_kbytes": {"before": 1, "after": 2}},
        ...     "files": [{"path": "etc/a.conf", "existed": False}]})
        >>> e.live["min_free_kbytes"].after, e.files[0].backup
        (2, None)
        >>> Entry.from_json({"id": 3})
        Traceback (most recent call last):
        ...
        ValueError: field 'id' is not a string
        """
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        text = {k: _typed(data, k, str) for k in ("id", "created", "status", "reason", "config_root")}
        live = {}
        for name, change in _typed(data, "live", dict, {}).items():
            if not isinstance(change, dict):
                raise ValueError(f"live value {name!r} is not an object")
            live[name] = LiveChange(_typed(change, "before", int), _typed(change, "after", int))
        files = []
        for item in _typed(data, "files", list, []):
            if not isinstance(item, dict):
                raise ValueError("a file change is not an object")
            files.append(FileChange(
                _typed(item, "path", str), _typed(item, "existed", bool), _typed(item, "backup", str, None),
                _typed(item, "mode", int, None), _typed(item, "uid", int, None), _typed(item, "gid", int, None),
                _typed(item, "after_sha256", str, None)))
        steps = [s for s in _typed(data, "steps", list, []) if isinstance(s, str)]
        messages = [m for m in _typed(data, "messages", list, []) if isinstance(m, str)]
        return cls(**text, live=live, files=files, steps=steps, messages=messages)


_MISSING = object()
_KINDS = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "a list"}


def _typed(data: dict, key: str, kind: type, default: object = _MISSING):
    """``data[key]`` if of type ``kind`` (bool is not an int here); ``default`` when absent or null."""
    value = data.get(key)
    if value is None:
        if default is _MISSING:
            raise ValueError(f"field {key!r} is missing")
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"field {key!r} is not {_KINDS[kind]}")
    return value


def config_file_allowed(rel: str) -> bool:
    """Whether an entry may name ``rel`` (config-root relative): sysctl configuration only.

    >>> [config_file_allowed(p) for p in ("etc/sysctl.conf", "etc/sysctl.d/99-minfree.conf",
    ...     "usr/lib/sysctl.d/50-default.conf", "etc/shadow", "/etc/sysctl.conf",
    ...     "etc/sysctl.d/../../root/.ssh/authorized_keys.conf", "etc/sysctl.d/sub/x.conf")]
    [True, True, True, False, False, False, False]
    """
    if posixpath.normpath(rel) != rel or rel.startswith("/") or "\0" in rel:
        return False
    directory, _, name = rel.rpartition("/")
    return rel == SYSCTL_CONF or (directory in SYSCTL_D_DIRS and name.endswith(".conf")
                                  and not name.startswith("."))


def check_entry(entry: Entry, file_name: str) -> str | None:
    """Why root must not act on ``entry`` (read from ``file_name``), or None when it may.

    >>> ok = Entry("20250101T120000.000000Z-42", "t", "applied", "r", "/",
    ...            {"min_free_kbytes": LiveChange(67584, 90112)},
    ...            [FileChange("etc/sysctl.d/99-minfree.conf", False, None, 0o644)])
    >>> check_entry(ok, "20250101T120000.000000Z-42.json") is None
    True
    >>> ok.live["../../kernel/core_pattern"] = LiveChange(0, 1)
    >>> check_entry(ok, "20250101T120000.000000Z-42.json")
    "live value '../../kernel/core_pattern' is not one of the vm.* keys minfree manages"
    """
    if not _ID.match(entry.id) or file_name != f"{entry.id}.json":
        return f"id {entry.id!r} does not match the file name {file_name!r}"
    if entry.status not in STATUSES:
        return f"unknown status {entry.status!r}"
    root = entry.config_root
    if not root.startswith("/") or posixpath.normpath(root) != root or "\0" in root:
        return f"config root {root!r} is not a clean absolute path"
    for name, change in entry.live.items():
        if f"vm.{name}" not in TUNABLE_KEYS:
            return f"live value {name!r} is not one of the vm.* keys minfree manages"
        if not (0 <= change.before < 1 << 63 and 0 <= change.after < 1 << 63):
            return f"live value {name!r} holds a value out of range"
    for item in entry.files:
        if not config_file_allowed(item.path):
            return f"file {item.path!r} is not a sysctl configuration file under the config root"
        if item.backup != (f"{BACKUPS}/{entry.id}/{item.path}" if item.existed else None):
            return f"backup {item.backup!r} of {item.path} is not this entry's own"
        if item.mode is not None and not 0 <= item.mode <= 0o777:
            return f"mode {item.mode:o} of {item.path} has set-id or unknown bits"
        if any(v is not None and v < 0 for v in (item.uid, item.gid)):
            return f"owner of {item.path} is negative"
        if item.after_sha256 is not None and not _SHA256.match(item.after_sha256):
            return f"after_sha256 of {item.path} is not a SHA-256"
    return None


@record
class Unreadable:
    """A journal file that could not be read or failed :func:`check_entry`."""

    name: str
    reason: str


class Journal:
    """Entries under ``state_dir/journal``; backups under ``state_dir/backups``."""

    def __init__(self, state_dir: Path | str = DEFAULT_STATE_DIR) -> None:
        self.state_dir = Path(os.path.abspath(state_dir))
        self.entries_dir = self.state_dir / ENTRIES
        self.backups_dir = self.state_dir / BACKUPS

    def prepare(self) -> None:
        """Create the state directory if missing (mode 0700 whatever the umask) and check that it,
        the journal and the backups directories are trusted; JournalError otherwise."""
        try:
            make_state_dir(self.state_dir)
            self.check()
        except OSError as exc:
            raise JournalError(f"state directory refused: {exc}") from None

    def check(self) -> bool:
        """Whether the state directory exists; raises OSError (UnsafeError) when it, the journal
        or the backups directory is not trusted."""
        if not os.path.lexists(self.state_dir):
            return False
        check_trusted(self.state_dir)
        for sub in (self.entries_dir, self.backups_dir):
            if os.path.lexists(sub):
                check_trusted(sub)
        return True

    def lock(self) -> ChangeLock:
        return ChangeLock(self.state_dir)

    def new_entry(self, reason: str, config_root: Path | str) -> Entry:
        """A new entry (not saved yet); the config root is kept absolute, so that ``undo`` from
        another directory finds the same files."""
        now = time.time()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
        entry_id = f"{stamp}.{int(now * 1e6) % 1_000_000:06d}Z-{os.getpid()}"
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return Entry(entry_id, created, "new", reason, os.path.abspath(config_root))

    def backup(self, entry: Entry, rel: str, data: bytes) -> str:
        """Keep the original bytes of config file ``rel``; returns the backup path (state-dir relative)."""
        backup = f"{BACKUPS}/{entry.id}/{rel}"
        write_file(self.state_dir, backup, data, 0o600, create_dirs=0o700)
        return backup

    def read_backup(self, backup: str) -> bytes:
        """A backup's bytes; refused unless root owns it and no one else can write it."""
        data = read_file(self.state_dir, backup, trusted=True)
        if data is None:
            raise FileNotFoundError(2, "backup missing", str(self.state_dir / backup))
        return data

    def save(self, entry: Entry) -> None:
        data = json.dumps(entry.to_json(), indent=1, sort_keys=True).encode() + b"\n"
        write_file(self.state_dir, f"{ENTRIES}/{entry.id}.json", data, 0o600, create_dirs=0o700)

    def step(self, entry: Entry, step: str, status: str | None = None) -> None:
        """Record a completed step (and a new status) durably."""
        entry.steps.append(step)
        if status is not None:
            entry.status = status
        self.save(entry)

    def scan(self) -> list[Entry | Unreadable]:
        """Every journal file, oldest first: an entry, or why it cannot be used. Raises
        JournalError when the state directory itself is not trusted."""
        try:
            if not self.check() or not os.path.isdir(self.entries_dir):
                return []
            names = sorted(n for n in os.listdir(self.entries_dir) if n.endswith(".json"))
        except OSError as exc:
            raise JournalError(f"journal refused: {exc}") from None
        found: list[Entry | Unreadable] = []
        for name in names:
            try:
                data = read_file(self.state_dir, f"{ENTRIES}/{name}", trusted=True)
                if data is None:
                    continue  # removed since the listing
                if len(data) > _MAX_ENTRY_BYTES:
                    raise ValueError(f"{len(data)} bytes: too large for an entry")
                entry = Entry.from_json(json.loads(data))
            except (OSError, ValueError, RecursionError) as exc:
                found.append(Unreadable(name, str(exc)))
                continue
            reason = check_entry(entry, name)
            found.append(entry if reason is None else Unreadable(name, reason))
        return found

    def entries(self) -> list[Entry]:
        """Every usable entry, oldest first (see :meth:`scan` for the unusable ones)."""
        return [e for e in self.scan() if isinstance(e, Entry)]

    def last_undoable(self) -> Entry | None:
        """The newest entry with something to revert; JournalError when a newer journal file is
        unusable (it may be the change to revert: refuse rather than revert an older one)."""
        for item in reversed(self.scan()):
            if isinstance(item, Unreadable):
                raise JournalError(f"journal entry {self.entries_dir / item.name} is unusable ({item.reason}); "
                                   "nothing was changed: inspect it, and move it out of the journal to "
                                   "undo older changes")
            if item.status in UNDOABLE:
                return item
        return None

    def stale_dirs(self) -> set[str]:
        """State-dir relative directories where a killed run may have left temporaries."""
        found = {ENTRIES}
        for top, dirs, _ in os.walk(self.backups_dir):
            found.update(os.path.relpath(os.path.join(top, d), self.state_dir) for d in dirs)
        return found

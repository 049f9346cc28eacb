"""The change journal: one JSON file per change in ``STATE_DIR/journal``, written BEFORE the change.

An entry is written with status ``intent`` before anything is touched: it holds the original
live values and a backup (``STATE_DIR/backups/<id>/...``, byte for byte) of every file the
change will edit. Each step is recorded as it completes, and the entry ends ``applied``,
``rolled_back`` or ``rollback_failed``. A process killed in the middle leaves ``intent``, which
``minfree undo`` repairs from the recorded originals. Entries are written atomically
(tmp + fsync + rename), so a kill never leaves half a JSON file.

Sample entry (abridged)::

    {"id": "20250101T120000Z-4242", "status": "applied", "created": "2025-01-01T12:00:00Z",
     "reason": "vm.min_free_kbytes: kernel default 67584 kB ...",
     "config_root": "/", "live": {"min_free_kbytes": {"before": 67584, "after": 90112}},
     "files": [{"path": "etc/sysctl.d/99-minfree.conf", "backup": null, "existed": false}],
     "steps": ["intent", "live:min_free_kbytes", "verified", "file:etc/sysctl.d/99-minfree.conf"]}
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_STATE_DIR = Path("/var/lib/minfree")
#: Statuses from which ``undo`` has something to revert.
UNDOABLE = frozenset({"intent", "applied", "rollback_failed"})


@dataclass(slots=True)
class LiveChange:
    before: int
    after: int


@dataclass(slots=True)
class FileChange:
    """A file the change edits: ``path`` relative to the config root; ``backup`` relative to the
    state dir (None when the file did not exist before)."""

    path: str
    existed: bool
    backup: str | None = None
    mode: int | None = None


@dataclass(slots=True)
class Entry:
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
    def from_json(cls, data: dict) -> Entry | None:
        """An entry from its JSON form; None when malformed.

        >>> e = Entry.from_json({"id": "x", "created": "t", "status": "intent", "reason": "r",
        ...     "config_root": "/", "live": {"min_free_kbytes": {"before": 1, "after": 2}},
        ...     "files": [{"path": "etc/a.conf", "existed": False}]})
        >>> e.live["min_free_kbytes"].after, e.files[0].backup
        (2, None)
        >>> Entry.from_json({"id": 3}) is None
        True
        """
        try:
            return cls(
                id=str(data["id"]), created=str(data["created"]), status=str(data["status"]),
                reason=str(data["reason"]), config_root=str(data["config_root"]),
                live={k: LiveChange(int(v["before"]), int(v["after"])) for k, v in data.get("live", {}).items()},
                files=[FileChange(str(f["path"]), bool(f["existed"]), f.get("backup"), f.get("mode"))
                       for f in data.get("files", [])],
                steps=[str(s) for s in data.get("steps", [])],
                messages=[str(m) for m in data.get("messages", [])],
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path``: a temp file in the same directory, fsync, rename, fsync dir."""
    tmp = path.with_name(f".{path.name}.minfree-tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Journal:
    """Entries under ``state_dir/journal``; backups under ``state_dir/backups``."""

    def __init__(self, state_dir: Path | str = DEFAULT_STATE_DIR) -> None:
        self.state_dir = Path(state_dir)
        self.entries_dir = self.state_dir / "journal"
        self.backups_dir = self.state_dir / "backups"

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
        target = self.backups_dir / entry.id / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data, 0o600)
        return str(target.relative_to(self.state_dir))

    def read_backup(self, backup: str) -> bytes:
        return (self.state_dir / backup).read_bytes()

    def save(self, entry: Entry) -> None:
        self.entries_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = json.dumps(entry.to_json(), indent=1, sort_keys=True).encode() + b"\n"
        write_atomic(self.entries_dir / f"{entry.id}.json", data, 0o600)

    def step(self, entry: Entry, step: str, status: str | None = None) -> None:
        """Record a completed step (and a new status) durably."""
        entry.steps.append(step)
        if status is not None:
            entry.status = status
        self.save(entry)

    def entries(self) -> list[Entry]:
        """Every readable entry, oldest first (unreadable files are skipped)."""
        if not self.entries_dir.is_dir():
            return []
        found = []
        for path in sorted(self.entries_dir.glob("*.json")):
            try:
                entry = Entry.from_json(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
            if entry is not None:
                found.append(entry)
        return found

    def last_undoable(self) -> Entry | None:
        return next((e for e in reversed(self.entries()) if e.status in UNDOABLE), None)

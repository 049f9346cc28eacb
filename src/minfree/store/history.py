"""Memory history in one SQLite file: written by ``minfree watch --record``, read by
``minfree doctor --history`` (and ``minfree report``). Tables: :mod:`minfree.store.schema`,
described for readers in ``store/README.md``.

The writer keeps its cost flat: one transaction per :data:`COMMIT_EVERY` seconds of samples,
a 1 MiB page cache, WAL with ``synchronous=NORMAL`` (a power cut loses at most the last
samples, never the file),
and retention by time: samples older than the retention are deleted as the recorder runs,
and their pages are given back to the file system.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from minfree.analysis.rates import WATCHED
from minfree.analysis.report_series import (LINE_POINTS, RecordedFailure, Recording, ZoneBucket, bucket_seconds,
                                            request_class_of)
from minfree.analysis.trends import CounterPoint, FailurePoint, History, PressurePoint, ZonePoint
from minfree.model.kversion import parse_release
from minfree.model.record import record
from minfree.model.zones import PAGE_SIZE_DEFAULT
from minfree.proc.system import MemoryReading
from minfree.proc.vmstat import vmstat_total
from minfree.store import files
from minfree.store.schema import CREATE, NEW_FILE, PAGE_SIZE, SCHEMA_VERSION, TABLES

#: Pruning runs at most this often (seconds of recording), and at start.
PRUNE_EVERY = 60.0
#: Samples are committed together, this many seconds of them at a time (and on close, before
#: a prune, with a failure report): each commit writes whole pages to the WAL, so one commit
#: a second wrote 26 KB/s for 0.5 KB of history (bench/README.md). A recorder killed with
#: SIGKILL loses at most these seconds; SIGTERM loses nothing.
COMMIT_EVERY = 10.0
#: Pages handed back to the file system per prune (1 MiB at a time).
VACUUM_PAGES = 1024
#: What the WAL file is cut back to after a checkpoint, in pages.
WAL_PAGES = 1000


class StoreError(Exception):
    """The history file cannot be used: a one-line reason for the user."""


@record
class RunInfo:
    """One recorder run (``watch --record``): when it started, the boot (kernel/random/boot_id), the
    host name, kernel release, sampling interval (s) and page size."""

    started: float
    boot_id: str | None
    hostname: str | None
    release: str | None
    interval: float
    page_size: int


def _connect(path: str, *, read_only: bool) -> sqlite3.Connection:
    uri = f"file:{quote(path)}?mode={'ro' if read_only else 'rw'}"
    try:
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA trusted_schema = OFF")   # no functions run from a schema we did not write
        db.execute("PRAGMA cache_size = -1024")     # KiB: memory stays flat however long the history
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: not a minfree history database ({error})") from None
    if tables and not TABLES <= tables:
        db.close()
        raise StoreError(f"{path}: not a minfree history database (tables: {', '.join(sorted(tables))})")
    if tables:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is None or not str(version[0]).isdecimal():
            db.close()
            raise StoreError(f"{path}: history database without a schema version")
        if int(version[0]) > SCHEMA_VERSION:
            db.close()
            raise StoreError(f"{path}: history schema version {version[0]} is newer than this "
                             f"minfree's ({SCHEMA_VERSION}); upgrade minfree to read it")
    return db


class HistoryWriter:
    """Appends readings to the history file at ``path`` (created safely when missing)."""

    def __init__(self, path: str, retention: float, run: RunInfo, *, trust: files.Trust) -> None:
        try:
            self.path = files.prepare(path, create=True, trust=trust)
        except files.UnsafePath as error:
            raise StoreError(f"refusing the history file: {error}") from None
        except OSError as error:
            raise StoreError(f"cannot create the history file {path}: {error.strerror or error}") from None
        self.db = _connect(self.path, read_only=False)
        self.retention = retention
        try:
            new = not self._tables()
            if new:   # before WAL writes the header
                for pragma in NEW_FILE:
                    self.db.execute(pragma)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            # the WAL is cut back to WAL_PAGES pages after each checkpoint (SQLite checkpoints
            # every 1000 pages), instead of keeping the largest size it ever reached
            self.db.execute(f"PRAGMA journal_size_limit = {WAL_PAGES * PAGE_SIZE}")
            if new:
                self._create(run.started)
            self.run = self.db.execute(
                "INSERT INTO runs (started, boot_id, hostname, release, interval, page_size) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (run.started, run.boot_id, run.hostname, run.release, run.interval, run.page_size)).lastrowid
        except sqlite3.Error as error:
            self.db.close()
            raise StoreError(f"{self.path}: {error}") from None
        self._zones = dict(self._ids("SELECT node, name, id FROM zones", 2))
        self._counters = dict(self._ids("SELECT name, id FROM counter_names", 1))
        self._pruned_at: float | None = None
        self._committed_at: float | None = None   # monotonic time of the last committed sample

    def _tables(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _create(self, now: float) -> None:
        self.db.execute("BEGIN")
        for statement in CREATE:
            self.db.execute(statement)
        self.db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                            [("schema_version", str(SCHEMA_VERSION)), ("created", repr(now))])
        self.db.execute("COMMIT")

    def _ids(self, query: str, key_width: int):
        for row in self.db.execute(query):
            yield (row[:key_width] if key_width > 1 else row[0]), row[key_width]

    def _zone_id(self, node: int, name: str) -> int:
        key = (node, name)
        if key not in self._zones:
            self._zones[key] = self.db.execute(
                "INSERT INTO zones (node, name) VALUES (?, ?)", key).lastrowid
        return self._zones[key]

    def _counter_id(self, name: str) -> int:
        if name not in self._counters:
            self._counters[name] = self.db.execute(
                "INSERT INTO counter_names (name) VALUES (?)", (name,)).lastrowid
        return self._counters[name]

    def add(self, reading: MemoryReading, extra: Mapping[str, int] | None = None) -> None:
        """One sample: every populated zone, the watched counters and ``extra`` ones (cumulative
        within the run), PSI (committed with the samples of :data:`COMMIT_EVERY` seconds).
        Raises :class:`StoreError` when the file cannot take it (disk full, I/O error)."""
        psi = reading.psi
        some = psi.some if psi else None
        full = psi.full if psi else None
        blocks = {(row.node, row.zone): " ".join(map(str, row.counts)) for row in reading.buddy}
        try:
            if not self.db.in_transaction:
                self.db.execute("BEGIN")
            sample = self.db.execute(
                "INSERT INTO samples (run, t, mono, psi_some_avg10, psi_full_avg10, psi_some_total_us, "
                "psi_full_total_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.run, reading.wall, reading.vmstat.taken_at,
                 some.avg10 if some else None, full.avg10 if full else None,
                 some.total_us if some else None, full.total_us if full else None)).lastrowid
            self.db.executemany(
                "INSERT INTO zone_samples (sample, zone, free, min, low, high, promo, boost, managed, "
                "free_blocks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(sample, self._zone_id(z.node, z.zone), z.free, z.min, z.low, z.high, z.promo, z.boost,
                  z.managed, blocks.get((z.node, z.zone))) for z in reading.zones
                 if z.managed != 0])   # an empty zone (Movable, Device) stays empty: not kept
            counters = reading.vmstat.counters
            self.db.executemany(
                "INSERT INTO counter_samples (sample, counter, value) VALUES (?, ?, ?)",
                [(sample, self._counter_id(name), value) for name, value in
                 ((name, vmstat_total(counters, name)) for name in WATCHED) if value is not None]
                + [(sample, self._counter_id(name), value) for name, value in (extra or {}).items()])
            if self._committed_at is None or reading.vmstat.taken_at - self._committed_at >= COMMIT_EVERY:
                self.db.execute("COMMIT")
                self._committed_at = reading.vmstat.taken_at
        except sqlite3.Error as error:
            self._rollback()
            raise StoreError(f"{self.path}: {error}") from None
        if self._pruned_at is None or reading.wall - self._pruned_at >= PRUNE_EVERY:
            self.prune(reading.wall)

    def flush(self) -> None:
        """Commit the samples not committed yet."""
        try:
            if self.db.in_transaction:
                self.db.execute("COMMIT")
        except sqlite3.Error as error:
            self._rollback()
            raise StoreError(f"{self.path}: {error}") from None

    def add_failure(self, t: float, kernel_time: float | None, process: str | None, order: int | None,
                    mode: str | None, origin: str | None, summary: str) -> None:
        """A failure report, committed at once with the samples before it (the evidence that
        matters most is not left waiting for the next commit)."""
        try:
            if not self.db.in_transaction:
                self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO failures (run, t, kernel_time, process, alloc_order, mode, origin, summary) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (self.run, t, kernel_time, process, order, mode, origin, summary))
        except sqlite3.Error as error:
            self._rollback()
            raise StoreError(f"{self.path}: {error}") from None
        self.flush()

    def prune(self, now: float) -> int:
        """Delete what is older than the retention; returns the samples deleted."""
        self.flush()
        self._pruned_at = now
        cutoff = now - self.retention
        try:
            self.db.execute("BEGIN")
            first_kept = self.db.execute("SELECT min(id) FROM samples WHERE t >= ?", (cutoff,)).fetchone()[0]
            if first_kept is None:   # nothing recent: everything goes
                first_kept = (self.db.execute("SELECT max(id) FROM samples").fetchone()[0] or 0) + 1
            for table in ("zone_samples", "counter_samples"):
                self.db.execute(f"DELETE FROM {table} WHERE sample < ?", (first_kept,))
            deleted = self.db.execute("DELETE FROM samples WHERE id < ?", (first_kept,)).rowcount
            self.db.execute("DELETE FROM failures WHERE t < ?", (cutoff,))
            # runs are numbered in time order like samples: those before the oldest sample's
            # run have no sample left (no scan of the samples table)
            oldest = self.db.execute("SELECT run FROM samples ORDER BY id LIMIT 1").fetchone()
            self.db.execute("DELETE FROM runs WHERE id < ? AND id NOT IN (SELECT run FROM failures)",
                            (self.run if oldest is None else min(oldest[0], self.run),))
            self.db.execute("COMMIT")
            self.db.execute(f"PRAGMA incremental_vacuum({VACUUM_PAGES})").fetchall()
        except sqlite3.Error as error:
            self._rollback()
            raise StoreError(f"{self.path}: {error}") from None
        return deleted

    def _rollback(self) -> None:
        """Undo the open transaction; zone and counter ids it created are forgotten too."""
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        self._zones = dict(self._ids("SELECT node, name, id FROM zones", 2))
        self._counters = dict(self._ids("SELECT name, id FROM counter_names", 1))

    def close(self) -> None:
        """Commit what is pending (a StoreError when the file refuses it) and close."""
        try:
            self.flush()
        finally:
            self.db.close()


def read_history(path: str, since: float, until: float, *, trust: files.Trust) -> History:
    """Everything recorded in ``[since, until]`` at ``path``, opened read-only (``trust``:
    :data:`minfree.store.files.Trust`)."""
    resolved, db = _open_reader(path, trust)
    try:
        return _read(db, since, until)
    except sqlite3.Error as error:
        raise StoreError(f"{resolved}: {error}") from None
    finally:
        db.close()


#: What a window of history is read with, each query bound to (since, until). Every one starts
#: from the index on ``samples.t`` and reaches the rows of a sample by primary key (CROSS JOIN
#: keeps SQLite from scanning the large tables instead: a week at 1 s is 600,000 samples).
WINDOW_QUERIES = {
    "page_size": "SELECT page_size FROM runs WHERE id IN (SELECT run FROM samples WHERE t BETWEEN ? AND ?) "
                 "ORDER BY id DESC LIMIT 1",
    "samples": "SELECT count(*) FROM samples WHERE t BETWEEN ? AND ?",
    "zones": "SELECT s.run, s.t, z.node, z.name, zs.free, zs.min, zs.low, zs.high, zs.managed FROM samples s "
             "CROSS JOIN zone_samples zs ON zs.sample = s.id JOIN zones z ON z.id = zs.zone "
             "WHERE s.t BETWEEN ? AND ? ORDER BY s.t",
    "counters": "SELECT s.run, s.t, s.mono, c.name, cs.value FROM samples s "
                "CROSS JOIN counter_samples cs ON cs.sample = s.id JOIN counter_names c ON c.id = cs.counter "
                "WHERE s.t BETWEEN ? AND ? ORDER BY s.t",
    "pressure": "SELECT run, t, psi_some_avg10, psi_full_avg10 FROM samples WHERE t BETWEEN ? AND ? ORDER BY t",
    "failures": "SELECT t, process, alloc_order, origin FROM failures WHERE t BETWEEN ? AND ? ORDER BY t",
    # minfree report: the recorder's run, each zone's lowest-free sample per bucket, failures, PSI peaks
    "run": "SELECT hostname, release, interval, page_size FROM runs "
           "WHERE id IN (SELECT run FROM samples WHERE t BETWEEN ? AND ?) ORDER BY id DESC LIMIT 1",
    "recorded_failures": "SELECT t, process, alloc_order, origin, mode, summary FROM failures "
                         "WHERE t BETWEEN ? AND ? ORDER BY t",
    "pressure_max": "SELECT max(psi_some_avg10), max(psi_full_avg10) FROM samples WHERE t BETWEEN ? AND ?",
}


def _open_reader(path: str, trust: files.Trust) -> tuple[str, sqlite3.Connection]:
    """The resolved path and a read-only connection to a history that holds tables."""
    try:
        resolved = files.prepare(path, create=False, trust=trust)
    except files.UnsafePath as error:
        raise StoreError(f"refusing the history file: {error}") from None
    except OSError as error:
        raise StoreError(f"cannot read the history file {path}: {error.strerror or error}") from None
    db = _connect(resolved, read_only=True)
    if not {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}:
        db.close()
        raise StoreError(f"{resolved}: empty history database (nothing recorded yet)")
    return resolved, db


def read_span(path: str, *, trust: files.Trust) -> tuple[float, float] | None:
    """The times of the first and the last sample recorded at ``path`` (None: no sample)."""
    resolved, db = _open_reader(path, trust)
    try:
        first, last = db.execute("SELECT min(t), max(t) FROM samples").fetchone()
    except sqlite3.Error as error:
        raise StoreError(f"{resolved}: {error}") from None
    finally:
        db.close()
    return None if first is None else (first, last)


#: Each zone's lowest-free sample per bucket of a window; ``{since}`` and ``{bucket}`` are
#: floats minfree computed (formatted with repr), the window's bounds are bound as for the rest.
BUCKET_QUERY = ("SELECT z.node, z.name, CAST((s.t - {since!r}) / {bucket!r} AS INTEGER) AS bucket, count(*), "
                "sum(zs.free < zs.low), sum(zs.free < zs.min), min(zs.free), s.t, zs.min, zs.low, zs.high, "
                "zs.free_blocks FROM samples s CROSS JOIN zone_samples zs ON zs.sample = s.id "
                "JOIN zones z ON z.id = zs.zone WHERE s.t BETWEEN ? AND ? GROUP BY zs.zone, bucket "
                "ORDER BY zs.zone, bucket")


def read_recording(path: str, since: float, until: float, points: int = LINE_POINTS, *,
                   trust: files.Trust) -> Recording:
    """The window ``[since, until]`` bucketed for ``minfree report`` (at most ``points`` buckets
    per zone; :mod:`minfree.analysis.report_series` says what a bucket keeps). SQLite does the
    grouping: with ``min()`` as a query's only min/max aggregate, its other plain columns are
    those of the row that holds the minimum (sqlite.org/lang_select.html, "bare columns")."""
    resolved, db = _open_reader(path, trust)
    window = (since, until)
    try:
        run = db.execute(WINDOW_QUERIES["run"], window).fetchone() or (None, None, 1.0, PAGE_SIZE_DEFAULT)
        hostname, release, interval, page_size = run
        bucket = bucket_seconds(until - since, interval or 1.0, points)
        samples = db.execute(WINDOW_QUERIES["samples"], window).fetchone()[0]
        recording = Recording(resolved, since, until, bucket, samples, page_size, hostname, release)
        recording.buckets = [
            ZoneBucket(node, zone, since + index * bucket, count, under_low, under_min, t, free, low_min, low,
                       high, tuple(map(int, blocks.split())) if blocks else ())
            for node, zone, index, count, under_low, under_min, free, t, low_min, low, high, blocks
            in db.execute(BUCKET_QUERY.format(since=float(since), bucket=float(bucket)), window)]
        version = parse_release(release) if release else None
        recording.failures = [
            RecordedFailure(t, process, order, origin, summary,
                            request_class_of(mode, version))
            for t, process, order, origin, mode, summary in db.execute(WINDOW_QUERIES["recorded_failures"], window)]
        recording.psi_some_max, recording.psi_full_max = db.execute(WINDOW_QUERIES["pressure_max"], window).fetchone()
        return recording
    except sqlite3.Error as error:
        raise StoreError(f"{resolved}: {error}") from None
    finally:
        db.close()


def _read(db: sqlite3.Connection, since: float, until: float) -> History:
    window = (since, until)
    page_size = db.execute(WINDOW_QUERIES["page_size"], window).fetchone()
    samples = db.execute(WINDOW_QUERIES["samples"], window).fetchone()[0]
    history = History(since, until, page_size[0] if page_size else PAGE_SIZE_DEFAULT, samples)
    history.zones = _points(ZonePoint, db.execute(WINDOW_QUERIES["zones"], window))
    history.counters = _points(CounterPoint, db.execute(WINDOW_QUERIES["counters"], window))
    history.pressure = _points(PressurePoint, db.execute(WINDOW_QUERIES["pressure"], window))
    history.failures = _points(FailurePoint, db.execute(WINDOW_QUERIES["failures"], window))
    return history


def _points(kind, rows: Iterable[tuple]) -> list:
    return [kind(*row) for row in rows]

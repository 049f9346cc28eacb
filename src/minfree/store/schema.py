"""The history database's schema, version 1 (documented for readers in ``store/README.md``).

One SQLite file. ``meta`` holds ``schema_version``; a reader refuses a newer version, and a
change to the tables below raises :data:`SCHEMA_VERSION` (with a migration in
:mod:`minfree.store.history`). Times are Unix seconds (``t``, REAL) for history and
``CLOCK_MONOTONIC`` seconds (``mono``) for rates; memory is in pages of ``runs.page_size``.
"""
from __future__ import annotations

#: Where `minfree watch --record` keeps the history (the systemd unit's StateDirectory).
DEFAULT_DB = "/var/lib/minfree/history.db"

SCHEMA_VERSION = 1

#: Bytes per database page. A commit writes every page it changed to the WAL: with 1 KiB pages
#: a batch of samples costs half the bytes written of SQLite's default 4 KiB (measured:
#: bench/README.md).
PAGE_SIZE = 1024

#: Set on a new file before anything is written (neither can change once the file has a
#: page): the page size, and ``auto_vacuum``, so that pruned pages go back to the file system
#: in steps (``PRAGMA incremental_vacuum``) instead of staying in the file.
NEW_FILE = (f"PRAGMA page_size = {PAGE_SIZE}", "PRAGMA auto_vacuum = INCREMENTAL")

CREATE = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    # one recorder process on one boot: counters are compared only within a run
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started REAL NOT NULL,
        boot_id TEXT,
        hostname TEXT,
        release TEXT,
        interval REAL NOT NULL,
        page_size INTEGER NOT NULL)""",
    """CREATE TABLE zones (
        id INTEGER PRIMARY KEY,
        node INTEGER NOT NULL,
        name TEXT NOT NULL,
        UNIQUE (node, name))""",
    """CREATE TABLE counter_names (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE)""",
    """CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        run INTEGER NOT NULL REFERENCES runs (id),
        t REAL NOT NULL,
        mono REAL NOT NULL,
        psi_some_avg10 REAL,
        psi_full_avg10 REAL,
        psi_some_total_us INTEGER,
        psi_full_total_us INTEGER)""",
    "CREATE INDEX samples_t ON samples (t)",
    """CREATE TABLE zone_samples (
        sample INTEGER NOT NULL REFERENCES samples (id),
        zone INTEGER NOT NULL REFERENCES zones (id),
        free INTEGER NOT NULL,
        min INTEGER NOT NULL,
        low INTEGER NOT NULL,
        high INTEGER NOT NULL,
        promo INTEGER,
        boost INTEGER,
        managed INTEGER,
        free_blocks TEXT,
        PRIMARY KEY (sample, zone)) WITHOUT ROWID""",
    """CREATE TABLE counter_samples (
        sample INTEGER NOT NULL REFERENCES samples (id),
        counter INTEGER NOT NULL REFERENCES counter_names (id),
        value INTEGER NOT NULL,
        PRIMARY KEY (sample, counter)) WITHOUT ROWID""",
    """CREATE TABLE failures (
        id INTEGER PRIMARY KEY,
        run INTEGER NOT NULL REFERENCES runs (id),
        t REAL NOT NULL,
        kernel_time REAL,
        process TEXT,
        alloc_order INTEGER,
        mode TEXT,
        origin TEXT,
        summary TEXT NOT NULL)""",
    "CREATE INDEX failures_t ON failures (t)",
)

#: Every table of version 1 (a file holding other tables only is not a minfree history).
TABLES = frozenset({"meta", "runs", "zones", "counter_names", "samples", "zone_samples",
                    "counter_samples", "failures"})

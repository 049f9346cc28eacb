"""The history store: schema and version, round trip, retention by time, safe file creation."""
from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from minfree.analysis.trends import trends
from minfree.proc.buddyinfo import BuddyRow
from minfree.proc.psi import MemoryPressure, PsiLine
from minfree.proc.system import MemoryReading
from minfree.proc.vmstat import VmstatSample
from minfree.proc.zoneinfo import ZoneInfo
from minfree.actions.safefs import check_trusted
from minfree.store.history import COMMIT_EVERY, WINDOW_QUERIES, HistoryWriter, RunInfo, StoreError, read_history
from minfree.store.schema import PAGE_SIZE, SCHEMA_VERSION, TABLES

RUN = RunInfo(started=1000.0, boot_id="b1", hostname="db1", release="6.1.0-56-amd64", interval=1.0,
              page_size=4096)


def reading(t: float, normal_free: int, allocstall: int = 0) -> MemoryReading:
    zones = [ZoneInfo(0, "DMA32", free=700000, min=6000, low=7500, high=9000, managed=770000, boost=0),
             ZoneInfo(0, "Normal", free=normal_free, min=10000, low=12500, high=15000, managed=3000000,
                      promo=17500, boost=0),
             ZoneInfo(0, "Movable", free=0, min=0, low=0, high=0, managed=0)]
    buddy = [BuddyRow(0, "DMA32", (4, 1, 2, 2, 2, 2, 1, 4, 4, 2, 752)),
             BuddyRow(0, "Normal", (2179, 4072, 1455, 508, 94, 50, 22, 9, 1, 1, 34))]
    counters = {"allocstall_normal": allocstall, "allocstall_dma32": 1, "compact_stall": 0, "nr_free_pages": 5}
    psi = MemoryPressure(PsiLine(1.5, 0.5, 0.1, 1000), PsiLine(0.25, 0.0, 0.0, 10))
    return MemoryReading(wall=t, vmstat=VmstatSample(counters, t - 900.0), psi=psi, zones=zones, buddy=buddy)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    directory = tmp_path / "minfree"
    directory.mkdir(mode=0o700)
    return directory


def test_new_file_has_the_schema_its_version_and_safe_modes(home: Path) -> None:
    writer = HistoryWriter(str(home / "history.db"), retention=3600, run=RUN, trust=check_trusted)
    writer.add(reading(1000.0, 20000))
    writer.close()
    path = home / "history.db"
    assert os.stat(path).st_mode & 0o777 == 0o600
    db = sqlite3.connect(path)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == TABLES
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA auto_vacuum").fetchone() == (2,)   # incremental
    assert db.execute("PRAGMA page_size").fetchone() == (PAGE_SIZE,)
    row = db.execute("SELECT z.name, zs.free, zs.low, zs.promo, zs.free_blocks FROM zone_samples zs "
                     "JOIN zones z ON z.id = zs.zone WHERE z.name = 'Normal'").fetchone()
    assert row == ("Normal", 20000, 12500, 17500, "2179 4072 1455 508 94 50 22 9 1 1 34")
    counters = dict(db.execute("SELECT c.name, cs.value FROM counter_samples cs JOIN counter_names c "
                               "ON c.id = cs.counter"))
    assert counters["allocstall"] == 1 and counters["compact_stall"] == 0   # per-zone items summed
    assert "nr_free_pages" not in counters                                   # gauges are not recorded
    assert db.execute("SELECT psi_some_avg10, psi_full_total_us FROM samples").fetchone() == (1.5, 10)
    assert db.execute("SELECT boot_id, hostname, page_size FROM runs").fetchone() == ("b1", "db1", 4096)


def test_round_trip_into_trends(home: Path) -> None:
    path = str(home / "history.db")
    writer = HistoryWriter(path, retention=86400, run=RUN, trust=check_trusted)
    for second, free in enumerate((20000, 12000, 11000, 13000, 9000, 20000)):
        writer.add(reading(1000.0 + second, free, allocstall=second * 2))
    writer.add_failure(1003.5, 12.5, "asd", 1, "0x820", "tcp-accept", "[12.5] asd: order:1 ...")
    writer.close()
    # a second recorder run on the same file: counters restart, episodes are not joined across runs
    writer = HistoryWriter(path, retention=86400, run=RUN, trust=check_trusted)
    writer.add(reading(1010.0, 11000, allocstall=0))
    writer.close()
    found = trends(read_history(path, 999.0, 2000.0, trust=check_trusted))
    normal = next(z for z in found.zones if z.zone == "Normal")
    assert [z.zone for z in found.zones] == ["DMA32", "Normal"]   # the empty Movable zone is left out
    assert (normal.below_low, normal.below_min, normal.samples) == (3, 1, 7)
    assert (normal.lowest_free, normal.lowest_at, normal.low_then) == (9000, 1004.0, 12500)
    assert found.samples == 7
    assert found.counter_totals["allocstall"] == 10 and found.counted_seconds == 5.0
    assert found.failures_by_order == {1: 1} and found.failures_by_origin == {"tcp-accept": 1}
    assert found.psi_some_max == 1.5


def test_retention_deletes_old_samples_and_failures(home: Path) -> None:
    path = str(home / "history.db")
    writer = HistoryWriter(path, retention=100, run=RUN, trust=check_trusted)
    for t in range(1000, 1300, 10):
        writer.add(reading(float(t), 20000))
    writer.add_failure(1050.0, None, "old", 0, None, None, "old report")
    writer.add_failure(1290.0, None, "new", 0, None, None, "new report")
    writer.prune(1300.0)
    writer.close()
    db = sqlite3.connect(path)
    times = [t for (t,) in db.execute("SELECT t FROM samples ORDER BY t")]
    assert times == [float(t) for t in range(1200, 1300, 10)]
    assert db.execute("SELECT count(*) FROM zone_samples").fetchone() == (len(times) * 2,)   # not Movable
    assert db.execute("SELECT count(DISTINCT sample) FROM counter_samples").fetchone() == (len(times),)
    assert [p for (p,) in db.execute("SELECT process FROM failures")] == ["new"]


def test_retention_runs_while_recording_and_gives_pages_back(home: Path) -> None:
    path = home / "history.db"
    writer = HistoryWriter(str(path), retention=30, run=RUN, trust=check_trusted)
    for t in range(0, 1200):
        writer.add(reading(1000.0 + t, 20000))
    writer.flush()
    writer.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages_full = writer.db.execute("PRAGMA page_count").fetchone()[0]
    kept = writer.db.execute("SELECT min(t), count(*) FROM samples").fetchone()
    writer.close()
    # pruned at least every PRUNE_EVERY (60) seconds of recording: never more than 30 + 60 s kept
    assert kept[0] >= 2199.0 - 90 and kept[1] <= 91
    unpruned = HistoryWriter(str(home / "all.db"), retention=10**9, run=RUN, trust=check_trusted)
    for t in range(0, 1200):
        unpruned.add(reading(1000.0 + t, 20000))
    unpruned.flush()
    unpruned.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert pages_full < unpruned.db.execute("PRAGMA page_count").fetchone()[0] / 4
    unpruned.close()


def test_a_newer_schema_is_refused(home: Path) -> None:
    path = str(home / "history.db")
    HistoryWriter(path, retention=3600, run=RUN, trust=check_trusted).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this minfree"):
        HistoryWriter(path, retention=3600, run=RUN, trust=check_trusted)
    with pytest.raises(StoreError, match="newer than this minfree"):
        read_history(path, 0, 1, trust=check_trusted)


def test_other_files_are_refused(home: Path) -> None:
    other = home / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    os.chmod(other, 0o600)
    with pytest.raises(StoreError, match="not a minfree history database"):
        HistoryWriter(str(other), retention=3600, run=RUN, trust=check_trusted)
    junk = home / "junk.db"
    junk.write_bytes(b"\x00garbage" * 100)
    junk.chmod(0o600)
    with pytest.raises(StoreError, match="not a minfree history database"):
        read_history(str(junk), 0, 1, trust=check_trusted)


def test_a_planted_symlink_is_refused(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    os.symlink(target, home / "history.db-wal")
    with pytest.raises(StoreError, match="is a symlink"):
        HistoryWriter(str(home / "history.db"), retention=3600, run=RUN, trust=check_trusted)


def test_a_directory_others_can_write_is_refused(home: Path) -> None:
    home.chmod(0o777)
    with pytest.raises(StoreError, match="writable by others"):
        HistoryWriter(str(home / "history.db"), retention=3600, run=RUN, trust=check_trusted)
    assert not (home / "history.db").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_a_file_of_another_user_is_refused(home: Path) -> None:
    path = home / "history.db"
    HistoryWriter(str(path), retention=3600, run=RUN, trust=check_trusted).close()
    os.chown(path, 65534, 65534)
    with pytest.raises(StoreError, match="owned by uid 65534"):
        HistoryWriter(str(path), retention=3600, run=RUN, trust=check_trusted)
    with pytest.raises(StoreError, match="owned by uid 65534"):
        read_history(str(path), 0, 1, trust=check_trusted)


def test_a_missing_directory_is_made_private(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    path = tmp_path / "new" / "history.db"
    HistoryWriter(str(path), retention=3600, run=RUN, trust=check_trusted).close()
    assert os.stat(path.parent).st_mode & 0o777 == 0o700


def test_sticky_ancestors_are_allowed_but_not_as_the_files_directory(tmp_path: Path) -> None:
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    inner = sticky / "mine"
    inner.mkdir(mode=0o700)
    HistoryWriter(str(inner / "history.db"), retention=3600, run=RUN, trust=check_trusted).close()
    with pytest.raises(StoreError, match="writable by others"):
        HistoryWriter(str(sticky / "history.db"), retention=3600, run=RUN, trust=check_trusted)


def test_reading_a_missing_file_says_so(home: Path) -> None:
    with pytest.raises(StoreError, match="no such file"):
        read_history(str(home / "none.db"), 0, 1, trust=check_trusted)


def test_a_window_is_read_through_the_time_index(home: Path) -> None:
    """No query of a window scans a whole table (a week at 1 s is 600,000 samples)."""
    path = str(home / "history.db")
    writer = HistoryWriter(path, retention=3600, run=RUN, trust=check_trusted)
    writer.add(reading(1000.0, 20000))
    for name, query in WINDOW_QUERIES.items():
        plan = " | ".join(row[3] for row in writer.db.execute("EXPLAIN QUERY PLAN " + query, (0, 1)))
        assert "SCAN" not in plan, f"{name}: {plan}"
        assert "samples_t" in plan or "failures_t" in plan, f"{name}: {plan}"
    writer.close()


def test_samples_are_committed_ten_seconds_at_a_time_and_failures_at_once(home: Path) -> None:
    path = home / "history.db"
    writer = HistoryWriter(str(path), retention=3600, run=RUN, trust=check_trusted)

    def committed() -> tuple[int, int]:
        with closing(sqlite3.connect(path)) as other:
            return (other.execute("SELECT count(*) FROM samples").fetchone()[0],
                    other.execute("SELECT count(*) FROM failures").fetchone()[0])

    writer.add(reading(1000.0, 20000))                 # the first sample commits at once
    for t in range(1, int(COMMIT_EVERY)):
        writer.add(reading(1000.0 + t, 20000))
    assert committed() == (1, 0)
    writer.add(reading(1000.0 + COMMIT_EVERY, 20000))  # ten seconds after the last commit
    assert committed() == (int(COMMIT_EVERY) + 1, 0)
    writer.add(reading(1011.0, 20000))
    writer.add_failure(1011.5, None, "asd", 1, "0x820", "tcp-accept", "asd: order:1")
    assert committed() == (int(COMMIT_EVERY) + 2, 1)
    writer.add(reading(1012.0, 20000))
    writer.close()                                     # SIGTERM's path: nothing is lost
    assert committed() == (int(COMMIT_EVERY) + 3, 1)


def test_a_failed_batch_forgets_the_zones_it_created(home: Path) -> None:
    """A zone first seen in a batch that is rolled back (the disk was full) gets a new id."""
    writer = HistoryWriter(str(home / "history.db"), retention=3600, run=RUN, trust=check_trusted)
    writer.add(reading(1000.0, 20000))
    first = reading(1001.0, 20000)
    node1 = ZoneInfo(1, "Normal", free=5000, min=100, low=125, high=150, managed=9000)
    writer.add(MemoryReading(first.wall, first.vmstat, first.psi, [*first.zones, node1], first.buddy))
    writer._rollback()   # what a failed COMMIT does
    writer.add(MemoryReading(first.wall, first.vmstat, first.psi, [*first.zones, node1], first.buddy))
    writer.close()
    with closing(sqlite3.connect(home / "history.db")) as db:
        orphans = db.execute("SELECT count(*) FROM zone_samples WHERE zone NOT IN (SELECT id FROM zones)")
        assert orphans.fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM zones WHERE node = 1").fetchone() == (1,)

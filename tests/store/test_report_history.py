"""``read_recording``: a history bucketed by SQLite equals the same buckets counted by hand."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from bench_report import write_history  # noqa: E402
from minfree.actions.safefs import check_trusted  # noqa: E402
from minfree.store.history import BUCKET_QUERY, read_recording, read_span  # noqa: E402


def test_each_bucket_holds_its_lowest_sample_and_counts_every_sample(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    write_history(path, 1800, end=1_000_000.0, failures_every=600)
    first, last = read_span(str(path), trust=check_trusted)
    recording = read_recording(str(path), first, last, points=100, trust=check_trusted)
    assert recording.bucket == 18.0 and recording.samples == 1800 and len(recording.failures) == 3
    db = sqlite3.connect(path)
    rows = db.execute("SELECT s.t, z.name, zs.free, zs.low, zs.min, zs.free_blocks FROM samples s "
                      "JOIN zone_samples zs ON zs.sample = s.id JOIN zones z ON z.id = zs.zone").fetchall()
    for b in recording.buckets:
        inside = [r for r in rows if r[1] == b.zone and b.start <= r[0] < b.start + recording.bucket]
        lowest = min(r[2] for r in inside)
        assert (b.samples, b.free) == (len(inside), lowest)
        assert b.under_low == sum(r[2] < r[3] for r in inside) and b.under_min == sum(r[2] < r[4] for r in inside)
        match = [r for r in inside if r[0] == b.t]
        assert match[0][2] == lowest and " ".join(map(str, b.free_blocks)) == match[0][5]
    assert recording.failures[0].request_class == "GFP_ATOMIC"


def test_the_bucket_query_goes_through_the_time_index(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    write_history(path, 60, end=1_000_000.0)
    db = sqlite3.connect(path)
    plan = " | ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + BUCKET_QUERY.format(since=0.0, bucket=1.0),
                                                   (0, 1)))
    assert "samples_t" in plan and "SCAN" not in plan.replace("SCAN CONSTANT", ""), plan

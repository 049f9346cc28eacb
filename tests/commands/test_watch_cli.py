"""`minfree watch` off a terminal (JSON lines, text, the recorder) and `doctor --history`."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from minfree.proc.zoneinfo import parse_zoneinfo

pytestmark = pytest.mark.live
MINFREE = [sys.executable, "-m", "minfree"]


def minfree(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MINFREE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "NO_COLOR": "1"})


@pytest.fixture
def state(tmp_path: Path) -> Path:
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    return directory


def test_json_lines_follow_the_schema() -> None:
    done = minfree("watch", "--json", "--count", "2", "--interval", "0.2")
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    with open("/proc/zoneinfo") as f:
        zones = [(z.node, z.zone) for z in parse_zoneinfo(f.read())]
    for sample in (first, second):
        assert sample["schema"] == "minfree.watch/1" and sample["page_size"] == os.sysconf("SC_PAGE_SIZE")
        assert [(z["node"], z["zone"]) for z in sample["zones"]] == zones
        for zone in sample["zones"]:
            assert zone["min"] <= zone["low"] <= zone["high"]
            if zone["free_blocks"] is not None:
                assert len(zone["unusable"]) == len(zone["extfrag"]) == len(zone["free_blocks"])
        assert sample["failures"] == []
    assert first["rates"] is None
    assert 0.1 < second["rates"]["seconds"] < 5 and "pgscan_kswapd" in second["rates"]["per_second"]
    assert second["t"] > first["t"]
    failed = second["failed_allocations"]
    if os.geteuid() == 0:   # the in-kernel count, per interval, since start
        assert failed["counter"] == "ebpf" and failed["unavailable"] is None
        assert failed["interval"] == sum(failed["by_order"].values()) <= failed["since_start"]
    else:
        assert failed["counter"] is None and failed["unavailable"].startswith("not root")


@pytest.mark.parametrize("json_lines", [True, False])
def test_a_closed_pipe_ends_it_with_status_0(json_lines: bool) -> None:
    process = subprocess.Popen([*MINFREE, "watch", "--interval", "0.1", *(["--json"] if json_lines else [])],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()
    assert json.loads(first)["schema"] == "minfree.watch/1" if json_lines else first.startswith("minfree watch")
    process.stdout.close()
    assert process.wait(timeout=30) == 0
    assert process.stderr.read() == ""


def test_text_screens_when_not_on_a_terminal() -> None:
    done = minfree("watch", "--count", "2", "--interval", "0.2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("zones (MiB") == 2 and "reclaim and compaction" in done.stdout
    assert "\x1b[" not in done.stdout


def test_the_recorder_records_and_doctor_reads_the_trends(state: Path) -> None:
    db = state / "history.db"
    done = minfree("watch", "--record", "--db", str(db), "--count", "3", "--interval", "0.2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"minfree watch: recording every 0.2 s to {db}")
    assert sqlite3.connect(db).execute("SELECT count(*) FROM samples").fetchone() == (3,)
    report = minfree("doctor", "--window", "0", "--json", "--history", str(db))
    assert report.returncode in (0, 1, 2, 3), report.stderr
    history = json.loads(report.stdout)["history"]
    assert history["schema"] == "minfree.history/1" and history["samples"] == 3
    assert history["window_seconds"] == 3600
    assert {z["zone"] for z in history["zones"]} >= {"Normal"} and history["counted_seconds"] > 0
    text = minfree("doctor", "--window", "0", "--history", str(db), "--history-window", "30m")
    assert f"History {db}: 3 samples in the last 30 min" in text.stdout
    assert "free in Normal (node 0)" in text.stdout


def test_sigterm_stops_the_recorder_cleanly(state: Path) -> None:
    db = state / "history.db"
    process = subprocess.Popen([*MINFREE, "watch", "--record", "--db", str(db), "--interval", "0.2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("minfree watch: recording")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if db.exists() and sqlite3.connect(db).execute("SELECT count(*) FROM samples").fetchone()[0] >= 2:
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert process.stderr.read() == ""
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("args, message", [
    (["watch", "--retention", "7 days"], "not a duration: '7 days'"),
    (["watch", "--interval", "0"], "must be positive"),
    (["watch", "--count", "0"], "not a positive number of samples"),
    (["watch", "--db", "/tmp/x.db"], "--db names the history file --record writes"),
    (["watch", "--record", "--db", "/tmp/minfree-world-writable-dir-test.db", "--count", "1"],
     "refusing the history file: /tmp: writable by others (mode 1777)"),
    (["doctor", "--history", "/nonexistent-minfree/history.db"], "--history: cannot read the history file"),
])
def test_bad_input_is_one_line_and_status_2(args: list[str], message: str) -> None:
    done = minfree(*args)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]   # argparse prints its usage lines before
    assert last.startswith("minfree") and message in last
    assert "Traceback" not in done.stderr


def test_doctor_refuses_a_file_that_is_not_a_history(state: Path) -> None:
    other = state / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    os.chmod(other, 0o600)
    done = minfree("doctor", "--window", "0", "--history", str(other))
    assert done.returncode == 2 and "not a minfree history database" in done.stderr


def test_help_has_examples() -> None:
    done = minfree("watch", "--help")
    assert done.returncode == 0 and "examples:" in done.stdout and "--retention" in done.stdout
    assert "--history" in minfree("doctor", "--help").stdout


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_disk_is_reported_and_recording_resumes(tmp_path: Path) -> None:
    """The history's file system fills up: the recorder says so once, keeps sampling, and
    records again once there is room."""
    mount = tmp_path / "small"
    mount.mkdir(mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)], check=True)
    process = None
    try:
        db = mount / "history.db"
        process = subprocess.Popen([*MINFREE, "watch", "--record", "--db", str(db), "--interval", "0.1"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert process.stdout.readline().startswith("minfree watch: recording")
        filler = mount / "filler"
        with open(filler, "wb") as f:   # fill every free byte
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        error = process.stderr.readline()
        assert error.strip() == f"minfree watch: {db}: database or disk is full"
        full_at = samples(db)
        filler.unlink()
        deadline = time.monotonic() + 30
        while samples(db) <= full_at + 5:
            assert time.monotonic() < deadline, "recording did not resume"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        with closing(sqlite3.connect(db)) as check:
            assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        subprocess.run(["umount", str(mount)], check=True)


def samples(db: Path) -> int:
    with closing(sqlite3.connect(db)) as history:
        return history.execute("SELECT count(*) FROM samples").fetchone()[0]

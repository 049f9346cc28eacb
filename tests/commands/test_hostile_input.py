"""Damaged, endless and hostile input through the real command line (issue 8, part B): one-line
errors, no traceback, no hang, exit 0 when the reader of our output goes away."""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from doctor_roots import fixture_root  # noqa: F401 (a pytest fixture)

MINFREE = [sys.executable, "-m", "minfree"]
REPORT = b"[2.000000] asd: page allocation failure: order:1, mode:0x20(GFP_ATOMIC)\n"


def first_line_then_close(*argv: str) -> tuple[int, bytes, bytes]:
    """Run minfree, read one line of its output and close the pipe (``minfree ... | head -1``)."""
    process = subprocess.Popen([*MINFREE, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    process.stdout.close()
    error = process.stderr.read()
    return process.wait(timeout=120), line, error


@pytest.mark.parametrize("json_output", [False, True])
def test_doctor_into_head_exits_0(fixture_root: Path, json_output: bool) -> None:  # noqa: F811
    argv = ["doctor", "--root", str(fixture_root), "--window", "0"] + (["--json"] if json_output else [])
    status, line, error = first_line_then_close(*argv)
    assert line and status == 0 and error == b""


@pytest.mark.parametrize("json_output", [False, True])
def test_scan_into_head_exits_0(tmp_path: Path, json_output: bool) -> None:
    log = tmp_path / "kern.log.gz"
    log.write_bytes(gzip.compress(REPORT * 3000))
    argv = ["scan", "--events", str(log)] + (["--json"] if json_output else [])
    status, line, error = first_line_then_close(*argv)
    assert line and status == 0 and error == b""


def run_minfree(*argv: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*MINFREE, *argv], capture_output=True, timeout=timeout, **kwargs)


@pytest.mark.parametrize("content", [b"junk\n", b"\x1f\x8b not really gzip", os.urandom(4096)])
def test_doctor_root_junk_archive_is_one_line_usage_error(tmp_path: Path, content: bytes) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(content)
    done = run_minfree("doctor", "--root", str(junk))
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().count("\n") == 1 and "Error(" not in done.stderr.decode()
    assert done.stderr.startswith(f"minfree: error: --root {junk}: not a readable tar archive".encode())


@pytest.mark.parametrize("path", ["file", "/dev/null"])
def test_doctor_root_that_is_neither_directory_nor_archive_is_usage_error(tmp_path: Path, path: str) -> None:
    target = tmp_path / "notes.txt" if path == "file" else Path(path)
    if path == "file":
        target.write_text("MemTotal: 1 kB\n")
    done = run_minfree("doctor", "--root", str(target))
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode() == (f"minfree: error: --root {target}: neither a directory nor a tar archive "
                                    "(.tar, .tar.gz, .tgz, .tar.xz, .txz, .tar.bz2, .tbz2)\n")


def test_fifo_and_device_in_a_snapshot_are_skipped_and_reported(fixture_root: Path) -> None:  # noqa: F811
    (fixture_root / "proc" / "meminfo").unlink()
    os.mkfifo(fixture_root / "proc" / "meminfo")
    sysctl_d = fixture_root / "etc" / "sysctl.d"
    sysctl_d.mkdir(parents=True, exist_ok=True)
    os.mkfifo(sysctl_d / "50-pipe.conf")
    (fixture_root / "proc" / "buddyinfo").unlink()
    os.mknod(fixture_root / "proc" / "buddyinfo", 0o600 | 0o020000, os.makedev(1, 5))   # /dev/zero
    done = run_minfree("doctor", "--root", str(fixture_root), "--window", "0", timeout=60)
    out = done.stdout.decode()
    assert "not read: proc/meminfo (not a regular file (a FIFO))" in out
    assert "not read: etc/sysctl.d/50-pipe.conf (not a regular file (a FIFO))" in out
    assert "not read: proc/buddyinfo (not a regular file (a character device))" in out
    assert done.stderr == b""


def test_tune_with_a_fifo_in_sysctl_d_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    sysctl_d = tmp_path / "etc" / "sysctl.d"
    sysctl_d.mkdir(parents=True)
    os.mkfifo(sysctl_d / "50-pipe.conf")
    (sysctl_d / "60-real.conf").write_text("vm.swappiness = 10\n")
    done = run_minfree("tune", "--config-root", str(tmp_path), "--state-dir", str(tmp_path / "state"),
                       "--json", timeout=60)
    assert done.returncode in (0, 1) and done.stderr == b""


def run_measured(*argv: str, timeout: float = 120, stdin=None) -> tuple[subprocess.CompletedProcess, float]:
    """Run minfree; its result and its own peak RSS in MiB, as GNU time measures it: Linux keeps
    ru_maxrss across execve(), so a child forked from this pytest would report at least pytest's
    own size; GNU time forks it from a small process (.ci/run installs it)."""
    import tempfile
    import threading

    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    assert gnu_time, "GNU time is needed to measure a child's memory (apt-get install time)"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as peak:
        process = subprocess.Popen([gnu_time, "-f", "%M", "-o", peak.name, *MINFREE, *argv],
                                   stdin=stdin, stdout=out, stderr=err)
        timer = threading.Timer(timeout, process.kill)   # a hang fails the test, not the suite
        timer.start()
        try:
            process.wait()
        finally:
            timer.cancel()
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(process.args, process.returncode, out.read(), err.read())
        kib = peak.read().split()
    return done, int(kib[-1]) / 1024


@pytest.mark.parametrize("how", ["path", "stdin"])
def test_scan_of_dev_zero_ends_with_a_clear_message(how: str) -> None:
    if how == "path":
        done, peak = run_measured("scan", "/dev/zero", timeout=60)
    else:
        with open("/dev/zero", "rb") as zeros:
            done, peak = run_measured("scan", "-", timeout=60, stdin=zeros)
    name = "/dev/zero" if how == "path" else "-"
    assert done.returncode == 0 and done.stderr == b""
    assert f"warning: {name}: cannot read {name}: binary data, not a text log" in done.stdout.decode()
    assert peak < 200


def test_scan_says_what_it_skipped_in_a_directory(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "messages").write_bytes(b"\0" * 700 + REPORT)   # NUL blocks a crash left: a log
    (logs / "core").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 20)
    os.mkfifo(logs / "pipe")
    done = run_minfree("scan", str(logs))
    out = done.stdout.decode()
    assert done.returncode == 0 and "1 page allocation failure report(s)" in out
    assert "2 file(s) skipped (not text logs, or unreadable):" in out
    assert f"  {logs}/core: binary data" in out and f"  {logs}/pipe: not a regular file" in out
    document = __import__("json").loads(run_minfree("scan", "--json", str(logs)).stdout)
    assert [(s["path"], s["reason"].split(" (")[0]) for s in document["skipped"]] == [
        (f"{logs}/core", "binary data"), (f"{logs}/pipe", "not a regular file")]


AS_NOBODY = """
import os, sys
import minfree.cli, minfree.commands.follow, minfree.commands.scan, minfree.render.scan_text
import minfree.sources.kconfig, minfree.sources.tracefs, minfree.sources.kmsg, minfree.logs.scanner  # imported lazily by scan
import locale  # imported lazily by argparse's gettext (the interpreter's own files are root's here)
os.setgroups([]); os.setgid(65534); os.setuid(65534)   # nobody: imports done, files of root unread
sys.exit(minfree.cli.main(sys.argv[1:]))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="drops privileges from root")
def test_scan_follow_as_an_unprivileged_user_is_one_line_or_follows() -> None:
    process = subprocess.Popen([sys.executable, "-c", AS_NOBODY, "scan", "--follow"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        status = process.wait(timeout=10)
    except subprocess.TimeoutExpired:   # dmesg_restrict=0: nobody may read /dev/kmsg, and follows it
        process.terminate()
        status = None
    error = process.stderr.read().decode()
    process.stdout.close()
    process.stderr.close()
    if status is None:   # the one line --follow says once /dev/kmsg is open
        assert error.startswith("minfree scan --follow: reporting page allocation failures from /dev/kmsg")
        assert error.count("\n") == 1
    else:
        assert status == 2 and error == "minfree: error: cannot follow /dev/kmsg: Operation not permitted\n"


def test_numbers_longer_than_int_takes_do_not_end_the_scan(tmp_path: Path) -> None:
    """int() refuses strings over 4300 digits: such a number once ended the scan of the file and
    lost every report in it."""
    huge = b"9" * 5000
    log = tmp_path / "kern.log"
    log.write_bytes(REPORT + b"[3.000000] asd: page allocation failure: order:" + huge + b", mode:" + huge
                    + b"\n" + b"CPU: " + huge + b" PID: " + huge + b" Comm: asd Not tainted 6.1.0 #1\n"
                    + b"warn_alloc: " + huge + b" callbacks suppressed\n" + REPORT)
    done = run_minfree("scan", "--json", str(log))
    document = __import__("json").loads(done.stdout)
    assert done.returncode == 0 and document["errors"] == []
    assert [e["line"] for e in document["events"] if e["order"] == 1] == [1, 5]   # the reports around


def test_a_capture_with_numbers_longer_than_int_takes_is_read_with_gaps(fixture_root: Path) -> None:  # noqa: F811
    huge = "9" * 5000
    (fixture_root / "proc" / "meminfo").write_text(f"MemTotal: {huge} kB\nMemFree: 1 kB\n")
    for name in ("eth0", "lo"):
        if (fixture_root / "sys" / "class" / "net" / name).is_dir():
            (fixture_root / "sys" / "class" / "net" / name / "mtu").write_text(huge + "\n")
    (fixture_root / "proc" / "zoneinfo").write_text(f"Node 0, zone   Normal\n  pages free     {huge}\n")
    done = run_minfree("doctor", "--root", str(fixture_root), "--window", "0", "--json")
    assert done.returncode in (0, 1, 2, 3) and done.stderr == b""
    gaps = {(g["path"], g["reason"]) for g in __import__("json").loads(done.stdout)["gaps"]}
    assert {("proc/meminfo", "unparseable"), ("proc/zoneinfo", "unparseable")} <= gaps


@pytest.mark.slow
def test_a_2gb_member_in_a_small_snapshot_tarball_is_a_gap_in_bounded_memory(fixture_root: Path,  # noqa: F811
                                                                             tmp_path: Path) -> None:
    import tarfile

    (fixture_root / "proc" / "meminfo").unlink()
    archive = tmp_path / "snap.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar, open("/dev/zero", "rb") as zeros:
        tar.add(fixture_root, arcname="snap")
        info = tarfile.TarInfo("snap/proc/meminfo")
        info.size = 2 << 30
        tar.addfile(info, zeros)
    assert archive.stat().st_size < 8 << 20
    done, peak = run_measured("doctor", "--root", str(archive), "--window", "0", "--json", timeout=600)
    assert done.returncode in (0, 1, 2, 3) and done.stderr == b""
    gaps = {(g["path"], g["reason"]) for g in __import__("json").loads(done.stdout)["gaps"]}
    assert ("proc/meminfo", f"larger than this file can be ({1 << 20} bytes)") in gaps
    assert peak < 200   # MiB: the 2 GiB member is never held

"""`minfree watch` in a real terminal: tmux runs it, sends keys and captures the pane."""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from hugetlb_squeeze import grow_pool_past_memory, hugetlb_pool, order9_failures_recorded, pool_grown_past_memory, vmstat  # noqa: F401
from minfree.proc.zoneinfo import parse_zoneinfo

pytestmark = [pytest.mark.live, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")]
TIMEOUT = 20.0   # the machine is shared: generous, never a measurement
SQUEEZE_SECONDS = 5.0   # the longest memory stays short while the screen is awaited


class Pane:
    """One tmux server of its own (-L), one session, one window (120 x 50 unless told)."""

    def __init__(self, command: str, size: tuple[int, int] = (120, 50)) -> None:
        self.socket = f"minfree-test-{uuid.uuid4().hex[:12]}"
        self.tmux("new-session", "-d", "-s", "w", "-x", str(size[0]), "-y", str(size[1]), command)

    def tmux(self, *args: str) -> str:
        # pytest's environment says COLUMNS=80 LINES=24; the pane must size itself
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True,
                              text=True, timeout=30, env=env).stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "w")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "w", *keys)

    def wait(self, ready: Callable[[str], bool], what: str, seconds: float = TIMEOUT) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            screen = self.text()
            if ready(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{what} did not appear; the pane shows:\n{self.text()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def colours(screen: str) -> list[str]:
    """SGR sequences that set a foreground or background colour (39/49, back to the default,
    and bold or dim are not colours)."""
    return [seq for seq in re.findall(r"\x1b\[([0-9;]*)m", screen)
            if any(p.isdigit() and (30 <= int(p) <= 38 or 40 <= int(p) <= 48 or 90 <= int(p) <= 107)
                   for p in seq.split(";"))]


def header(screen: str) -> str:
    return next(line for line in screen.splitlines() if line.startswith("minfree watch"))


@pytest.fixture
def watch(tmp_path: Path):
    db = tmp_path / "state" / "history.db"
    command = (f"cd {tmp_path} && NO_COLOR=1 {sys.executable} -m minfree watch --interval 0.3 --record "
               f"--db {db}; echo EXITED $?; sleep 600")
    pane = Pane(command)
    try:
        yield pane, db
    finally:
        pane.close()


def populated_zones() -> list[str]:
    with open("/proc/zoneinfo") as f:
        return [f"{z.node}/{z.zone}" for z in parse_zoneinfo(f.read()) if z.managed != 0]


def test_screen_keys_and_quit(watch) -> None:
    pane, db = watch
    zones = populated_zones()
    screen = pane.wait(lambda s: "reclaim and compaction" in s and "allocstall" in s, "the second sample's rates")
    rows = {line[3:].split()[0]: line for line in screen.splitlines() if line[:1] in "▶ " and line[3:4].isdigit()}
    assert list(rows) == zones                                   # every populated zone, in the kernel's order
    assert rows[zones[0]].startswith("▶")
    assert f"{zones[0]}: free blocks by order" in screen
    assert "unusable" in screen and "extfrag" in screen and "PSI memory some" in screen
    assert "recording to " + str(db) in screen
    assert colours(pane.tmux("capture-pane", "-p", "-e", "-t", "w")) == []   # NO_COLOR=1

    pane.keys("z")                                               # next zone
    screen = pane.wait(lambda s: f"{zones[1 % len(zones)]}: free blocks by order" in s, "the next zone")
    assert any(line.startswith("▶") and zones[1 % len(zones)] in line for line in screen.splitlines())

    pane.keys("p")                                               # pause: the screen stops changing
    paused = header(pane.wait(lambda s: "PAUSED" in header(s), "PAUSED"))
    time.sleep(1.2)
    assert header(pane.text()) == paused
    pane.keys("p")
    pane.wait(lambda s: "PAUSED" not in header(s) and header(s) != paused, "the screen moving again")

    pane.keys("q")
    pane.wait(lambda s: "EXITED 0" in s, "exit status 0 after q")
    samples = sqlite3.connect(db).execute("SELECT count(*) FROM samples").fetchone()[0]
    assert samples >= 5


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="writing /dev/kmsg needs root")
def test_a_report_written_by_user_space_is_not_a_kernel_failure(watch) -> None:
    """A synthetic report written to /dev/kmsg gets a user facility from the kernel (only the
    kernel logs with LOG_KERN): the panel must not count it (a real one is counted: the
    failure panel's rendering of real reports is tested in tests/render/test_watch_render.py)."""
    pane, db = watch
    pane.wait(lambda s: "failure reports since start: 0" in s, "the failure panel")
    process = f"mftest{uuid.uuid4().hex[:8]}"
    with open("/dev/kmsg", "wb", buffering=0) as device:
        device.write(f"<4>{process}: page allocation failure: order:1, mode:0x820(GFP_ATOMIC), "
                     "nodemask=(null),cpuset=/,mems_allowed=0\n".encode())
    first = header(pane.wait(lambda s: "failure reports since start" in s, "a screen"))
    # two more samples drawn after the write: the follower has read it by then
    second = header(pane.wait(lambda s: header(s) != first, "the next sample"))
    screen = pane.wait(lambda s: header(s) not in (first, second), "another sample")
    assert "failure reports since start: 0" in screen and process not in screen
    pane.keys("q")
    pane.wait(lambda s: "EXITED 0" in s, "exit status 0 after q")
    assert sqlite3.connect(db).execute("SELECT count(*) FROM failures").fetchone()[0] == 0


def test_a_small_terminal_keeps_the_zones_keys_and_failures() -> None:
    """80 x 24: the screen is cropped at the bottom, where the rates are."""
    pane = Pane(f"NO_COLOR=1 {sys.executable} -m minfree watch --interval 0.3; echo EXITED $?; sleep 600",
                size=(80, 24))
    try:
        screen = pane.wait(lambda s: "failure reports since start" in s, "the failure panel")
        assert "q quit" in header(screen)
        assert all(zone in screen for zone in populated_zones())
        assert all(len(line) <= 80 for line in screen.splitlines())
        pane.keys("q")
        pane.wait(lambda s: "EXITED 0" in s, "exit status 0 after q")
    finally:
        pane.close()


@pytest.mark.root
def test_the_screen_and_the_history_count_failed_allocations(tmp_path: Path, hugetlb_pool) -> None:
    """A real failure (``hugetlb_squeeze``) while watch runs as root: the screen's in-kernel
    count rises, and the history holds it per order as /proc/vmstat counted it."""
    db = tmp_path / "history.db"
    with order9_failures_recorded() as recorded:
        before = vmstat("htlb_buddy_alloc_fail")
        pane = Pane(f"cd {tmp_path} && NO_COLOR=1 {sys.executable} -m minfree watch --interval 0.3 --record "
                    f"--db {db}; echo EXITED $?; sleep 600")
        try:
            pane.wait(lambda s: "failed page allocations (in-kernel eBPF counter)" in s, "the counter's line")
            grow_pool_past_memory()
            ours = vmstat("htlb_buddy_alloc_fail") - before

            pane.wait(lambda s: since_start(s) >= ours >= 1, "the failures on screen")
            pane.keys("q")
            pane.wait(lambda s: "EXITED 0" in s, "exit status 0 after q")
            window = vmstat("htlb_buddy_alloc_fail") - before
        finally:
            pane.close()
    last = dict(sqlite3.connect(db).execute(
        "SELECT c.name, cs.value FROM counter_samples cs JOIN counter_names c ON c.id = cs.counter "
        "WHERE cs.sample = (SELECT max(id) FROM samples) AND c.name LIKE 'failed_alloc%'").fetchall())
    assert window >= ours
    recorded.bounds(window, last["failed_alloc_order_9"])
    assert last["failed_alloc"] == sum(v for k, v in last.items() if k.startswith("failed_alloc_order_"))
    # doctor --history reads them back: the failures between the samples of the run
    doctor = subprocess.run([sys.executable, "-m", "minfree", "doctor", "--window", "0", "--json", "--history",
                             str(db)], capture_output=True, text=True, timeout=60)
    counters = json.loads(doctor.stdout)["history"]["counters"]
    assert counters["failed_alloc_order_9"]["total"] == last["failed_alloc_order_9"]
    text = subprocess.run([sys.executable, "-m", "minfree", "doctor", "--window", "0", "--history", str(db)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"}).stdout
    assert f"failed page allocations counted in the kernel, logged or not (failed_alloc): {counters['failed_alloc']['total']:,}" in text


def zone_free_mib(screen: str, zone: str) -> float | None:
    """The free column of ``zone``'s row (``▶  0/Normal  18,786  57.7 ...``), MiB."""
    for line in screen.splitlines():
        words = line[3:].split()
        if line[:1] in "▶ " and words[:1] == [zone]:
            return float(words[1].replace(",", ""))
    return None


def since_start(screen: str) -> int:
    found = re.search(r"failed page allocations \(in-kernel eBPF counter\): \S+ in the last interval.*?, "
                      r"(\d+) since start", screen)
    return int(found.group(1)) if found else -1


@pytest.mark.root
def test_the_screen_follows_a_real_squeeze(hugetlb_pool) -> None:
    """Memory pressure while watch runs: the hugetlb pool takes all the memory it can (its
    growth fails, silently) and holds it only until the screen has shown it, seconds at most.
    The pane shows the biggest zone's free memory fall to a fraction of what it was, the
    in-kernel count move by what /proc/vmstat counted, and free come back once the pool is
    emptied; the fixture checks the pool is back to its size even when this fails."""
    pane = Pane(f"NO_COLOR=1 {sys.executable} -m minfree watch --interval 0.3; echo EXITED $?; sleep 600")
    try:
        kernel_before = vmstat("htlb_buddy_alloc_fail")
        screen = pane.wait(lambda s: since_start(s) >= 0, "the counter's line")
        counted_before = since_start(screen)
        rows = {z: zone_free_mib(screen, z) for z in populated_zones()}
        zone = max(rows, key=lambda z: rows[z] or 0)   # Normal on this machine: the pool's memory
        free_before = rows[zone]
        start = time.monotonic()
        with pool_grown_past_memory():
            failed = vmstat("htlb_buddy_alloc_fail") - kernel_before
            squeezed = pane.wait(lambda s: (zone_free_mib(s, zone) or free_before) < free_before / 4
                                 and since_start(s) - counted_before >= failed,
                                 "free falling and the failures counted", seconds=SQUEEZE_SECONDS)
        held = time.monotonic() - start
        assert failed >= 1 and held < SQUEEZE_SECONDS
        recovered = pane.wait(lambda s: (zone_free_mib(s, zone) or 0) > free_before / 2, "free coming back")
        pane.keys("q")
        pane.wait(lambda s: "EXITED 0" in s, "exit status 0 after q")
    finally:
        pane.close()
    assert zone_free_mib(squeezed, zone) < free_before / 4 < free_before / 2 < zone_free_mib(recovered, zone)
    assert since_start(recovered) - counted_before >= failed

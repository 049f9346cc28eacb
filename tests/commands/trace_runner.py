"""Start ``minfree trace`` (or any command that counts) as a child process and return once its
window is open."""
from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

INSTANCES = Path("/sys/kernel/tracing/instances")


def wait_until_counting(proc: subprocess.Popen, counting: Callable[[], bool], what: str) -> None:
    """Poll ``counting`` until it holds (then give the window 0.3 s to open); fail when the
    child exits first or after 20-30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if counting():
                time.sleep(0.3)
                return
        except OSError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited early: {proc.stderr.read()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"{what} never started counting")


def start_trace(*argv: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "minfree", "trace", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events = INSTANCES / f"minfree-trace-{proc.pid}" / "events"
    # the instance's events are enabled ("1", "1*" with a trigger) just before the window opens
    wait_until_counting(proc, lambda: any(e.read_text().startswith("1") for e in events.glob("*/*/enable")), "trace")
    return proc


def trace_while(action: Callable[[], object], *argv: str) -> tuple[dict, object]:
    """Run ``action`` inside a ``minfree trace --json`` window: the trace's document and what
    the action returned (the child is killed if anything fails)."""
    import json

    proc = start_trace(*argv, "--json")
    try:
        result = action()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    return json.loads(out), result

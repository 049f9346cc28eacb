"""Start ``minfree trace`` as a child process and return once its window is open."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

INSTANCES = Path("/sys/kernel/tracing/instances")


def start_trace(*argv: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "minfree", "trace", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events = INSTANCES / f"minfree-trace-{proc.pid}" / "events"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            # the instance's events are enabled ("1", "1*" with a trigger) just before the window opens
            if any(e.read_text().startswith("1") for e in events.glob("*/*/enable")):
                time.sleep(0.3)
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"trace exited early: {proc.stderr.read()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("trace never started counting")

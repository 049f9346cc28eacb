"""The crash bar of issue 8: kill ``tune --apply`` and ``undo`` at every write step, for real.

A child process runs the action on a sandbox (``config_sandbox``: fake /proc/sys/vm, a config
root with a conflicting line resolved, so a file is edited and one created) and SIGKILLs
itself right before its N-th write step: every call that changes a file or a value (create,
write-out, fsync, chmod/chown, rename, link, unlink, mkdir, a sysctl write). N runs from 1 until
the child finishes without reaching N. After each kill, ``undo`` in this process must bring back
the live values and every file byte for byte (mode and owner too) and leave no temporary file.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from minfree.actions.apply import apply_changes
from minfree.actions.journal import Journal
from minfree.actions.safefs import TMP_MARK
from minfree.actions.sysctl import SysctlWriter
from minfree.actions.undo import undo_last
from config_sandbox import files_of, live, make_tree

pytestmark = pytest.mark.slow

VALUES = {"vm.min_free_kbytes": 90112, "vm.watermark_scale_factor": 50}
CHILD = r"""
import json, os, signal, sys
from pathlib import Path
from minfree.actions.apply import apply_changes
from minfree.actions.journal import Journal
from minfree.actions.sysctl import SysctlWriter
from minfree.actions.undo import undo_last

tree, action, kill_at, live_root = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[5]
steps = 0

def counted(name, real):
    def step(*args, **kwargs):
        global steps
        if name == "open" and not args[1] & os.O_CREAT:
            return real(*args, **kwargs)   # a read: not a write step
        steps += 1
        if steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        done = real(*args, **kwargs)
        if kill_at == 0 and name == "sysctl":   # 0: right after the first live write
            os.kill(os.getpid(), signal.SIGKILL)
        return done
    return step

for name in ("open", "fsync", "fchmod", "fchown", "replace", "link", "unlink", "mkdir", "chmod", "ftruncate", "pwrite"):
    setattr(os, name, counted(name, getattr(os, name)))
SysctlWriter.write = counted("sysctl", SysctlWriter.write)
values = json.loads(sys.argv[4])
if action == "apply":
    result = apply_changes(values, {k: "crash test" for k in values}, journal=Journal(tree / "state"),
                           writer=SysctlWriter(live_root), config_root=tree / "config", resolve_conflicts=True,
                           verify=lambda values: [])
else:
    result = undo_last(Journal(tree / "state"), SysctlWriter(live_root))
assert result.ok, result.messages
print(steps)
"""


def run_child(tree: Path, action: str, kill_at: int, values: dict[str, int] = VALUES,
              live_root: Path | None = None) -> subprocess.CompletedProcess:
    """The child kills itself before its ``kill_at``-th write step (0: right after its first live
    write); its live values are those under ``live_root`` (default: the sandbox ``tree``)."""
    return subprocess.run([sys.executable, "-c", CHILD, str(tree), action, str(kill_at), json.dumps(values),
                           str(live_root or tree)], capture_output=True, text=True, timeout=60)


def temporaries(tree: Path) -> list[Path]:
    return [p for where in ("config", "state") for p in (tree / where).rglob(f"*{TMP_MARK}*")]


def kill_everywhere(tmp_path: Path, action: str) -> int:
    """Kill ``action`` at each write step in a fresh sandbox; check the next undo repairs all."""
    kill_at = 1
    while True:
        tree = make_tree(tmp_path / f"{action}-{kill_at}")
        if action == "undo":
            assert apply_changes(VALUES, {k: "crash test" for k in VALUES}, journal=Journal(tree / "state"),
                                 writer=SysctlWriter(tree), config_root=tree / "config",
                                 resolve_conflicts=True, verify=lambda values: []).ok
        before = live(make_tree(tmp_path / f"pristine-{action}-{kill_at}"))
        files = files_of(tmp_path / f"pristine-{action}-{kill_at}" / "config")
        child = run_child(tree, action, kill_at)
        if child.returncode == 0:
            assert int(child.stdout) == kill_at - 1  # every step was reached once
            return kill_at - 1
        assert child.returncode == -signal.SIGKILL, child.stderr
        repaired = undo_last(Journal(tree / "state"), SysctlWriter(tree))
        assert repaired.ok, (kill_at, repaired.messages)
        assert live(tree) == before, kill_at
        assert files_of(tree / "config") == files, kill_at
        assert temporaries(tree) == [], kill_at
        kill_at += 1


def test_kill_apply_at_every_write_step_then_undo_restores_everything(tmp_path):
    assert kill_everywhere(tmp_path, "apply") > 20


def test_kill_undo_at_every_write_step_then_undo_again_restores_everything(tmp_path):
    assert kill_everywhere(tmp_path, "undo") > 5


@pytest.mark.live
@pytest.mark.root
def test_kill_apply_after_a_real_sysctl_write_then_undo_restores_the_kernel_value(tmp_path):
    """The same on the running kernel: vm.watermark_scale_factor written, the process killed before
    anything else; undo writes the original back (restored here too if the test fails)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    knob = Path("/proc/sys/vm/watermark_scale_factor")
    original = knob.read_text()
    tree = make_tree(tmp_path)
    try:
        child = run_child(tree, "apply", 0, {"vm.watermark_scale_factor": int(original) + 7}, Path("/"))
        assert child.returncode == -signal.SIGKILL, child.stderr
        assert int(knob.read_text()) == int(original) + 7  # the kill came after the write
        repaired = undo_last(Journal(tree / "state"), SysctlWriter("/"))
        assert repaired.ok, repaired.messages
        assert knob.read_text() == original and temporaries(tree) == []
        assert [(v.key, v.found, v.before) for v in repaired.restoration.values] == [
            ("vm.watermark_scale_factor", int(original) + 7, int(original))]
    finally:
        if knob.read_text() != original:
            knob.write_text(original)

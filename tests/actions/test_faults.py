"""Fault tests on temp trees: a failing write, a read-only config dir, a kill between steps.

Live values go to a fake /proc/sys/vm under tmp_path through SysctlWriter, so nothing on the
machine changes; the journal and undo must bring back the originals byte for byte.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from minfree.actions.apply import apply_changes
from minfree.actions.journal import Journal
from minfree.actions.persist import DROPIN
from minfree.actions.sysctl import SysctlWriter
from minfree.actions.undo import history, undo_last
from config_sandbox import files_of as snapshot, live, make_tree

VALUES = {"vm.min_free_kbytes": 90112, "vm.watermark_scale_factor": 50}
REASONS = {k: "fault test" for k in VALUES}


class SimulatedKill(BaseException):
    """Not an Exception: apply's rollback must not see it, as with SIGKILL."""


class FailingWriter(SysctlWriter):
    def __init__(self, root, fail_on: str) -> None:
        super().__init__(root)
        self.fail_on = fail_on

    def write(self, name, value):
        if name == self.fail_on:
            raise OSError(22, "Invalid argument (injected)")
        super().write(name, value)


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path)


def run(tree: Path, writer=None, **kwargs):
    return apply_changes(VALUES, REASONS, journal=Journal(tree / "state"), writer=writer or SysctlWriter(tree),
                         config_root=tree / "config", **kwargs)


def test_success_then_undo_byte_for_byte(tree):
    before, files = live(tree), snapshot(tree / "config")
    result = run(tree, resolve_conflicts=True, verify=lambda values: [])
    assert result.ok, result.messages
    assert live(tree) == ("90112\n", "50\n")
    conf = (tree / "config/etc/sysctl.conf").read_text()
    assert "# disabled by minfree tune" in conf and "kernel.sysrq=1" in conf
    assert (tree / "config" / DROPIN).read_text().count(" = ") == 2
    assert history(Journal(tree / "state"))[0].status == "applied"
    undone = undo_last(Journal(tree / "state"), SysctlWriter(tree))
    assert undone.ok
    assert live(tree) == before and snapshot(tree / "config") == files
    done = undone.restoration
    assert [(v.key, v.found, v.before) for v in done.values] == [
        ("vm.min_free_kbytes", 90112, 67584), ("vm.watermark_scale_factor", 50, 10)]
    assert [(f.path, f.action) for f in done.files] == [
        (tree / "config" / DROPIN, "removed"), (tree / "config/etc/sysctl.conf", "restored")]
    assert history(Journal(tree / "state"))[0].status == "undone"
    assert undo_last(Journal(tree / "state"), SysctlWriter(tree)).messages == ["nothing to undo"]


def test_failing_write_rolls_back(tree):
    before, files = live(tree), snapshot(tree / "config")
    result = run(tree, writer=FailingWriter(tree, "watermark_scale_factor"), verify=lambda values: [])
    assert not result.ok and result.rolled_back
    assert any("injected" in m for m in result.messages) and any("rolled back" in m for m in result.messages)
    assert live(tree) == before and snapshot(tree / "config") == files
    assert history(Journal(tree / "state"))[0].status == "rolled_back"


def test_failed_verification_rolls_back(tree):
    before = live(tree)
    result = run(tree, verify=lambda values: ["node 0 Normal: min predicted 1 shown 2"])
    assert not result.ok and result.rolled_back and result.mismatches
    assert live(tree) == before


@pytest.fixture
def read_only_config(tree):
    """etc/sysctl.d read-only for real: a read-only bind mount as root, mode 0555 otherwise."""
    target = tree / "config/etc/sysctl.d"
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "--bind", str(target), str(target)]).returncode == 0
        if not mounted or subprocess.run(["mount", "-o", "remount,ro,bind", str(target)]).returncode:
            if mounted:
                subprocess.run(["umount", str(target)], check=True)
            pytest.skip("cannot make a read-only bind mount here")
        try:
            yield target
        finally:
            subprocess.run(["umount", str(target)], check=True)
    else:
        os.chmod(target, 0o555)
        try:
            yield target
        finally:
            os.chmod(target, 0o755)


def test_read_only_config_dir_rolls_back_live_values(tree, read_only_config):
    before, files = live(tree), snapshot(tree / "config")
    result = run(tree, verify=lambda values: [])
    assert not result.ok and result.rolled_back
    assert any("Read-only" in m or "Permission" in m for m in result.messages), result.messages
    assert live(tree) == before and snapshot(tree / "config") == files


@pytest.mark.parametrize("stop_at", ["intent", "live:min_free_kbytes", "live:watermark_scale_factor",
                                     f"file:{DROPIN}", "file:etc/sysctl.conf"])
def test_kill_between_steps_is_repaired_by_undo(tree, stop_at):
    before, files = live(tree), snapshot(tree / "config")

    def checkpoint(step):
        if step == stop_at:
            raise SimulatedKill(step)

    with pytest.raises(SimulatedKill):
        run(tree, resolve_conflicts=True, verify=lambda values: [], checkpoint=checkpoint)
    entry = history(Journal(tree / "state"))[0]
    assert entry.status == "intent" and entry.steps[-1] == stop_at
    assert entry.live["min_free_kbytes"].before == 67584
    result = undo_last(Journal(tree / "state"), SysctlWriter(tree))
    assert result.ok and "interrupted" in result.messages[0]
    assert live(tree) == before and snapshot(tree / "config") == files
    # a value the kill left unwritten is found at its original: nothing to write back
    assert {v.name: v.found == v.before for v in result.restoration.values} == {
        "min_free_kbytes": stop_at == "intent",
        "watermark_scale_factor": stop_at in ("intent", "live:min_free_kbytes")}


def test_unreadable_live_value_changes_nothing(tree):
    (tree / "proc/sys/vm/watermark_scale_factor").unlink()
    files = snapshot(tree / "config")
    result = run(tree)
    assert not result.ok and result.entry is None and "nothing changed" in result.messages[0]
    assert snapshot(tree / "config") == files and not (tree / "state/journal").exists()

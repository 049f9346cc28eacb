"""The hist-trigger rung of the in-kernel failure counter (sources.hist_counter), and the
degrade order of sources.failcount.

This VM's kernel has no hist triggers, so the live hist path never runs here. The trigger and
cleanup sequence is tested on a directory laid out like a tracefs: ``mkdir`` and ``rmdir`` of
the instance are what the kernel does there (make the event files; remove them with the
triggers), everything else is the code the live path runs. On the real kernel, the degrade
order is tested as it is: hist absent, the next backend chosen and the reason stated."""
from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from minfree.sources.failcount import FAILED_FILTER, HIST, PAGE_ALLOC, PERF, FailureCount, FailureCounter, open_in_kernel
from minfree.sources.hist_counter import INSTANCE_PREFIX, HistCounter
from minfree.sources.perf import PerfUnavailable
from minfree.sources.tracefs import TracefsUnavailable, live_tracefs

EVENT = Path("events/kmem/mm_page_alloc")
HIST_TRIGGER = "hist:keys=order:vals=hitcount:sort=order if pfn == 0xffffffffffffffff"


def _table(rows: dict[int, int], dropped: int = 0) -> str:
    """What hist_trigger_show prints for minfree's trigger (kernel/trace/trace_events_hist.c)."""
    lines = ["# event histogram", "#", "# trigger info: hist:keys=order:vals=hitcount:sort=order:size=2048 "
             "if pfn == 0xffffffffffffffff [active]", "#", ""]
    lines += [f"{{ order: {o:10d} }} hitcount: {n:10d}" for o, n in sorted(rows.items())]
    lines += ["", "Totals:", f"    Hits: {sum(rows.values())}", f"    Entries: {len(rows)}", f"    Dropped: {dropped}"]
    return "\n".join(lines) + "\n"


class FakeTracefs:
    """A directory laid out like tracefs: mkdir of an instance makes its event files (``hist``
    only when the kernel has hist triggers); rmdir removes them; the table is what the test
    sets (a real hist file shows nothing before a trigger is written)."""

    def __init__(self, root: Path, hist: bool = True) -> None:
        self.root, self.hist = root, hist
        (root / "instances").mkdir()
        self.trigger_at_rmdir: str | None = None

    def mkdir(self, path: str) -> None:
        os.mkdir(path)
        event = Path(path) / EVENT
        event.mkdir(parents=True)
        (event / "trigger").write_text("")
        if self.hist:
            (event / "hist").write_text("")

    def rmdir(self, path: str) -> None:
        if not os.path.isdir(path):
            raise FileNotFoundError(2, "No such file or directory", path)
        trigger = Path(path) / EVENT / "trigger"
        self.trigger_at_rmdir = None if trigger.is_symlink() else trigger.read_text()
        shutil.rmtree(path)

    def instance(self) -> Path:
        return self.root / "instances" / f"{INSTANCE_PREFIX}{os.getpid()}"

    def show(self, rows: dict[int, int], dropped: int = 0) -> None:
        (self.instance() / EVENT / "hist").write_text(_table(rows, dropped))


def _open(fake: FakeTracefs) -> HistCounter:
    return HistCounter(str(fake.root), PAGE_ALLOC, FAILED_FILTER, mkdir=fake.mkdir, rmdir=fake.rmdir)


def test_trigger_written_counted_from_enable_and_removed_with_the_instance(tmp_path: Path) -> None:
    fake = FakeTracefs(tmp_path)
    counter = _open(fake)
    trigger = fake.instance() / EVENT / "trigger"
    assert trigger.read_text() == counter.trigger == HIST_TRIGGER
    fake.show({3: 2})                       # failures before the window opens
    counter.enable()
    fake.show({0: 1, 3: 5, 9: 1}, dropped=1)
    wrapped = FailureCounter(counter, HIST)
    # the dropped one (table full) is counted in the total, under no order
    assert wrapped.read() == FailureCount(total=6, by_order={0: 1, 3: 3, 9: 1})
    assert counter.read() == (6, None)      # as minfree trace reads its counter
    counter.disable()
    fake.show({0: 4, 3: 9, 9: 1})
    assert counter.count() == FailureCount(total=6, by_order={0: 1, 3: 3, 9: 1})   # frozen at disable
    wrapped.close()
    assert fake.trigger_at_rmdir == HIST_TRIGGER + "!" + HIST_TRIGGER   # removed before the rmdir
    assert not fake.instance().exists()
    counter.close()                         # idempotent: nothing written twice
    assert fake.trigger_at_rmdir == HIST_TRIGGER + "!" + HIST_TRIGGER and not fake.instance().exists()


def test_no_hist_file_is_refused_with_the_reason_and_cleaned_up(tmp_path: Path) -> None:
    fake = FakeTracefs(tmp_path, hist=False)
    with pytest.raises(TracefsUnavailable) as caught:
        _open(fake)
    assert caught.value.strerror == ("no hist triggers on this kernel (no events/kmem/mm_page_alloc/hist: "
                                     "CONFIG_HIST_TRIGGERS is off)")
    assert fake.trigger_at_rmdir == "" and not fake.instance().exists()   # nothing written, instance gone


def test_a_vanished_trigger_is_an_error_not_a_zero(tmp_path: Path) -> None:
    fake = FakeTracefs(tmp_path)
    with closing(_open(fake)) as counter:
        fake.show({1: 1})
        counter.enable()
        (fake.instance() / EVENT / "hist").write_text("")   # what hist shows once the trigger is removed
        with pytest.raises(TracefsUnavailable, match="the hist trigger of .* is gone"):
            counter.count()


def test_a_refused_trigger_says_so(tmp_path: Path) -> None:
    fake = FakeTracefs(tmp_path)
    original = fake.mkdir

    def mkdir_with_a_link(path: str) -> None:   # a link planted where the trigger file is: not followed
        original(path)
        trigger = Path(path) / EVENT / "trigger"
        trigger.unlink()
        trigger.symlink_to(tmp_path / "elsewhere")

    fake.mkdir = mkdir_with_a_link
    with pytest.raises(TracefsUnavailable, match="hist trigger refused"):
        _open(fake)
    assert not (tmp_path / "elsewhere").exists() and not fake.instance().exists()


def test_stale_instances_of_dead_counters_are_removed(tmp_path: Path) -> None:
    fake = FakeTracefs(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    instances = tmp_path / "instances"
    for name in (f"{INSTANCE_PREFIX}{dead.pid}", f"{INSTANCE_PREFIX}1", f"minfree-trace-{dead.pid}", "someone"):
        (instances / name).mkdir()
    with closing(_open(fake)) as counter:
        assert counter.cleaned == [f"{INSTANCE_PREFIX}{dead.pid}"]
    assert sorted(p.name for p in instances.iterdir()) == sorted([f"{INSTANCE_PREFIX}1", f"minfree-trace-{dead.pid}",
                                                                  "someone"])


def test_ebpf_comes_first_and_no_instance_is_made(tmp_path: Path) -> None:
    fake = FakeTracefs(tmp_path)
    missing: list[str] = []
    counter, kind = open_in_kernel(str(tmp_path), lambda: "the eBPF counter", missing, "so no orders")
    assert (counter, kind, missing) == ("the eBPF counter", "ebpf", [])
    assert list((tmp_path / "instances").iterdir()) == [] and fake.trigger_at_rmdir is None


@pytest.mark.live
@pytest.mark.root
def test_on_this_kernel_hist_is_absent_so_perf_counts_and_the_reason_is_stated() -> None:
    base = live_tracefs()
    if os.geteuid() != 0 or base is None:
        pytest.skip("needs root and tracefs")
    if os.path.exists(os.path.join(base, EVENT, "hist")):
        pytest.skip("this kernel has hist triggers")

    def refused():
        raise PerfUnavailable(1, "bpf(0): Operation not permitted")

    missing: list[str] = []
    counter, kind = open_in_kernel(base, refused, missing, "so no orders")
    try:
        assert kind == PERF
        assert missing == ["eBPF counter: bpf(0): Operation not permitted (so no orders)",
                           "hist trigger: no hist triggers on this kernel (no events/kmem/mm_page_alloc/hist: "
                           "CONFIG_HIST_TRIGGERS is off)"]
        assert not os.path.exists(os.path.join(base, "instances", f"{INSTANCE_PREFIX}{os.getpid()}"))
    finally:
        counter.close()


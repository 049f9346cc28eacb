from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from minfree.sources.root import SystemRoot
from minfree.proc.vmstat import (
    VmstatSample, is_counter, parse_vmstat, read_vmstat, sample_vmstat, vmstat_rates, vmstat_total,
)

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


def test_618_fields():
    counters = read_vmstat(SystemRoot(READERS / "6.18-live"))
    for name in ("nr_free_pages", "nr_free_pages_blocks", "pgscan_kswapd", "allocstall_normal",
                 "compact_stall", "kswapd_low_wmark_hit_quickly", "pgscan_proactive"):
        assert name in counters
    assert "allocstall" not in counters


@pytest.mark.parametrize(("era", "allocstall", "pgscan_kswapd"), [
    ("rhel6-2.6.32-sosreport", 1432, 0 + 120443 + 8812345),  # per-zone pgscan_kswapd_<zone>
    ("rhel7-3.10", 77, 812),
    ("ubuntu-4.15", 0 + 2 + 15 + 1, 4410),  # allocstall_<zone> since 4.8
])
def test_totals_across_eras(era, allocstall, pgscan_kswapd):
    counters = read_vmstat(SystemRoot(READERS / era))
    assert vmstat_total(counters, "allocstall") == allocstall
    assert vmstat_total(counters, "pgscan_kswapd") == pgscan_kswapd


def test_counter_classification():
    assert is_counter("pgalloc_normal") and is_counter("kswapd_steal") and is_counter("nr_written")
    assert is_counter("nr_tlb_remote_flush")
    assert not is_counter("nr_free_pages") and not is_counter("workingset_nodes")


def test_rates_window_and_missing_fields():
    a = VmstatSample({"pgalloc_normal": 10, "compact_stall": 1}, 100.0)
    b = VmstatSample({"pgalloc_normal": 110, "oom_kill": 1}, 104.0)
    rates = vmstat_rates(a, b)
    assert rates.seconds == 4.0 and rates.deltas == {"pgalloc_normal": 100}
    assert rates.per_second == {"pgalloc_normal": 25.0}
    assert vmstat_rates(b, a) is None and vmstat_rates(a, a) is None


def test_garbage():
    assert parse_vmstat("a 1 2\n\nb -3\nc 0x10\nd 7") == {"b": -3, "d": 7}


@given(st.text())
def test_never_raises(text):
    parse_vmstat(text)


@pytest.mark.live
def test_live_rates_between_two_samples():
    root = SystemRoot("/")
    ticks = iter([0.0, 0.5])
    first = sample_vmstat(root, clock=lambda: next(ticks))
    second = sample_vmstat(root, clock=lambda: next(ticks))
    rates = vmstat_rates(first, second)
    assert rates.seconds == 0.5
    assert rates.deltas["pgalloc_normal"] >= 0 or "pgalloc_normal" in rates.reset
    assert all(value >= 0 for value in rates.per_second.values())

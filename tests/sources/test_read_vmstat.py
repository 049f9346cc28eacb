from pathlib import Path
import pytest
from minfree.sources.root import SystemRoot
from minfree.proc.vmstat import vmstat_rates, vmstat_total
from minfree.sources.readers import read_vmstat
from minfree.sources.sampler import sample

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


@pytest.mark.live
def test_live_rates_between_two_samples():
    root = SystemRoot("/")
    ticks = iter([0.0, 0.5])
    first = sample(root, clock=lambda: next(ticks)).vmstat
    second = sample(root, clock=lambda: next(ticks)).vmstat
    rates = vmstat_rates(first, second)
    assert rates.seconds == 0.5
    assert rates.deltas["pgalloc_normal"] >= 0 or "pgalloc_normal" in rates.reset
    assert all(value >= 0 for value in rates.per_second.values())


from hypothesis import given, strategies as st
from minfree.proc.vmstat import VmstatSample, is_counter, parse_vmstat, vmstat_rates



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


"""A trace window's sums, coincidences and demand, and tune sizing from measured demand."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from minfree.analysis import thresholds as T
from minfree.analysis.sizing import MIN_FREE, WSF, propose
from minfree.analysis.trace_window import (Failure, Interval, MeasuredDemand, Tally, TraceWindow,
                                           demand_from_trace)
from minfree.cli import main
from minfree.render.trace_json import to_json
from minfree.sources.root import SystemRoot
from minfree.sources.system import load_system

HOST = Path(__file__).parent.parent / "fixtures/tune/host-6.18"


def _failure(t: float, klass: str, order: int = 0) -> Failure:
    return Failure(t, order, 0x2820, "GFP_ATOMIC|__GFP_NOWARN", 0, "swapper/0", 0, klass, "napi_alloc", "x")


def _window(failures=(), **kw) -> TraceWindow:
    base = dict(window_s=2.0, counted=None, lost=0, skipped=0, kswapd=None,
                direct_reclaim=None, sources={}, missing=[], tally=Tally())
    base.update(kw)
    for failure in failures:
        base["tally"].add(failure, base["intervals"])
    return TraceWindow(**base)


def test_coincidence_names_the_counters_that_rose_with_silent_failures() -> None:
    window = _window(
        intervals=[Interval(0.0, 1.0, failed=2, net={"Tcp.RetransSegs": 3, "softnet.dropped": 0}),
                   Interval(1.0, 2.0, failed=0, net={"Tcp.RetransSegs": 5})],
        failures=[_failure(0.2, "silent_atomic"), _failure(0.7, "opportunistic", 3)], counted=2)
    lines = window.coincidences()
    assert lines[0] == "Tcp.RetransSegs rose in 1 of the 1 interval(s) with failures"
    assert "silent atomic" in lines[1]
    assert window.net_totals() == {"Tcp.RetransSegs": 8, "softnet.dropped": 0}
    doc = to_json(window, {}, None, "tracefs")
    assert doc["failed_total"] == 2 and doc["by_order"] == {"0": 1, "3": 1}
    assert [i["records"] for i in doc["intervals"]] == [2, 0]


def test_without_perf_the_total_is_records_plus_lost() -> None:
    window = _window(intervals=[Interval(0.0, 2.0)], failures=[_failure(0.1, "logged")], lost=4)
    assert window.failed_total == 5


def test_memory_stays_bounded_and_counts_stay_whole() -> None:
    parts = [Interval(float(i), i + 1.0) for i in range(10)]
    window = _window(intervals=parts, failures=[_failure(i / 1000, "silent_atomic") for i in range(10_000)])
    assert len(window.tally.kept) == 1000 and window.tally.records == 10_000
    assert window.by_class()["silent_atomic"] == 10_000 and sum(p.records for p in parts) == 10_000
    assert to_json(window, {}, None, "tracefs")["records"] == 10_000


def test_demand_in_pages_per_second() -> None:
    window = _window(intervals=[Interval(0.0, 1.0, demand={"0": 1000, "3": 10}),
                                Interval(1.0, 2.0, demand={"0": 3000, "3": 30})])
    assert window.demand() == {"0": 2000.0, "3": 20.0}
    assert window.atomic_pages_per_s() == 2000 + 20 * 8


@pytest.fixture(scope="module")
def state():
    return load_system(SystemRoot(HOST))


def test_measured_demand_sizes_both_reserves(state) -> None:
    plain = propose(state)
    demand = MeasuredDemand(pages_per_s=400_000.0, kswapd_s=0.5, recover_s=0.05, window_s=60.0)
    sized = propose(state, demand=demand)
    mfk = next(c for c in sized.changes if c.key == MIN_FREE)
    wsf = next(c for c in sized.changes if c.key == WSF)
    lowmem_pages = state.managed_kb(lowmem_only=True) // 4
    # W_lead = managed * wsf / 10000 holds demand x kswapd p99, by at most one step more
    assert wsf.proposed * lowmem_pages / 10_000 >= 200_000 > (wsf.proposed - 1) * lowmem_pages / 10_000
    assert "minfree trace" in wsf.reason
    assert mfk.proposed == math.ceil(20_000 / T.ATOMIC_WINDOW_SHARE_OF_MIN) * 4  # W_atomic >= R x T_recover
    assert mfk.proposed > next(c for c in plain.changes if c.key == MIN_FREE).proposed


def test_tune_reads_a_saved_trace(tmp_path, capsys) -> None:
    saved = tmp_path / "trace.json"
    saved.write_text(json.dumps({"schema": 1, "window_s": 10.0, "atomic_pages_per_s": 400000.0,
                                 "kswapd": {"p99_s": 0.5}, "direct_reclaim": {"p99_s": 0.05}}))
    assert main(["tune", "--root", str(HOST), "--trace", str(saved), "--json"]) in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    assert any("minfree trace" in c["reason"] for c in doc["changes"])
    assert demand_from_trace({"schema": 1, "window_s": 1.0, "atomic_pages_per_s": None}) is None
    saved.write_text("{}")
    assert main(["tune", "--root", str(HOST), "--trace", str(saved)]) == 2
    assert "no demand" in capsys.readouterr().err

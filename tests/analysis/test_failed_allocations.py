"""The doctor finding of the in-kernel failure count: calm when nothing failed, severity by
the smallest failed order."""
from __future__ import annotations

from types import SimpleNamespace

from minfree.analysis.failed_allocations import FailedAllocations
from minfree.analysis.findings import failed_allocations


def _findings(failed: FailedAllocations | None) -> list:
    return list(failed_allocations(SimpleNamespace(failed=failed)))


def test_a_healthy_host_stays_calm() -> None:
    assert _findings(FailedAllocations("ebpf", 1.0, 0, {o: 0 for o in range(11)})) == []
    assert _findings(FailedAllocations(None, None, None, None, "--window 0: no window to count over")) == []
    assert _findings(None) == []


def test_an_order0_failure_is_critical_and_points_to_trace() -> None:
    [finding] = _findings(FailedAllocations("ebpf", 2.0, 3, {0: 1, 3: 2, 9: 0}))
    assert finding.severity == "critical"
    assert finding.evidence == {"total": 3, "by_order": {0: 1, 3: 2}, "counter": "ebpf", "window_s": 2.0}
    assert "__GFP_NOWARN" in finding.explanation and "minfree trace" in finding.fix
    assert "(order 0: 1, 3: 2)" in finding.title


def test_perf_gives_a_total_without_orders() -> None:
    [finding] = _findings(FailedAllocations("perf", 1.0, 5, None))
    assert finding.severity == "warning" and finding.evidence["by_order"] is None

"""The classifier on records of real failures: the Debian 5.10 and 6.1 kernels of
../shared/kernel-failures (a module made each failure on purpose, with known flags, order and
context, and the kernel printed some of them) and this machine's 6.18 hugetlb pool growth."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from minfree.analysis.failure_classes import LOGGED, OPPORTUNISTIC, SILENT_ATOMIC, SILENT_BLOCKING
from minfree.analysis.trace_window import failure_from_record
from minfree.model.gfp import layout_for
from minfree.model.kversion import parse_release
from minfree.tracing.records import parse_trace

FAILURES = Path(__file__).resolve().parents[3] / "shared" / "kernel-failures"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trace"
CASES = sorted(p.name for p in FAILURES.glob("*-1node-*")) if FAILURES.is_dir() else []
NOWARN = 0x2000  # 5.1-6.x (include/linux/gfp.h)
NORETRY = 0x10000


def _expected(command: dict) -> str:
    """The class a module command's failures belong to, from what the module did."""
    gfp = int(command["gfp"], 16)
    if not gfp & NOWARN:
        return LOGGED
    if command["ctx"] in ("timer", "tasklet"):
        return SILENT_ATOMIC
    return OPPORTUNISTIC if command["order"] > 0 and gfp & NORETRY else SILENT_BLOCKING


@pytest.mark.skipif(not CASES, reason=f"no kernel-failures at {FAILURES}")
@pytest.mark.parametrize("case", CASES)
def test_classes_match_what_the_module_did(case: str) -> None:
    meta = json.loads((FAILURES / case / "case.json").read_text())
    truth = json.loads((FAILURES / "truth.json").read_text())[case]
    records, skipped = parse_trace((FAILURES / case / "final" / "trace-pfb.txt").read_text())
    layout = layout_for(parse_release(meta["kernel"]["release"]))
    failures = [failure_from_record(r, layout, 0.0) for r in records]
    got = Counter(f.klass for f in failures)
    want: Counter[str] = Counter()
    for scenario in meta["scenarios"]:
        for command in scenario["commands"]:
            want[_expected(command)] += command["failures"]
    reports = truth["reports"] if isinstance(truth, dict) else truth
    assert skipped == 0
    assert all(f.gfp is not None for f in failures)
    assert got == want
    assert got[LOGGED] == len(reports)  # exactly the reports the kernel printed


def test_hugetlb_pool_growth_on_this_kernel() -> None:
    records, _ = parse_trace((FIXTURES / "6.18-hugetlb-pool-growth.txt").read_text())
    layout = layout_for(parse_release("6.18.0"))
    [failure] = [failure_from_record(r, layout, 0.0) for r in records]
    assert (failure.order, failure.klass, failure.site) == (9, SILENT_BLOCKING, "only_alloc_fresh_hugetlb_folio")
    assert "pool stays smaller" in failure.reason

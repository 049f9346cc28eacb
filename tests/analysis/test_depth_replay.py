"""The depth (model/depth.py) equals a brute-force replay (tests/depth_replay.py) on the
free lists of every capture of ../shared/kernel-failures: real 5.10 and 6.1 kernels at boot,
right after failures, and after memory came back."""
from __future__ import annotations

from pathlib import Path

import pytest

from minfree.analysis.thresholds import DEPLETION_ORDERS
from minfree.analysis.zones import build_zones
from minfree.model.depth import request_depth
from minfree.model.wmark_check import Request
from minfree.sources.root import SystemRoot
from minfree.sources.system import load_system

from depth_replay import replay
from kernel_failures import kernel_failure_cases, kernel_failure_root

CASES = kernel_failure_cases()
#: Depths of orders 1-3 (doctor's depletion orders) up to EXACT are replayed to the end (every
#: depleted zone of the captures is below it); other depths are replayed to the end when below
#: SHORT, else for SHORT requests only (a zone of order-10 blocks serves ~10^5 order-0 requests).
EXACT = 6000
SHORT = 300


def _captures() -> list[tuple[Path, str]]:
    return [(case, step) for case in CASES for step in ["boot", *sorted(p.name for p in (case / "steps").iterdir())]]


CAPTURES = _captures()


@pytest.mark.slow
@pytest.mark.skipif(not CASES, reason="../shared/kernel-failures is not beside the checkout")
@pytest.mark.parametrize("case,step", CAPTURES, ids=[f"{c.name}-{s}" for c, s in CAPTURES])
def test_depth_equals_a_one_by_one_replay(tmp_path: Path, case: Path, step: str) -> None:
    with SystemRoot(kernel_failure_root(tmp_path, case, step)) as root:
        state = load_system(root)
    rules = state.rules
    compared = 0
    for view in build_zones(state).zones:
        if view.model is None:
            continue
        assert view.model.blocks.by_type is not None   # pagetypeinfo: exact migratetypes
        for order in range(len(view.free_blocks)):
            depth = view.atomic_depth[order]
            assert not depth.approximate
            assert depth == request_depth(view.model, order, Request.GFP_ATOMIC, rules)
            cap = depth.requests + 1 if depth.requests <= (EXACT if order in DEPLETION_ORDERS else SHORT) else SHORT
            served = replay(view.model, order, rules, cap)
            if served < cap:
                assert depth.requests == served, (view.model.name, order)
            else:
                assert depth.requests >= cap, (view.model.name, order)
            compared += 1
    assert compared >= 2 * 11

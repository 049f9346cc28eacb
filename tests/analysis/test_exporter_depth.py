"""The exporter's headroom and depth are doctor's depth (one model, model/depth.py): on every
capture of ../shared/kernel-failures, per zone and order, the same numbers."""
from __future__ import annotations

from pathlib import Path

import pytest

from kernel_failures import kernel_failure_cases, kernel_failure_root
from minfree.analysis.headroom import atomic_headroom
from minfree.analysis.zones import build_zones
from minfree.sources.root import SystemRoot
from minfree.sources.system import load_system

CASES = kernel_failure_cases()


@pytest.mark.skipif(not CASES, reason="../shared/kernel-failures is not beside the checkout")
@pytest.mark.parametrize("step", ["boot", "06-f1", "08-f3"])
def test_exporter_serves_doctors_depth(tmp_path: Path, step: str) -> None:
    for case in CASES:
        with SystemRoot(kernel_failure_root(tmp_path / case.name, case, step)) as root:
            state = load_system(root)
        doctor = {(z.info.node, z.info.zone): z.atomic_depth for z in build_zones(state).zones if z.atomic_depth}
        served = atomic_headroom(state).zones
        assert served
        for h in served:
            depth = doctor[(h.node, h.zone)][h.order]
            assert (h.requests, h.pages, h.ok) == (depth.requests, depth.pages, depth.requests > 0)

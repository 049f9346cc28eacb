"""doctor against the running kernel: the model must equal what the kernel shows."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from minfree.cli import main
from minfree.commands.doctor import diagnose
from minfree.render.doctor_json import to_json
from minfree.sources.root import SystemRoot

pytestmark = pytest.mark.live
needs_zoneinfo = pytest.mark.skipif(not os.access("/proc/zoneinfo", os.R_OK), reason="no /proc/zoneinfo")


@needs_zoneinfo
def test_live_predictions_equal_zoneinfo_or_are_reported_stale() -> None:
    report = to_json(diagnose(SystemRoot("/"), window=0))
    assert report["zones"], "zoneinfo gave no zones"
    for zone in report["zones"]:
        shown = {k: zone[k] for k in ("min", "low", "high", "promo") if zone[k] is not None}
        predicted = {k: zone["predicted"][k] for k in shown}
        if predicted != shown or zone["predicted"]["protection"][: len(zone["protection"] or [])] != zone["protection"]:
            # boot-time values may be stale by a few pages; doctor must then say so
            assert zone["stale"], zone
            assert any(f["id"] == "watermarks_stale" for f in report["findings"])
    assert report["min_free_kbytes"]["kernel_default"] is not None


@needs_zoneinfo
def test_cli_json_has_the_documented_schema(capsys) -> None:
    code = main(["doctor", "--window", "0", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}[report["status"]]
    assert {"kernel", "status", "min_free_kbytes", "zones", "findings"} <= report.keys()
    assert {"current", "kernel_default"} <= report["min_free_kbytes"].keys()
    for zone in report["zones"]:
        assert {"node", "zone", "managed", "free", "min", "low", "high", "promo", "protection",
                "predicted", "free_blocks", "unusable_index", "extfrag_index"} <= zone.keys()
    for finding in report["findings"]:
        assert {"id", "severity", "title", "evidence", "fix"} <= finding.keys()


@needs_zoneinfo
def test_rates_are_measured_over_the_window() -> None:
    report = to_json(diagnose(SystemRoot("/"), window=0.2))
    rates = report["rates"]
    assert rates is not None and 0.15 < rates["window_s"] < 2.0
    assert "pgscan_kswapd" in rates["per_second"]


@needs_zoneinfo
@pytest.mark.parametrize("suffix", ["", ".tar.gz"])
def test_snapshot_gives_the_same_answers_elsewhere(tmp_path: Path, suffix: str, capsys) -> None:
    out = tmp_path / f"snap{suffix}"
    assert main(["snapshot", str(out)]) == 0
    capsys.readouterr()
    live = to_json(diagnose(SystemRoot("/"), window=0))
    with SystemRoot(out) as root:
        captured = to_json(diagnose(root, window=0))
    for key in ("kernel", "min_free_kbytes", "sysctls", "thp", "lowmem_reserve_ratio", "page_size",
                "pageblock_order"):
        assert captured[key] == live[key], key
    assert [(z["node"], z["zone"]) for z in captured["zones"]] == [(z["node"], z["zone"]) for z in live["zones"]]
    for zone in captured["zones"]:   # the capture is self-consistent: model equals its zoneinfo
        if zone["stale"] is None:
            assert zone["predicted"]["min"] == zone["min"]
    assert main(["scan", "--json", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["errors"] == []

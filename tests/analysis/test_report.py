"""The report model: the same verdict, counts and proposal as doctor, scan and tune give."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "render"))

import report_inputs  # noqa: E402
from minfree.analysis.report import from_doctor, from_recording, from_scan  # noqa: E402
from minfree.analysis.report_series import Recording, ZoneBucket  # noqa: E402
from minfree.cli import main  # noqa: E402
from minfree.commands.doctor import diagnose  # noqa: E402
from minfree.commands.scan import scan_inputs  # noqa: E402
from minfree.render.tune_json import predicted_zones  # noqa: E402
from minfree.sources.logfiles import expand_paths  # noqa: E402
from minfree.sources.root import SystemRoot  # noqa: E402


def test_tune_preview_is_what_tune_prints_for_the_same_snapshot(tmp_path: Path, capsys) -> None:
    snap = report_inputs.snapshot(tmp_path)
    with SystemRoot(snap) as root:
        model = from_doctor("snapshot", str(snap), diagnose(root, window=0))
    main(["tune", "--root", str(snap), "--json", "--config-root", str(tmp_path / "etc-root")])
    tune = json.loads(capsys.readouterr().out)
    assert [(c.key, c.current, c.proposed) for c in model.tune.proposal.changes] == \
        [(c["key"], c["current"], c["proposed"]) for c in tune["changes"]]
    assert predicted_zones(model.tune.after) == tune["predicted_zones"]
    assert predicted_zones(model.tune.before) == tune["predicted_zones_before"]
    assert model.status == model.doctor.status == "CRITICAL"


def test_failures_are_counted_as_scan_found_them(tmp_path: Path) -> None:
    scan = scan_inputs(expand_paths([str(report_inputs.logs(tmp_path))], []))
    model = from_scan("kern.log", scan)
    assert model.breakdown.total == sum(e.occurrences for e in scan.events) == 6
    assert dict(model.breakdown.by_order) == {"1": 1, "2": 2, "3": 2, "4": 1}
    assert dict(model.breakdown.by_class) == {"GFP_ATOMIC": 5, "blocking": 1}
    assert model.status == "CRITICAL" and model.findings[0].id == "recent_allocation_failures"


def _recording(free: list[int], failures: int = 0) -> Recording:
    buckets = [ZoneBucket(0, "Normal", i * 60.0, 60, int(f < 20) * 60, int(f < 10) * 60, i * 60.0 + 1, f,
                          10, 20, 30, (f, 0, 0)) for i, f in enumerate(free)]
    from minfree.analysis.report_series import RecordedFailure

    return Recording("h.db", 0, 60.0 * len(free), 60.0, 60 * len(free), 4096, "db1", "6.1.0", buckets,
                     [RecordedFailure(5.0, "nginx", 1, "net-rx", None, "GFP_ATOMIC")] * failures)


def test_a_history_status_follows_its_stated_heuristic() -> None:
    assert from_recording("h.db", _recording([40, 25])).status == "OK"
    assert from_recording("h.db", _recording([40, 15])).status == "OK"        # under low: kswapd's job
    assert from_recording("h.db", _recording([40, 5])).status == "WARNING"    # under min
    critical = from_recording("h.db", _recording([40, 25], failures=2))
    assert critical.status == "CRITICAL" and critical.breakdown.by_origin == {"net-rx": 2}
    assert "heuristic" in critical.status_basis

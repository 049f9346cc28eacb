"""The doctor's zone view: staleness explained, indices from the kernel when it prints them."""
from __future__ import annotations

from minfree.analysis.prediction import ZonePrediction
from minfree.analysis.zones import _staleness
from minfree.model.kversion import parse_release
from minfree.model.rules import KernelRules
from minfree.model.zones import Watermarks
from minfree.proc.zoneinfo import parse_zoneinfo

ZONE = parse_zoneinfo("Node 0, zone   Normal\n  pages free     5000\n        min      1000\n"
                      "        low      4000\n        high     4500\n        managed  100000\n")[0]


def test_a_5_4_zone_recomputed_while_boosted_is_named_as_the_known_bug():
    predicted = ZonePrediction(0, "Normal", Watermarks(1000, 1250, 1500), ())
    stale = _staleness(ZONE, predicted, KernelRules.for_version(parse_release("5.4.0")))
    assert "stale by up to 3000 pages" in stale and "5.0-5.7 bug" in stale
    assert "5.0-5.7" not in _staleness(ZONE, predicted, KernelRules.for_version(parse_release("6.1.0")))


def test_an_exact_zone_is_not_stale():
    exact = ZonePrediction(0, "Normal", ZONE.watermarks(), ())
    assert _staleness(ZONE, exact, None) is None

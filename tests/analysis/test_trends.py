"""Trends over recorded history: episodes, lows, counters within runs, failures."""
from __future__ import annotations

from minfree.analysis.trends import CounterPoint, FailurePoint, History, PressurePoint, ZonePoint, trends


def normal(run: int, t: float, free: int, managed: int | None = 1000) -> ZonePoint:
    return ZonePoint(run, t, 0, "Normal", free, 100, 125, 150, managed)


def test_empty_history() -> None:
    found = trends(History(0.0, 3600.0, 4096, 0))
    assert found.zones == [] and found.samples == 0 and found.first_sample is None
    assert found.per_second("allocstall") is None and found.psi_some_max is None
    assert found.failures_by_order == {}


def test_forty_dips_below_low_are_forty_episodes() -> None:
    points = []
    for dip in range(40):
        points += [normal(1, dip * 3.0, 200), normal(1, dip * 3.0 + 1, 120), normal(1, dip * 3.0 + 2, 110)]
    zone = trends(History(0.0, 3600.0, 4096, len(points), zones=points)).zones[0]
    assert (zone.below_low, zone.below_min, zone.samples) == (40, 0, 120)
    assert round(zone.below_low_share, 3) == round(80 / 120, 3)
    assert (zone.first_free, zone.last_free, zone.lowest_free, zone.lowest_at) == (200, 110, 110, 2.0)


def test_a_new_run_starts_a_new_episode_and_empty_zones_are_left_out() -> None:
    points = [normal(1, 1.0, 90), normal(1, 2.0, 95), normal(2, 10.0, 80),
              ZonePoint(1, 1.0, 0, "Movable", 0, 0, 0, 0, 0)]
    found = trends(History(0.0, 60.0, 4096, 3, zones=points))
    assert [(z.zone, z.below_low, z.below_min) for z in found.zones] == [("Normal", 2, 2)]


def test_counters_reset_by_a_reboot_add_nothing() -> None:
    points = [CounterPoint(1, 0.0, 100.0, "compact_stall", 10), CounterPoint(1, 1.0, 101.0, "compact_stall", 13),
              CounterPoint(2, 2.0, 5.0, "compact_stall", 1), CounterPoint(2, 4.0, 7.0, "compact_stall", 2),
              CounterPoint(2, 6.0, 9.0, "compact_stall", 0)]   # went down: a reset inside a run
    found = trends(History(0.0, 60.0, 4096, 5, counters=points))
    assert found.counter_totals == {"compact_stall": 4}
    assert found.counted_seconds == 5.0 and found.per_second("compact_stall") == 0.8


def test_pressure_and_failures() -> None:
    found = trends(History(0.0, 60.0, 4096, 2,
                           pressure=[PressurePoint(1, 1.0, 2.5, None), PressurePoint(1, 2.0, 7.25, 1.0)],
                           failures=[FailurePoint(1.0, "asd", 1, "tcp-accept"),
                                     FailurePoint(2.0, "kworker", None, None),
                                     FailurePoint(3.0, "asd", 1, "tcp-accept")]))
    assert (found.psi_some_max, found.psi_full_max) == (7.25, 1.0)
    assert found.failures_by_order == {1: 2, None: 1}
    assert found.failures_by_origin == {"tcp-accept": 2, None: 1}

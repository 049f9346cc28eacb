"""Which node stands out: only against a strict majority of enough nodes; what is unknown is
never compared."""
from __future__ import annotations

from minfree.analysis.fleet import NodeRow, fleet_status, outliers


def test_two_nodes_have_no_majority_to_differ_from() -> None:
    assert outliers([NodeRow("a", kernel="5.10", failures=4, headroom_share=0.01),
                     NodeRow("b", kernel="6.1", headroom_share=0.9)]) == []


def test_a_tie_is_not_a_majority_and_unknown_values_are_not_compared() -> None:
    rows = [NodeRow("a", swappiness=60), NodeRow("b", swappiness=60), NodeRow("c", swappiness=10),
            NodeRow("d", swappiness=10), NodeRow("e")]
    assert outliers(rows) == []
    rows[3].swappiness = 60
    found = outliers(rows)
    assert [(o.host, o.key, o.value, o.peers) for o in found] == [("c", "swappiness", 10, 60)]
    assert found[0].explanation == "swappiness is 10 here, 60 on 3 of 4 nodes"


def test_failing_is_an_outlier_only_while_most_peers_are_healthy() -> None:
    rows = [NodeRow(n, failures=f) for n, f in (("a", 2), ("b", 1), ("c", 0), ("d", 0))]
    assert [o.host for o in outliers(rows)] == ["a", "b"]        # 2 of 4 healthy: still half
    rows[2].failures = 5
    assert outliers(rows) == []                                   # most nodes fail: a fleet problem


def test_headroom_needs_a_known_share_on_enough_nodes() -> None:
    rows = [NodeRow("a", headroom_share=0.5), NodeRow("b", headroom_share=0.4), NodeRow("c", headroom_share=0.11),
            NodeRow("d")]
    assert outliers(rows) == []                                   # 0.11 >= 0.4 * 0.25
    rows[2].headroom_share = 0.09
    assert [(o.host, o.kind) for o in outliers(rows)] == [("c", "headroom")]


def test_fleet_status_never_calls_an_unread_host_healthy() -> None:
    assert fleet_status([], 0) == "UNKNOWN"
    assert fleet_status(["OK", "UNKNOWN"], 0) == "UNKNOWN"
    assert fleet_status(["OK", "CRITICAL"], 3) == "CRITICAL"


def test_a_traced_node_failing_alone_stands_out_and_its_failures_join_one_timeline() -> None:
    """fleet trace: rows from each host's window (parsed with minfree trace's parser and
    classes), the node failing in the window flagged, every record on one clock-ordered line."""
    from minfree.analysis.fleet import node_from_trace, trace_timeline, trace_window
    from minfree.model.gfp import layout_for
    from minfree.model.kversion import KernelVersion

    layout = layout_for(KernelVersion(6, 1, 0))
    line = ("{comm}-7 [001] ..... {ts}: mm_page_alloc: page=0000000000000000 pfn=0x0 order={order} "
            "migratetype=0 gfp_flags=GFP_ATOMIC|__GFP_NOWARN\n")
    text = line.format(comm="nginx", ts="100.25", order=2) + line.format(comm="nginx", ts="100.75", order=3)
    windows = {"a": trace_window(text, layout, 100.0, 2.0, 0, {}, []),
               "b": trace_window("", layout, 50.0, 2.0, 0, {}, []),
               "c": trace_window("", layout, 70.0, 2.0, 0, {}, [])}
    rows = [node_from_trace(name, "6.1.0", window) for name, window in windows.items()]
    assert (rows[0].failures, rows[0].by_order, rows[0].by_class) == (2, {2: 1, 3: 1}, {"silent_atomic": 2})
    (flagged,) = outliers(rows)
    assert flagged.host == "a" and flagged.explanation == (
        "2 allocation failure(s) in the 2 s traced while 2 of 2 peers had none")
    line_of = trace_timeline([("a", windows["a"], 1764700000.0, 100.0)])
    assert [(e.at, e.since_boot_s, e.order, e.origin) for e in line_of] == [
        ("2025-12-02T18:26:40.250+00:00", 100.25, 2, "silent_atomic"),
        ("2025-12-02T18:26:40.750+00:00", 100.75, 3, "silent_atomic")]

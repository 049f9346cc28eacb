"""The fleet's text view: both tables, outliers marked, the timeline header saying what its
times are, unreachable hosts with their reason; plain text when NO_COLOR is set."""
from __future__ import annotations

import io

from minfree.analysis.fleet import ClusterView, HostOutcome, NodeRow, TimelineEntry, outliers
from minfree.render.console import console
from minfree.render.fleet_text import render_cluster


def rows() -> list[NodeRow]:
    made = [NodeRow(n, kernel="6.1.0-57-amd64", status="OK", min_free_kbytes=45056, kernel_default_kb=5637,
                    recommended_kb=45056, watermark_scale_factor=10, headroom_kb=1813952, headroom_share=0.91,
                    unusable=0.0, thp_enabled="madvise", thp_defrag="madvise", swappiness=60) for n in "abc"]
    made[2].failures, made[2].by_order, made[2].by_origin, made[2].status = 3, {1: 1, 3: 2}, {"network": 3}, "CRITICAL"
    return made


def render(view: ClusterView, outcomes: list[HostOutcome], monkeypatch) -> str:
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    render_cluster("doctor", outcomes, view, "CRITICAL", console(out))
    return out.getvalue()


def test_doctor_view(monkeypatch) -> None:
    nodes = rows()
    timeline = [TimelineEntry("c", "2025-12-02T14:38:40+00:00", 10.2, "swapper/0", 1, "network", "below_watermark", 1),
                TimelineEntry("c", "2025-12-02T14:39:10+00:00", 40.2, "ksoftirqd/0", 3, "network", "fragmented", 2)]
    outcomes = [HostOutcome(n, n, None, 1.0) for n in "abc"] + [HostOutcome("d", "10.0.0.4", "ssh: connect to host 10.0.0.4 port 22: No route to host", 3.0)]
    text = render(ClusterView(nodes, outliers(nodes), timeline), outcomes, monkeypatch)
    assert "\x1b[" not in text
    lines = text.splitlines()
    assert lines[0] == "CRITICAL  minfree fleet doctor: 3 of 4 hosts answered"
    assert any(line.split()[:4] == ["c*", "6.1.0-57-amd64", "CRITICAL", "3"] for line in lines)
    assert any(line.split()[:4] == ["a", "45056/5637/45056", "10", "1771"] for line in lines)
    assert "  c: failing: 3 allocation failure(s) in this boot's log while 2 of 2 peers logged none" in lines
    assert "failures, all nodes (2; UTC from each host's boot time, approximate):" in lines
    assert "  2025-12-02T14:39:10+00:00  c  ksoftirqd/0 order 3 ×2  network  (fragmented)" in lines
    assert lines[-1] == "unreachable d (10.0.0.4): ssh: connect to host 10.0.0.4 port 22: No route to host"


def test_undated_timeline_says_so(monkeypatch) -> None:
    nodes = rows()
    timeline = [TimelineEntry("c", None, 10.25, "swapper/0", 1, "network", None, 1)]
    text = render(ClusterView(nodes, [], timeline), [HostOutcome(n, n, None, 1.0) for n in "abc"], monkeypatch)
    assert "failures, all nodes (1; seconds after each host's boot: no boot time was read):" in text
    assert "  +10.2 s after boot  c  swapper/0 order 1  network\n" in text

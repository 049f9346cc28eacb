"""analysis.scan_report: the most telling event comes from the most frequent group and has the
most evidence."""
from __future__ import annotations

import io

from minfree.analysis.explain import explain_event
from minfree.analysis.scan_report import ScanReport
from minfree.logs.scanner import LogScanner
from minfree.model.kversion import parse_release

LOG = b"""\
[1.0] java: page allocation failure: order:3, mode:0xcc0(GFP_KERNEL), nodemask=(null)
[2.0] swapper/0: page allocation failure: order:1, mode:0x820(GFP_ATOMIC), nodemask=(null)
[2.1] CPU: 0 PID: 0 Comm: swapper/0 Not tainted 6.18.44 #1
[2.2] Call Trace:
[2.3]  <IRQ>
[2.4]  dump_stack_lvl+0x4b/0x70
[2.5]  warn_alloc+0x12a/0x1b0
[2.6]  __alloc_pages_slowpath+0xd6a/0xe90
[2.7]  tcp_v4_syn_recv_sock+0x4d/0x310
[3.0] eth0: link up
[4.0] swapper/0: page allocation failure: order:1, mode:0x820(GFP_ATOMIC), nodemask=(null)
[5.0] swapper/0: page allocation failure: order:1, mode:0x820(GFP_ATOMIC), nodemask=(null)
[5.1] java: page allocation failure: order:3, mode:0xcc0(GFP_KERNEL), nodemask=(null)
[5.2] CPU: 1 PID: 7 Comm: java Not tainted 6.18.44 #1
[5.3] Call Trace:
[5.4]  dump_stack_lvl+0x4b/0x70
[9.0] eth0: link up
"""


def _report() -> ScanReport:
    report = ScanReport()
    kernel = parse_release("6.18.44")
    scanner = LogScanner("log", report.events.append, prepare=lambda event: explain_event(event, kernel))
    scanner.scan(io.BytesIO(LOG))
    report.events.sort(key=lambda e: e.event.line)
    return report


def test_most_telling_is_the_frequent_group_event_with_a_trace() -> None:
    """swapper/0 order 1 is the most frequent group; of its three, the one with a call trace
    wins over later bare ones, and java's traced report does not count (another group)."""
    report = _report()
    assert [e.event.line for e in report.events if e.frames] == [2, 13]
    telling = report.most_telling()
    assert telling is not None and (telling.event.process, telling.event.line) == ("swapper/0", 2)


def test_no_event_no_most_telling() -> None:
    assert ScanReport().most_telling() is None


def test_most_telling_is_a_report_whose_replay_fails() -> None:
    """147 (LKML, ppc32): of two kswapd0 order-0 reports, the one with a trace and a dump that
    replays to a failure, not the bare quoted header; and with the 6.1 kernel-failures log read
    under a 6.18 rule (where the last, order-4, report would pass on its dump), the latest report
    whose replay fails is chosen, never that one."""
    from pathlib import Path

    from minfree.commands.scan import scan_inputs
    from minfree.sources.logfiles import expand_paths

    tests = Path(__file__).resolve().parents[1]
    (own,) = (tests / "corpus" / "logs").glob("147-*.log")
    report = scan_inputs(expand_paths([str(own)]))
    assert report.most_telling() is report.events[1] and report.events[1].verdict is not None
    failures = tests.parents[1] / "shared" / "kernel-failures" / "6.1.192-1node-2g" / "dmesg.txt"
    if failures.exists():
        report = scan_inputs(expand_paths([str(failures)]), kernel="6.18.0")
        assert report.events[-1].verdict.reason == "passes_on_dump"
        telling = report.most_telling()
        assert telling is not None and telling.verdict.reason != "passes_on_dump"

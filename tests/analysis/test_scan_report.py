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

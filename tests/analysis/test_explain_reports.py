"""What scan says about real published reports (tests/corpus, sources cited in its README):
origin, verdict line and advice, each on the report that showed the problem."""
from __future__ import annotations

from pathlib import Path

from minfree.analysis.explain import ExplainedEvent
from minfree.commands.scan import scan_inputs
from minfree.sources.logfiles import expand_paths

LOGS = Path(__file__).resolve().parents[1] / "corpus" / "logs"


def explained(prefix: str) -> list[ExplainedEvent]:
    (path,) = LOGS.glob(prefix + "-*.log")
    return scan_inputs(expand_paths([str(path)])).events


def test_header_pasted_without_the_prefix_the_rest_has() -> None:
    """102 (coreos/bugs#1106): the header has no syslog prefix, its CPU line and trace do; they
    are one report: release, host and the network receive path are found."""
    (e,) = explained("102")
    assert (e.event.host, e.kernel and e.kernel.release) == ("ip-172-19-13-114", "4.9.24-coreos")
    assert e.origin.category == "network-receive"


def test_slub_messages_inside_a_report_do_not_end_it() -> None:
    """147 (LKML, ppc32 6.9): SLUB 'Unable to allocate' records from another CPU sit between the
    trace and the Mem-Info; the dump still belongs to the report and is replayed."""
    first, second = explained("147")
    assert first.verdict is None and first.dump is None       # the quote stops at the CPU line
    assert second.verdict is not None and second.verdict.reason == "below_watermark"
    assert second.verdict.summary.startswith("below watermark: DMA 56 kB free")


def test_quoted_2_6_17_report_reads_its_interrupt_stack() -> None:
    """145 (LKML e1000 jumbo frames): mail-quoted, two frames per line; kswapd was interrupted by
    e1000 refilling its RX ring with order-3 (9 KB jumbo) buffers."""
    (e,) = explained("145")
    assert (e.event.process, e.event.order) == ("kswapd0", 3)
    assert (e.origin.category, e.origin.frame and e.origin.frame.function) == (
        "network-receive", "e1000_alloc_rx_buffers")

"""trace_pipe text as the kernel merges it: CPUs interleaved by time, a stack after its event
on the same CPU, lines split across reads, lost-event notices."""
from __future__ import annotations

from pathlib import Path

from minfree.tracing.records import TraceParser, parse_trace

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "trace" / "6.18-hugetlb-pool-growth.txt"

INTERLEAVED = """\
            bash-10 [000] ..... 100.000001: mm_page_alloc: page=0000000000000000 pfn=0x0 order=9 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_NOWARN
          <idle>-0  [001] ..s1. 100.000002: mm_page_alloc: page=0000000000000000 pfn=0x0 order=3 migratetype=0 gfp_flags=GFP_ATOMIC|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP
            bash-10 [000] ..... 100.000003: <stack trace>
 => trace_event_raw_event_mm_page_alloc
 => alloc_pool_huge_folio
          <idle>-0  [001] ..s1. 100.000004: <stack trace>
 => __traceiter_mm_page_alloc
 => skb_page_frag_refill
CPU:1 [LOST 7 EVENTS]
"""


def test_stacks_go_to_the_last_event_of_their_cpu() -> None:
    records, skipped = parse_trace(INTERLEAVED)
    assert skipped == 0
    assert [(r.cpu, r.stack[-1]) for r in records] == [(0, "alloc_pool_huge_folio"), (1, "skb_page_frag_refill")]


def test_chunks_give_the_same_records_as_one_buffer() -> None:
    lines = INTERLEAVED.splitlines()
    for cut in range(len(lines) + 1):
        parser = TraceParser()
        records = parser.feed(lines[:cut]) + parser.feed(lines[cut:]) + parser.flush()
        assert sorted((r.ts, r.stack) for r in records) == sorted((r.ts, r.stack) for r in parse_trace(INTERLEAVED)[0])
        assert parser.lost == 7


def test_captured_hugetlb_failure() -> None:
    [record], skipped = parse_trace(FIXTURE.read_text())
    assert (record.comm, record.number("order"), record.number("pfn"), skipped) == ("bash", 9, 0, 0)
    assert record.stack[2] == "only_alloc_fresh_hugetlb_folio.isra.0"

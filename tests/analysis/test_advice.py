"""analysis.advice: the advice follows from the evidence; a fragmented verdict gets compaction."""
from __future__ import annotations

import dataclasses
import io

from minfree.analysis.advice import advice
from minfree.analysis.explain import ExplainedEvent, explain_event
from minfree.analysis.verdict import Verdict
from minfree.logs.scanner import LogScanner
from minfree.model.kversion import parse_release

COMPACTION = "compact_memory"
RESERVE = "vm.min_free_kbytes"


def _explained(header: str) -> ExplainedEvent:
    found: list[ExplainedEvent] = []
    scanner = LogScanner("log", found.append, prepare=lambda event: explain_event(event, parse_release("6.18.0")))
    scanner.scan(io.BytesIO(header.encode() + b"\n"))
    (explained,) = found
    return explained


def _with_verdict(e: ExplainedEvent, reason: str) -> ExplainedEvent:
    return dataclasses.replace(e, verdict=Verdict(reason, reason, reason, (), assumed_kernel=False))


ATOMIC_ORDER_0 = "[5.0] swapper/0: page allocation failure: order:0, mode:0x820(GFP_ATOMIC), nodemask=(null)"


def test_fragmented_verdict_gets_the_compaction_advice() -> None:
    """Order 0 alone would not ask for compaction: the verdict's reason does."""
    e = _with_verdict(_explained(ATOMIC_ORDER_0), "fragmented")
    text = advice(e)
    assert RESERVE in text and COMPACTION in text


def test_atomic_order_0_below_watermark_gets_the_reserve_only() -> None:
    for e in (_explained(ATOMIC_ORDER_0), _with_verdict(_explained(ATOMIC_ORDER_0), "below_watermark")):
        text = advice(e)
        assert RESERVE in text and COMPACTION not in text


def test_higher_order_atomic_gets_compaction_without_a_verdict() -> None:
    e = _explained("[5.0] swapper/0: page allocation failure: order:2, mode:0x820(GFP_ATOMIC), nodemask=(null)")
    assert COMPACTION in advice(e)


def test_a_sleeping_allocation_is_not_told_to_raise_reserves() -> None:
    e = _with_verdict(_explained("[5.0] java: page allocation failure: order:3, mode:0xcc0(GFP_KERNEL), "
                                 "nodemask=(null)"), "fragmented")
    text = advice(e)
    assert "could sleep" in text and RESERVE not in text

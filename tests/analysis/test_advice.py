"""analysis.advice on real reports: the advice follows the request class, the order, the replayed
verdict and the report's kernel (only knobs that exist on it), in the JSON as in the text."""
from __future__ import annotations

from pathlib import Path

import pytest

from minfree.analysis.advice import advice, advise
from minfree.analysis.explain import ExplainedEvent
from minfree.commands.scan import scan_inputs
from minfree.render.scan_json import event_to_json
from minfree.sources.logfiles import expand_paths

TESTS = Path(__file__).resolve().parents[1]
SHARED = TESTS.parents[1] / "shared"
FAILURES = SHARED / "kernel-failures" / "6.1.192-1node-1g" / "dmesg.txt"


def explained(path: Path, kernel: str | None = None) -> list[ExplainedEvent]:
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return scan_inputs(expand_paths([str(path)]), kernel=kernel).events


def own(prefix: str) -> Path:
    return next((TESTS / "corpus" / "logs").glob(prefix + "-*.log"))


def keys(e: ExplainedEvent) -> tuple[str, ...]:
    return tuple(a.key for a in advise(e))


def test_real_6_1_reports_get_what_their_verdict_shows() -> None:
    """6.1 kernel-failures: exhaustion gets the reserve, fragmentation compaction too, and the
    order-4 GFP_KERNEL|__GFP_NORETRY failure is told that no reserve makes 64 KiB blocks."""
    e1, _, _, f1, _, f3 = explained(FAILURES)
    assert (e1.verdict.reason, keys(e1)) == ("below_watermark", ("raise_min_free",))
    assert (f1.verdict.reason, keys(f1)) == ("fragmented", ("raise_min_free", "compact"))
    assert "/proc/sys/vm/compact_memory" in advice(f1) and "16 KiB" in advice(f1)
    assert keys(f3) == ("memory_held", "costly_order")
    assert "64 KiB" in advice(f3) and "vm.min_free_kbytes does not fix it" in advice(f3)


def test_costly_atomic_order_is_not_told_to_raise_the_reserve() -> None:
    """119 (PF_RING): order-9 GFP_ATOMIC DMA buffer on 3.8, no Mem-Info in the report."""
    (e,) = explained(own("119"))
    assert keys(e) == ("costly_order", "dump_missing")
    text = advice(e)
    assert "2 MiB" in text and "cma=)" in text and "fragmented or exhausted is unknown" in text
    assert "raise vm.min_free_kbytes" not in text


def test_knobs_the_kernel_lacks_are_not_named() -> None:
    """143 (2.6.18, order-9 ip_conntrack table) read as 2.6.18: no compaction (2.6.35), no CMA
    (3.5), no kvmalloc (4.12); with no kernel known, each knob says the release it needs."""
    (old,) = explained(own("143"), kernel="2.6.18")
    text = advice(old)
    assert "compact" not in text and "cma=" not in text and "kvmalloc" not in text
    (unknown,) = explained(own("143"))
    assert unknown.kernel is None and "2.6.35+" in advice(unknown) and "3.5+" in advice(unknown)


def test_nowait_is_told_what_a_larger_reserve_does_not_do() -> None:
    """014 (earlyoom, 5.9): GFP_NOWAIT has no share of min; watermark_scale_factor exists."""
    (e,) = explained(SHARED / "corpus" / "logs" / "014-gh-earlyoom-220-5.9-gfp_nowait-journal-prefix.log")
    assert keys(e) == ("nowait", "raise_watermark_scale_factor")
    assert "does not help directly" in advice(e)
    (old,) = explained(SHARED / "corpus" / "logs" / "014-gh-earlyoom-220-5.9-gfp_nowait-journal-prefix.log",
                       kernel="4.4.0")
    assert keys(old) == ("nowait", "raise_min_free_gap") and "watermark_scale_factor" not in advice(old)


def test_memalloc_is_not_a_reserve_problem() -> None:
    """134 (RPi NFS root, usbnet): GFP_ATOMIC|__GFP_MEMALLOC ignores the watermarks."""
    (e,) = explained(own("134"))
    assert keys(e) == ("memalloc",) and "min_free_kbytes" not in advice(e)


def test_the_json_carries_the_same_advice() -> None:
    for e in explained(FAILURES):
        items = event_to_json(e)["advice"]
        assert "; ".join(item["text"] for item in items) + "." == advice(e)
        assert [item["key"] for item in items] == list(keys(e))


def test_high_order_receive_buffers_point_at_the_mtu() -> None:
    """145 (LKML, 2.6.17): e1000 refilling its RX ring with order-3 buffers after MTU 9000."""
    (e,) = explained(own("145"))
    assert keys(e) == ("raise_min_free", "rx_buffer_order", "dump_missing")
    assert "8 contiguous pages (32 KiB) is sized for jumbo frames" in advice(e)

"""Call-trace frame parsing: every corpus trace, every architecture/era format, fuzzing."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minfree.logs.trace import Frame, parse_frame, parse_trace, trace_line_kind

from corpus_traces import CORPUS, corpus_frames, corpus_traces  # noqa: E402

# -- single frames, one per format -------------------------------------------------------------

@pytest.mark.parametrize("line, function, base, offset, module, unreliable", [
    (" dump_stack+0x8b/0xb8", "dump_stack", "dump_stack", "0x8b/0xb8", None, False),
    (" ? avc_alloc_node+0x27/0x2d0", "avc_alloc_node", "avc_alloc_node", "0x27/0x2d0", None, True),
    (" ? i915_gem_shrink+0x26b/0x2b3 [i915]", "i915_gem_shrink", "i915_gem_shrink", "0x26b/0x2b3", "i915", True),
    (" warn_alloc.cold+0x75/0xd9", "warn_alloc.cold", "warn_alloc", "0x75/0xd9", None, False),
    (" __alloc_pages_slowpath.constprop.0+0x1139/0x1170", "__alloc_pages_slowpath.constprop.0",
     "__alloc_pages_slowpath", "0x1139/0x1170", None, False),
    (" i915_gem_object_get_pages+0x10/0x20 [i915 4a1f0e2b9c]", "i915_gem_object_get_pages",
     "i915_gem_object_get_pages", "0x10/0x20", "i915", False),                  # 5.14+ build id
    (" [<ffffffff8110f1ca>] ? __alloc_pages_nodemask+0x6ea/0x8d0", "__alloc_pages_nodemask",
     "__alloc_pages_nodemask", "0x6ea/0x8d0", None, True),
    ("  [<ffffffffa85debfd>] ? cache_grow_begin+0x9d/0x550", "cache_grow_begin", "cache_grow_begin",
     "0x9d/0x550", None, True),
    (" [<ffffffffa0012e0d>] __nvme_alloc_iod+0x5d/0x90 [nvme]", "__nvme_alloc_iod", "__nvme_alloc_iod",
     "0x5d/0x90", "nvme", False),
    (" [<c0143b0a>] __alloc_pages+0x2ba/0x3b0", "__alloc_pages", "__alloc_pages", "0x2ba/0x3b0", None, False),
    (" [cache_alloc_refill+372/537] cache_alloc_refill+0x174/0x219", "cache_alloc_refill",
     "cache_alloc_refill", "0x174/0x219", None, False),
    ("[<c0279ba8>] (warn_alloc) from [<c027a6b8>] (__alloc_pages_nodemask+0xcf0/0xdb4)",
     "warn_alloc", "warn_alloc", None, None, False),
    ("[<80110ea8>] (unwind_backtrace) from [<8010c3c4>] (show_stack+0x10/0x14)",
     "unwind_backtrace", "unwind_backtrace", None, None, False),
    ("[<c002c4e8>] (dump_stack+0x0/0x14) from [<c0069ffc>] (__alloc_pages+0x2f4/0x310)",
     "dump_stack", "dump_stack", "0x0/0x14", None, False),
    (" warn_alloc from __alloc_pages_slowpath.constprop.0+0x9a8/0xa34", "warn_alloc", "warn_alloc",
     None, None, False),                                                          # ARM 5.16+
    (" dump_backtrace+0x0/0x1a0", "dump_backtrace", "dump_backtrace", "0x0/0x1a0", None, False),
    (" show_stack+0x18/0x28", "show_stack", "show_stack", "0x18/0x28", None, False),
    ("[c0000001fffefa40] [c0000000000b1e44] .__alloc_pages_nodemask+0x834/0xa60 (unreliable)",
     "__alloc_pages_nodemask", "__alloc_pages_nodemask", "0x834/0xa60", None, True),
    ("[c0000001fffefa40] [c0000000000b1e44] __alloc_pages_nodemask+0x834/0xa60",
     "__alloc_pages_nodemask", "__alloc_pages_nodemask", "0x834/0xa60", None, False),
    ("[c00000000090bad0] [c0000000004f5a84] .__slab_alloc.isra.61.constprop.63+0x54/0x70",
     "__slab_alloc.isra.61.constprop.63", "__slab_alloc", "0x54/0x70", None, False),
    (" <IRQ>  [<ffffffff8150a2f3>] ? __alloc_pages_nodemask+0x6e3/0x8d0", "__alloc_pages_nodemask",
     "__alloc_pages_nodemask", "0x6e3/0x8d0", None, True),
    ("<ffffffff8015f9fe>{__alloc_pages+789}", "__alloc_pages", "__alloc_pages", "789", None, False),
    (" [<00000000>] 0x0", "0x0", "0x0", None, None, False),
    ("Function entered at [<c0013f84>] from [<c03a4ff4>]", "0xc0013f84", "0xc0013f84", None, None, False),
])
def test_parse_frame_formats(line, function, base, offset, module, unreliable):
    assert parse_frame(line) == Frame(function, base, offset, module, unreliable, None)


@pytest.mark.parametrize("line", [
    "", "Call Trace:", " <IRQ>", "Mem-Info:", "Node 0 DMA free:15904kB min:8kB low:8kB high:12kB",
    "kworker/17:1H: page allocation failure: order:1, mode:0x204020", "RIP: 0010:tcp_rcv_space_adjust+0x56/0x1c0",
    " ? page_[  659.105948][ T3124] kworker/2:1H: page", "  [<ffffffffa06de013>]", "[smartpqi]",
    "Started swap from the console", "eth0 received frame from 00:11:22:33:44:55",
])
def test_parse_frame_rejects_non_frames(line):
    assert parse_frame(line) is None


# -- line kinds --------------------------------------------------------------------------------

@pytest.mark.parametrize("line, kind", [
    ("Call Trace:", "header"), ("Call trace:", "header"), ("Stack:", "header"), ("Backtrace: ", "header"),
    (" <IRQ>", "marker"), (" </IRQ>", "marker"), (" <EOI>", "marker"), (" <TASK>", "marker"),
    (" </TASK>", "marker"), (" <NMI>", "marker"), (" =======================", "marker"),
    ("--- interrupt: 501 at .arch_local_irq_restore+0x5c/0x90", "marker"),
    (" dump_stack+0x8b/0xb8", "frame"), ("  [<ffffffffa06de013>]", "frame"), ("[smartpqi]", "frame"),
    ("xfs_submit_ioend_bio.isra.12+0x33/0x40 [xfs]", "frame"),
    ("RIP: 0010:tcp_rcv_space_adjust+0x56/0x1c0", "regs"),
    ("RSP: 0018:ffffa47c40267bf0 EFLAGS: 00000202 ORIG_RAX:", "regs"),
    ("RAX: 0000000000000002 RBX: 0000000000005437 RCX:", "regs"),
    ("FS:  00007ff44adfc700(0000) GS:ffff889032f80000(0000)", "regs"),
    ("CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033", "regs"),
    ("Code: 06 00 00 bf 00 00 00 00 89 d1 48 89 f0 c1 e9 03 48 2b", "regs"),
    ("<41> 5f 5d c3 65 8b 05 ff 40 09 5b 89 c0 48 0f a3 05 05 2f ec 00 73", "regs"),
    ("pc : __alloc_pages_nodemask+0x1a4/0x1070", "regs"), ("x29: ffff800011e3b9e0 x28: 0000000000000000", "regs"),
    (" r7:c0a0b000 r6:00000000 r5:c0a5f6c0 r4:00000001", "regs"),
    (" 0000000000000000 ffffffffa8729964 ffffffffa8dfeb10 ffff88963f403bf0", "stack"),
    ("ffffffffffffffdd", "stack"), ("9f60: 00000000 c0b0e4c0 00000001 00000000", "stack"),
    ("Mem-Info:", None), ("Hardware name: BCM2835", None), ("Workqueue: kblockd blk_mq_run_work_fn", None),
    ("CPU: 17 PID: 1652 Comm: kworker/17:1H Tainted: G", None), ("lowmem_reserve[]: 0 1384 128355 128355", None),
    ("Node 0 DMA32: 2737*4kB (UEMR) 6481*8kB (UEMR)", None), ("20346223 total pagecache pages", None),
    ("0 3444 7878 7878 7878", None), (" TCP: out of memory -- consider tuning tcp_mem", None), ("   ", None),
])
def test_trace_line_kind(line, kind):
    assert trace_line_kind(line) == kind


# -- whole traces from the corpus --------------------------------------------------------------

def test_every_corpus_trace_line_is_accounted_for():
    """No line inside a corpus trace run is dropped silently: frames parse, the rest is a kind."""
    for path in sorted(CORPUS.iterdir()):
        for _, run in corpus_traces(path.name):
            for line in run:
                kind = trace_line_kind(line)
                assert kind is not None
                if kind == "frame" and parse_frame(line) is None:
                    assert re.fullmatch(r"\s*(\[<[0-9a-f]+>\]\s*\??|\[\w+\])\s*", line), line


@pytest.mark.parametrize("name, caller, index, count, first, last", [
    ("001-lkml-centos7-3.10-nvme-xfs-kworker-order1.log", None, 0, 3, "dump_stack", "__alloc_pages_nodemask"),
    ("001-lkml-centos7-3.10-nvme-xfs-kworker-order1.log", None, 1, 38, "dump_stack", "kthread_create_on_node"),
    ("002-lkml-2.6.18-swapper-order1-tg3-tcp_collapse.log", None, 0, 26, "show_trace", "0xf7c11fb4"),
    ("004-lkml-2.6.9-e1000-swapper-order0-symbolic-trace.log", None, 0, 21, "__alloc_pages", "unknown_bootoption"),
    ("006-ceph-devel-5.4.26-kworker-virtio_net-gfp_atomic.log", None, 0, 27, "dump_stack", "ret_from_fork"),
    ("009-linux-mm-4.12-ppc64-gcc-order4-notrack-slub.log", None, 0, 11, "dump_stack", "system_call"),
    ("010-linux-mm-5.2-next-printk-caller-id-interleaved-kworker.log", "T3384", 1, 121, "gfp_pfmemalloc_allowed",
     "do_page_fault"),
    ("010-linux-mm-5.2-next-printk-caller-id-interleaved-kworker.log", "T3124", 0, 72, "dump_stack", "ret_from_fork"),
    ("010-linux-mm-5.2-next-printk-caller-id-interleaved-kworker.log", "T1598", 0, 56, "dump_stack", "scsi_queue_rq"),
    ("014-gh-earlyoom-220-5.9-gfp_nowait-journal-prefix.log", None, 0, 9, "dump_stack", "avc_alloc_node"),
    ("015-gh-sof-5000-6.9-perf-order4-task-markers.log", None, 0, 12, "dump_stack_lvl", "__x64_sys_perf_event_open"),
    ("018-gh-baytrail-12-4.12-android-x86-renderthread-wrapped-header.log", None, 0, 18, "dump_stack",
     "i915_gem_execbuffer"),
    ("022-gh-openzfs-spl-217-3.8-splat-no-timestamps.log", None, 0, 12, "warn_alloc_failed",
     "system_call_fastpath"),
    ("024-gh-openzfs-zfs-465-3.1-z_rd_int-colon-format.log", None, 0, 14, "warn_alloc_failed",
     "scsi_pool_alloc_command"),
    ("025-gh-dcache-3787-4.9-debian-interleaved-pr_cont.log", None, 0, 12, "cache_grow_begin",
     "system_call_fast_compare_end"),
    ("030-gh-raspberrypi-3288-4.19-arm-swapper-cpuset-line.log", None, 0, 10, "unwind_backtrace", "net_rx_action"),
    ("034-web-aerospike-kb-cld-asd-2.6.32-bonding-trace.log", None, 0, 23, "__alloc_pages_nodemask",
     "system_call_fastpath"),
    ("036-linux-mm-4.4-sles-vmalloc-boot-swapper0-decoded-flags.log", None, 0, 12, "dump_trace",
     "x86_64_start_kernel"),
])
def test_corpus_traces_parse(name, caller, index, count, first, last):
    frames = corpus_frames(name, caller, index)
    assert (len(frames), frames[0].function, frames[-1].function) == (count, first, last)


def test_corpus_files_without_traces():
    for name in ("028-gh-coreos-489-4.3-mode0x120-no-trace.log", "042-gh-minio-12440-tcp-out-of-memory-negative.log"):
        assert corpus_traces(name) == []


def test_corpus_001_wrapped_frame_is_joined():
    frames = corpus_frames("001-lkml-centos7-3.10-nvme-xfs-kworker-order1.log", index=1)
    joined = [f for f in frames if f.base == "xfs_submit_ioend_bio"]
    assert joined == [Frame("xfs_submit_ioend_bio.isra.12", "xfs_submit_ioend_bio", "0x33/0x40", "xfs", False, None)]


def test_corpus_010_wrapped_module_is_joined():
    frames = corpus_frames("010-linux-mm-5.2-next-printk-caller-id-interleaved-kworker.log", "T3124")
    pqi = [f for f in frames if f.base == "pqi_raid_submit_scsi_cmd_with_io_request"]
    assert [(f.module, f.unreliable) for f in pqi] == [("smartpqi", True), ("smartpqi", False)]


def test_corpus_006_irq_section_then_interrupted_task():
    frames = corpus_frames("006-ceph-devel-5.4.26-kworker-virtio_net-gfp_atomic.log")
    contexts = {f.function: f.context for f in frames}
    assert contexts["try_fill_recv"] == "irq" and contexts["common_interrupt"] == "irq"
    assert contexts["tcp_recvmsg"] == "task" and contexts["ceph_con_workfn"] == "task"
    assert [f.function for f in frames if f.unreliable] == [
        "dev_gro_receive", "_cond_resched", "aa_sk_perm", "process_one_work", "kthread_park"]


def test_corpus_015_task_marker():
    frames = corpus_frames("015-gh-sof-5000-6.9-perf-order4-task-markers.log")
    assert {f.context for f in frames} == {"task"}


def test_corpus_002_separator_splits_irq_stack_from_task_stack():
    frames = corpus_frames("002-lkml-2.6.18-swapper-order1-tg3-tcp_collapse.log")
    contexts = [(f.function, f.context) for f in frames]
    assert contexts[18] == ("do_softirq", "irq") and contexts[19] == ("irq_exit", "task")


def test_corpus_018_all_frames_unreliable():
    frames = corpus_frames("018-gh-baytrail-12-4.12-android-x86-renderthread-wrapped-header.log")
    assert all(f.unreliable for f in frames)
    assert sum(f.module == "i915" for f in frames) == 10


def test_corpus_030_arm_frames_are_callees_in_order():
    frames = corpus_frames("030-gh-raspberrypi-3288-4.19-arm-swapper-cpuset-line.log")
    assert [f.function for f in frames] == [
        "unwind_backtrace", "show_stack", "dump_stack", "warn_alloc", "__alloc_pages_nodemask", "page_frag_alloc",
        "__netdev_alloc_skb", "bcmgenet_rx_refill", "bcmgenet_rx_poll", "net_rx_action"]


def test_corpus_009_ppc64_dot_removed_and_unreliable():
    frames = corpus_frames("009-linux-mm-4.12-ppc64-gcc-order4-notrack-slub.log")
    assert frames[0] == Frame("dump_stack", "dump_stack", "0xa0/0xcc", None, True, None)
    assert [f.base for f in frames[3:7]] == ["new_slab", "___slab_alloc", "__slab_alloc", "kmem_cache_alloc"]


# -- synthetic traces of other eras ------------------------------------------------------------

def test_old_x86_64_frames_on_one_line_with_markers():
    """RHEL4-era x86_64 (2.6.9): several frames per line, "<IRQ>"/"<EOI>" between them."""
    frames = parse_trace([
        "Call Trace:<IRQ> <ffffffff8015f9fe>{__alloc_pages+789} <ffffffff8015faa6>{__get_free_pages+11}",
        "       <ffffffffa00a4e2b>{:e1000:e1000_alloc_rx_buffers+91} <EOI> <ffffffff8010e6f0>{default_idle+0}",
    ])
    assert [(f.function, f.context) for f in frames[:2]] == [("__alloc_pages", "irq"), ("__get_free_pages", "irq")]
    assert frames[-1].function == "default_idle" and frames[-1].context == "task"


def test_x86_3x_irq_marker_on_frame_line():
    frames = parse_trace([" <IRQ>  [<ffffffff8112c207>] ? __alloc_pages_nodemask+0x757/0x8d0",
                          " [<ffffffff81439d58>] sk_prot_alloc+0x48/0x1c0",
                          " <EOI>  [<ffffffff81011e72>] ? cpu_idle+0xb2/0x110"])
    assert [f.context for f in frames] == ["irq", "irq", "task"]


def test_nmi_and_task_sections():
    frames = parse_trace([" <NMI>", " a+0x1/0x2", " </NMI>", " <TASK>", " b+0x1/0x2", " </TASK>", " c+0x1/0x2"])
    assert [f.context for f in frames] == ["nmi", "task", None]


def test_arm64_trace():
    frames = parse_trace(["Call trace:", " dump_backtrace+0x0/0x1a0", " show_stack+0x18/0x28",
                          " dump_stack+0xb4/0xf0", " warn_alloc+0xf4/0x188"])
    assert [f.function for f in frames] == ["dump_backtrace", "show_stack", "dump_stack", "warn_alloc"]


def test_wrapped_address_keeps_unreliable_mark():
    frames = parse_trace(["  [<ffffffff81170ad0>] ?", "global_dirtyable_memory+0x70/0x70"])
    assert frames == [Frame("global_dirtyable_memory", "global_dirtyable_memory", "0x70/0x70", None, True, None)]


def test_header_with_frame_on_same_line():
    assert [f.function for f in parse_trace(["Call Trace: [<c0143b0a>] __alloc_pages+0x2ba/0x3b0"])] == [
        "__alloc_pages"]


def test_parse_trace_skips_garbage():
    assert parse_trace(["Mem-Info:", "\x00\xff", "", "RIP: 0010:x+0x1/0x2", "[foo bar]"]) == []


# -- robustness --------------------------------------------------------------------------------

FRAGMENTS = ["[<", ">]", "<IRQ>", "</TASK>", " ? ", "+0x", "/0x", "[", "]", "(", ")", " from ", ".", "_",
             "ffffffff8110f1ca", "0", "a", " ", "\t", "{", "}", "Call Trace:", ":", "RIP", "0x1",
             "(unreliable)", "=====", "\x00", "é"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_fuzz_structured_fragments_never_raise(text):
    kind = trace_line_kind(text)
    frame = parse_frame(text)
    assert kind in (None, "frame", "header", "marker", "regs", "stack")
    if frame is not None:
        assert kind == "frame" and frame.function and frame.base
    parse_trace([text, text])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_text_never_raises(text):
    trace_line_kind(text)
    parse_frame(text)
    parse_trace(text.splitlines())


@pytest.mark.parametrize("head, body, tail", [
    ("[<1>]", " ", "!"), ("x", "0x1", "$"), ("a", "+0x1", " x"), ("", "[<1>] ", "!"), ("", "00 ", "zz"),
    ("", "00000000 ", "z"), ("a", " ", "["), ("", "<IRQ> ", "!"), ("<ffffffff8015f9fe>{", "a", ""),
    ("[c0000001fffefa40] [c0000000000b1e44] ", ".", "!"), ("a", " from ", "!"), ("", "a_probe", "$"),
])
def test_regexes_stay_linear(head, body, tail):
    """Doubling an adversarial line at most about doubles the time (no quadratic backtracking)."""
    def cost(n: int) -> float:
        text = head + body * n + tail
        start = time.perf_counter()
        for _ in range(3):
            trace_line_kind(text)
            parse_frame(text)
            parse_trace([text])
        return time.perf_counter() - start
    small, large = cost(4000), cost(16000)
    assert large < max(small * 8, 0.05)


def test_i386_two_frames_per_line_are_all_read() -> None:
    """2.6.17 i386 without frame pointers, mail-quoted (tests/corpus 145, LKML e1000 jumbo
    frames): every frame of the two-per-line format, the RX refill under the interrupt stack."""
    from pathlib import Path

    from minfree.logs.prefix import LineNormalizer

    path = Path(__file__).resolve().parents[1] / "corpus" / "logs" / "145-lkml-hannemann-2.6.17-e1000-jumbo-quoted-kswapd0-order3.log"
    normalizer = LineNormalizer()
    lines = [line.text for raw in path.read_text().splitlines() for line in normalizer.normalize(raw)]
    frames = parse_trace(lines[lines.index("kswapd0: page allocation failure. order:3, mode:0x20") + 1:])
    names = [f.function for f in frames]
    assert len(frames) == 31 and names[:2] == ["__alloc_pages", "kmem_getpages"]
    rx = frames[names.index("e1000_alloc_rx_buffers")]
    assert (rx.module, rx.context) == ("e1000", "irq")
    assert frames[names.index("kswapd")].context == "task"

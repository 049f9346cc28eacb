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
    are one report: release and host are found. The trace is cut after the allocator; the one
    "? __netif_receive_skb_core" sits above the reliable __alloc_pages_nodemask (a stale word
    inside the allocator's frames), so it names no origin."""
    (e,) = explained("102")
    assert (e.event.host, e.kernel and e.kernel.release) == ("ip-172-19-13-114", "4.9.24-coreos")
    assert (e.origin.category, e.origin.detail) == ("unknown", "no frame outside the allocator")


def test_slub_messages_inside_a_report_do_not_end_it() -> None:
    """147 (LKML, ppc32 6.9): SLUB 'Unable to allocate' records from another CPU sit between the
    trace and the Mem-Info; the dump still belongs to the report and is replayed."""
    first, second = explained("147")
    assert first.verdict is None and first.dump is None       # the quote stops at the CPU line
    # kswapd0 reading swap under balance_pgdat runs with PF_MEMALLOC: no watermark applies, and
    # DMA's buddy lists were all zero (its 56 kB counted free sat elsewhere): exhausted past
    # every reserve, not "below watermark"
    assert second.verdict is not None and second.verdict.reason == "empty_lists"
    assert second.verdict.summary == "no free block at all: DMA 56 kB counted free, none on its buddy lists"
    assert second.origin.detail.startswith("no known subsystem (kswapd reclaim):")
    # only DMA is printed, and "lowmem_reserve[]: 0 0 1280 1280" shows zone type 2 (HighMem)
    # populated: GFP_KERNEL's Normal is type 1 on this ppc32, so DMA is its only zone
    assert [r.zone for r in second.verdict.zones] == ["DMA"]
    from minfree.analysis.advice import advise

    assert [a.key for a in advise(second)] == ["reserves_exhausted"]


def test_quoted_2_6_17_report_reads_its_interrupt_stack() -> None:
    """145 (LKML e1000 jumbo frames): mail-quoted, two frames per line; kswapd was interrupted by
    e1000 refilling its RX ring with order-3 (9 KB jumbo) buffers."""
    (e,) = explained("145")
    assert (e.event.process, e.event.order) == ("kswapd0", 3)
    assert (e.origin.category, e.origin.frame and e.origin.frame.function) == (
        "network-receive", "e1000_alloc_rx_buffers")


SHARED_LOGS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "logs"


def shared(prefix: str) -> list[ExplainedEvent]:
    paths = list(SHARED_LOGS.glob(prefix + "-*.log"))
    if not paths:
        import pytest

        pytest.skip("../shared/corpus is not present")
    return scan_inputs(expand_paths([str(paths[0])])).events


def test_the_one_line_agrees_with_a_2_6_18_per_order_check() -> None:
    """002 (LKML, 2.6.18 tg3/tcp_collapse): Normal holds 176 pages (704 kB) in blocks of order
    >= 1, and the check before 4.4 fails because what it counts there does not exceed min/2; the
    empty DMA32 zone (present:0kB) is in no zonelist and is not reported as "free -1 <= min 0"."""
    (e,) = shared("002")
    assert e.verdict.reason == "fragmented"
    assert e.verdict.summary == ("fragmented: 3,312 kB free in Normal, 704 kB of it in blocks of "
                                 "order >= 1, not above 704 kB")
    assert "no free block" not in e.verdict.explanation and "DMA32" not in e.verdict.explanation
    assert [r.zone for r in e.verdict.zones] == ["Normal", "DMA"]


def test_page_cache_filling_the_zone_is_said() -> None:
    """006 (ceph-devel, 5.4.26 virtio_net RX refill): Normal is 94 % page cache; a GFP_ATOMIC
    request could not wait for kswapd to reclaim it."""
    (e,) = shared("006")
    assert e.verdict.reason == "below_watermark"
    assert e.verdict.summary.endswith("; page cache 94% of Normal")
    assert "4,275,800 kB of file pages" in e.verdict.context[0]


def test_fragmented_6_1_report_names_no_block_that_exists() -> None:
    """6.1 kernel-failures f1: DMA32 has 92618 x 4 kB and 5 x 8 kB, nothing of order >= 2."""
    path = Path(__file__).resolve().parents[3] / "shared" / "kernel-failures" / "6.1.192-1node-1g" / "dmesg.txt"
    if not path.exists():
        import pytest

        pytest.skip("../shared/kernel-failures is not present")
    f1 = scan_inputs(expand_paths([str(path)])).events[3]
    assert f1.verdict.summary == "fragmented: 370,516 kB free in DMA32 but no block of order >= 2"


def origin_of(prefix: str, index: int = 0) -> tuple[str, str | None, str]:
    e = explained(prefix)[index]
    return e.origin.category, e.origin.frame and e.origin.frame.function, e.origin.detail


def test_network_receive_through_rx_helpers() -> None:
    """The skb/page-fragment helpers of the receive path name it even when the driver is not a
    known NIC or the trace stops at the helper."""
    # 100 (RHEL 7, swapper): the second header cuts the trace right after __napi_alloc_skb
    assert origin_of("100") == ("network-receive", "__napi_alloc_skb", "network receive path "
                                "(interrupt): an RX buffer from __napi_alloc_skb (the trace ends there)")
    # 107 (armv5, 4.3): __alloc_page_frag <- __netdev_alloc_skb <- rtl_usb RX completion tasklet
    assert origin_of("107")[:2] == ("network-receive", "_rtl_rx_completed")
    assert "(softirq)" in origin_of("107")[2]
    # 127 (MT7623): mtk_eth filling its RX ring at device open
    assert origin_of("127")[:2] == ("network-receive", "mtk_rx_alloc")
    # 134 (RPi 3, usbnet without [module] names on arm64)
    assert origin_of("134")[:2] == ("network-receive", "rx_submit")


def test_indented_syslog_report_of_a_wired_realtek_nic() -> None:
    """157 (ossec-docs log samples, 2.6.32): full syslog lines indented by a reStructuredText
    code-block; r8169 is a wired NIC (its rtl8169_* functions were taken for a Realtek Wi-Fi
    driver); with no dump the advice is the GFP_ATOMIC reserve."""
    from minfree.analysis.advice import advise

    (e,) = explained("157")
    assert (e.event.host, e.event.process, e.event.time, e.kernel.release) == (
        "server1", "swapper", "Feb 20 21:20:06", "2.6.32.4")
    # every entry is "?"; "? tcp_v4_rcv" lies between copies of "? __netdev_alloc_skb+0x17/0x40",
    # above allocator steps: stale. The driver's RX refill below the last allocator step asked.
    assert (e.origin.category, e.origin.frame.function, e.origin.detail) == (
        "network-receive", "rtl8169_rx_fill",
        "network receive path (softirq): rtl8169 refilling its RX ring (rtl8169_rx_fill)")
    assert e.verdict is None and [a.key for a in advise(e)] == ["raise_min_free"]


def test_allocator_internals_and_stale_frames_never_decide() -> None:
    # 119 (PF_RING): swiotlb/x86 DMA helpers are the allocator; fbcapture's ioctl asked
    assert origin_of("119")[:2] == ("unknown", "alloc_dma_memory")
    # 115 (KASAN 3.18): every entry is a stale "?": zone_watermark_ok_safe, drain_pages, memset
    assert origin_of("115") == ("unknown", None, "no frame outside the allocator")
    # 114 (dm-writeboost): a device-mapper target module, not the slab refill above it
    assert origin_of("114")[:2] == ("device-mapper", "try_alloc_writeback_ios")
    # 103 (SPL, 2.6.38, all "?"): "? kv_alloc [spl]" and "? __vmalloc_node_range" lie above
    # __kmalloc, "? arc_write_done+0x0" is a callback pointer; SPL's kmem_alloc for task_alloc asked
    assert origin_of("103") == ("zfs", "kmem_alloc_debug", "ZFS/SPL: kmem_alloc_debug [spl] (unreliable)")
    # 124 (3.4 i686, all "?"): "? kmem_cache_free" between pskb_expand_head and its caller is a
    # leftover of a free
    assert origin_of("124")[:2] == ("unknown", "__pskb_pull_tail")
    # 123 (Trend Micro KB, all "?"): "? upd_sched" and the first "? __tb_alloc" lie above
    # __kmalloc; the copy below it, the excerpt's last line before "...", is Deep Security's
    # dsa_filter asking ("..." marks the cut, it does not continue the frame line)
    assert origin_of("123")[:2] == ("unknown", "__tb_alloc")


def test_an_interrupt_on_the_idle_task_is_not_boot() -> None:
    """105 (MIPS router, 2.6): swapper's order-3 failure in an interrupt (ret_from_irq) whose idle
    stack ends in start_kernel was called "boot"; and a 6.1 timer softirq on swapper/0."""
    assert origin_of("105")[2].startswith("no known subsystem (interrupt):")
    path = Path(__file__).resolve().parents[3] / "shared" / "kernel-failures" / "6.1.192-1node-1g" / "dmesg.txt"
    if not path.exists():
        import pytest

        pytest.skip("../shared/kernel-failures is not present")
    e = scan_inputs(expand_paths([str(path)])).events[0]
    assert e.origin.detail == ("no known subsystem (softirq): first caller outside the allocator "
                               "is alloc_loop [pafail]")


def test_gfp_classes_are_explained_for_what_they_can_do() -> None:
    """014 (earlyoom, 5.9): GFP_NOWAIT has no share of min, so a larger reserve raises its floor
    too; 134 (RPi 4.12): GFP_ATOMIC|__GFP_MEMALLOC may use every reserve."""
    from minfree.model import gfp

    (nowait,) = shared("014")
    assert "no share of the min reserve (its floor is min itself" in gfp.explain(nowait.decoding, 0)
    (memalloc,) = explained("134")
    assert "may use all reserves (no watermark check)" in gfp.explain(memalloc.decoding, 0)


def test_an_oom_kill_next_to_the_report_is_summarised() -> None:
    """148 (le9-patch#5, 5.10.8): the OOM killer killed tail (anon-rss 4 GB) in the same second,
    right before Xorg's failure: the victim is named, and the advice is not a reserve."""
    from minfree.analysis.advice import advise
    from minfree.render.scan_json import event_to_json

    (e,) = explained("148")
    assert e.kernel is not None and e.kernel.release == "5.10.8"
    victim = e.event.oom_nearby
    assert (victim.comm, victim.pid, victim.anon_rss_kb, victim.memcg) == ("tail", 18339, 4186492, False)
    assert [a.key for a in advise(e)] == ["oom_nearby", "memory_held"]
    assert event_to_json(e)["oom_nearby"]["comm"] == "tail"


def test_a_gfp_nofs_failure_from_a_filesystem() -> None:
    """152 (linux-mm, Hocko, 4.0): ext4's block allocator asked GFP_NOFS (0x50) for a page-cache
    page while a task exited; reclaim may not enter the filesystem, and the failure aborted the
    ext4 journal. The module name of the deciding frame is kept in the text output."""
    from minfree.analysis.advice import advise
    from minfree.model import gfp

    (e,) = explained("152")
    assert (e.event.process, e.event.order, e.kernel.release) == (
        "oom-trash", 0, "4.0.0-nofs3-00006-gdfe9931f5f68")
    assert e.decoding.names == ("GFP_NOFS",)
    assert "may sleep but not enter the filesystem (GFP_NOFS)" in gfp.explain(e.decoding, 0)
    assert (e.origin.category, e.origin.detail) == ("ext4", "ext4/jbd2: ext4_mb_load_buddy [ext4]")
    assert e.verdict is None and e.dump is None
    assert [a.key for a in advise(e)] == ["nofs"]


def test_a_failure_during_suspend_is_explained_as_such() -> None:
    """149 (ROCm/amdgpu#174, 6.8): 'OOM killer disabled.' then systemd-sleep's GFP_NOIO failure:
    suspend masks __GFP_IO/__GFP_FS and no OOM kill can free memory."""
    from minfree.analysis.advice import advise
    from minfree.model import gfp

    (e,) = explained("149")
    assert e.event.oom_killer_disabled and e.kernel.release == "6.8.0-47-generic"
    assert [a.key for a in advise(e)] == ["suspend", "noio"]
    assert "compaction is skipped" in gfp.explain(e.decoding, 0)


def test_cma_in_a_cut_dump_is_said() -> None:
    """151 (unix.stackexchange 593335, csky 4.9): an order-10 GFP_ATOMIC kmalloc fails with 97 %
    of free memory CMA; the page keeps the Mem-Info summary but not the zone lines: no replay, the
    summary's CMA share is said, and a CMA area is not offered as the cure."""
    from minfree.analysis.advice import advise
    from minfree.analysis.verdict import no_replay

    (e,) = explained("151")
    assert (e.event.process, e.event.order, e.kernel.release) == ("xxxx", 10, "4.9.56")
    assert len(e.frames) == 14       # csky frames carry no timestamps
    assert e.origin.detail == ("no known subsystem (system call): first caller outside the "
                               "allocator is alloc_ep_req")
    assert e.verdict is None and e.dump is not None and e.dump.zones == []
    assert no_replay(e.dump, e.decoding).endswith(
        "its summary shows 62,086 free pages, 60,234 of them (97%) CMA, which only movable "
        "allocations may use: this GFP_ATOMIC|__GFP_COMP request could not.")
    advice = advise(e)
    assert [a.key for a in advice] == ["cma_unusable", "costly_order", "dump_missing"]
    assert "request saw 1,852 free pages" in advice[0].text
    assert "cma=" not in advice[1].text
    assert advice[2].text.startswith("the log has only part of the memory dump")


def test_android_report_with_a_zone_of_cma_only() -> None:
    """154 (linux-mm, Minchan Kim 2018): every line carries the Android 'c0 0      ' column; a
    GFP_NOWAIT slab refill fails with Normal under min while DMA's 142 MB free is all CMA
    ('(C)' blocks only): the report is found whole, and the CMA it could not use is said."""
    from minfree.analysis.advice import advise

    (e,) = explained("154")
    assert (e.event.process, e.event.order, e.event.time) == ("<snip >", 0, "17.072747")
    assert e.origin.detail == "slab allocator refilling a cache (system call): alloc_slab_page, for mmap_region"
    assert e.verdict.reason == "below_watermark"
    assert e.verdict.summary == ("below watermark: Normal 4,056 kB free <= 4,172 kB; page cache 76% "
                                 "of Normal; DMA free is CMA, unusable here")
    assert ("Node 0 DMA had 142,188 kB free and 142,492 kB of free CMA, which only movable "
            "allocations may use: this GFP_NOWAIT request could not use it.") in e.verdict.context
    advice = advise(e)
    assert [a.key for a in advice] == ["nowait", "raise_watermark_scale_factor", "cma_unusable"]
    assert advice[2].text.startswith("35,615 of the 36,561 free pages were CMA")


def test_network_receive_starved_by_cma() -> None:
    """155 (linux-mm 2014, i.MX6 3.10): fec's RX refill on the idle task fails with 143 MB free
    in DMA, 143 MB of it CMA; the header follows a media player's status on the same line."""
    from minfree.analysis.advice import advise

    (e,) = explained("155")
    assert (e.event.process, e.kernel.release) == ("swapper/0", "3.10.53-1.1.0_ga+g67f859d")
    assert e.origin.detail == "network receive path (softirq): fec_enet_rx_napi"
    assert e.verdict.summary == ("below watermark: DMA 656 kB free <= 1,252 kB; page cache 91% of "
                                 "DMA; 143,136 kB of it CMA, unusable here")
    assert [a.key for a in advise(e)] == ["raise_min_free", "cma_unusable"]


def test_blocks_only_on_lists_the_request_may_not_take() -> None:
    """156 (linux-mm 2016, AM335x 3.12, quoted and wrapped by the mail client): mmcqd's order-1
    GFP_ATOMIC kmalloc fails with 13 MB free because every block of order >= 1 is CMA '(C)':
    the 3.12 watermark check passes and __rmqueue finds nothing; not "passes on dump"."""
    from minfree.analysis.advice import advise

    (e,) = explained("156")
    said = {"who": (e.event.process, e.event.order, e.kernel.release), "origin": e.origin.detail,
            "verdict": e.verdict.summary, "advice": {a.key: a.text for a in advise(e)}}
    assert said["who"] == ("mmcqd/1", 1, "3.12.10-005-ts-armv7l")
    assert said["origin"] == "slab allocator refilling a cache: cache_alloc_refill, for edma_prep_slave_sg"
    assert said["verdict"] == ("fragmented: 13,140 kB free in Normal but no usable block of order "
                               ">= 1 (only 217 x 8 kB (C), 57 x 16 kB (C), 5 x 32 kB (C))")
    assert list(said["advice"]) == ["raise_min_free", "cma_unusable", "compact"]
    assert said["advice"]["compact"].startswith("the dump shows blocks of 8 KiB and more only on free lists")


def test_cma_the_request_cannot_use_is_said() -> None:
    """The rule alone, on one zone line of the 6.1 kernel-failures dump with its free memory
    declared CMA (free_cma 15,000 kB); 155 is the published report that shows it."""
    from minfree.analysis.verdict import _context
    from minfree.logs.memdump import ZoneDump
    from minfree.model.gfp import decode
    from minfree.model.kversion import parse_release
    from minfree.model.wmark_check import Request

    zone = ZoneDump(node=0, zone="DMA32", free_kb=16600, min_kb=44328, managed_kb=949952,
                    free_cma_kb=15000, fields={"active_file": 0, "inactive_file": 0})
    atomic = decode(0xa20, parse_release("6.1.0"), "GFP_ATOMIC")
    (note,) = _context(zone, atomic, Request.GFP_ATOMIC)
    assert note[0] == "15,000 kB of it CMA, unusable here"
    movable = decode(0x140cca, parse_release("6.1.0"), None)   # GFP_HIGHUSER_MOVABLE
    assert _context(zone, movable, Request.GFP_KERNEL) == ()


def test_wrapped_vm_struct_failure_without_trace() -> None:
    """153 (LKML, Liu Shixin, arm64 6.2-rc): the two lines quoted in a commit message, indented
    and wrapped before "mode:"; one event, addresses not pages, and no trace to name an origin."""
    from minfree.analysis.advice import advise
    from minfree.analysis.verdict import no_replay

    (e,) = explained("153")
    assert (e.event.process, e.event.order, e.event.mode) == ("insmod", None, "0xcc0")
    assert e.event.what == "vmalloc error: size 16384, vm_struct allocation failed"
    assert e.origin.detail == "the log has no call trace for this report"
    assert no_replay(e.dump, e.decoding, e.event.what).startswith(
        "vm_struct allocation failed: the vmalloc address range had no free hole of this size;")
    assert [a.key for a in advise(e)] == ["vmalloc_space"] and e.verdict is None


def test_symbolised_trace_and_vmalloc_address_space() -> None:
    """150 (syzbot, riscv 5.19): frames carry source lines and '[inline]' entries; the 5.15+
    'vm_struct allocation failed' is the vmalloc address range, with 1.1 GB of pages free."""
    from minfree.analysis.advice import advise

    (e,) = explained("150")
    assert len(e.frames) == 20 and e.frames[2].function == "__dump_stack"
    assert e.origin.detail == "vmalloc (system call): __vmalloc_node_range, called from bpf_jit_alloc_exec"
    assert [a.key for a in advise(e)] == ["vmalloc_space"] and e.verdict is None


def test_free_pages_only_on_the_highatomic_reserve() -> None:
    """158 (linux-mm, Minchan Kim 2016, 4.8-rc7): rsyslog's in:imklog thread fails an order-0
    GFP_ATOMIC kmalloc for virtio_blk with 30 MB free in DMA32, every block of it '(H)': the
    watermark check passes, but order-0 pages come through the per-cpu lists (__rmqueue), which
    never take MIGRATE_HIGHATOMIC; not "passes on dump", and no reserve advice."""
    from minfree.analysis.advice import advise

    (e,) = explained("158")
    assert (e.event.process, e.event.order, e.event.mode, e.kernel.release) == (
        "in:imklog", 0, "0x2280020", "4.8.0-rc7-00217-g266ef83c51e5-dirty")
    assert e.verdict.reason == "unusable_lists"
    # the reserve held 30 MB, past reserve_highatomic_pageblock()'s managed/100 + a pageblock:
    # the race Minchan Kim's series fixes
    assert e.verdict.summary == ("unusable lists: 30,128 kB free in DMA32, all on HighAtomic free "
                                 "lists, more than the reserve's cap (~24,397 kB)")
    assert [(r.zone, r.reason) for r in e.verdict.zones] == [("DMA32", "no_free_block"), ("DMA", "protected")]
    # virtio_blk asked (its indirect descriptors) while submitting ext4's readahead: the block
    # frame above the filesystem decides, the filesystem is named after it
    assert e.origin.detail == ("block I/O path (page fault): __virtblk_add_req; allocation made in "
                               "alloc_indirect.isra.14; for ext4/jbd2 (ext4_filemap_fault)")
    assert [a.key for a in advise(e)] == ["reserved_lists"]
    # 159 (linux-kernel, Jaewon Kim 2020, Android): the same state behind a '[cpu:comm:pid]'
    # vendor column; Normal's 10 MB free is all '(H)'
    (binder,) = explained("159")
    assert (binder.event.process, binder.event.time) == ("Binder:9343_3", "6207.637280")
    assert binder.origin.detail == "slab allocator refilling a cache: new_slab, for context_struct_to_string"
    # there the reserve (10 MB) was within its cap: everything outside it had been allocated
    assert binder.verdict.summary == "unusable lists: 10,196 kB free in Normal, all on HighAtomic free lists"
    assert "within its cap of about 30,832 kB" in binder.verdict.explanation
    (advice,) = advise(binder)
    assert advice.key == "reserved_lists" and advice.knobs == ("vm.min_free_kbytes",)


def test_quoted_report_behind_a_tab() -> None:
    """160 (linux-mm, Babka 2014, quoting a Ceph/IPoIB 3.10 report): every line is '> ' + TAB +
    dmesg stamp, wrapped by the mail client; the release is found across the wrap (the last taint
    flag glued to RHEL's dash marker), and the IPoIB driver that asked for the RX buffer is named
    although no rule knows it, not the generic net_rx_action below it."""
    from minfree.analysis.advice import advise

    (e,) = explained("160")
    assert (e.event.process, e.event.order, e.event.mode, e.event.time) == ("ceph-osd", 0, "0x20", "73138.803800")
    assert e.kernel.release == "3.10.0-123.9.3.anchor.x86_64"
    assert (e.origin.category, e.origin.detail) == (
        "network-receive", "network receive path (softirq): ipoib_cm_handle_rx_wc [ib_ipoib], allocating an "
        "RX buffer (__netdev_alloc_skb)")
    assert e.verdict is None and [a.key for a in advise(e)] == ["raise_min_free"]
    # 117 (NUC970, 3.10): the same rule names the Ethernet driver's poll
    assert origin_of("117")[:2] == ("network-receive", "nuc970_poll")


def test_hisilicon_prefix_and_a_per_order_check_with_some_blocks() -> None:
    """161 (linux-mm, Yisheng Xie 2016, arm64 4.1): every line behind a log viewer's date,
    '<4>[mono s]' and a glued '[pid:N,cpuN,comm]' column; fork asks for an order-2 GFP_DMA stack
    with 470 MB free in DMA but two 16 kB blocks only: fragmented, and the advice does not claim
    that no block of 16 kB existed."""
    from minfree.analysis.advice import advise

    (e,) = explained("161")
    assert (e.event.process, e.event.order, e.event.time, e.kernel.release) == (
        "sManagerService", 2, "309805.658142", "4.1.18-g09f547b")
    assert e.decoding.zone == "DMA" and len(e.frames) == 9
    assert e.verdict.summary == ("fragmented: 470,616 kB free in DMA, 32 kB of it in blocks of order >= 2, "
                                 "not above 1,700 kB")
    advice = advise(e)
    assert [a.key for a in advice] == ["memory_held", "compact"]
    assert "too little free memory in blocks of 16 KiB and more" in advice[1].text


def test_tcp_collapse_is_not_a_jumbo_rx_buffer() -> None:
    """002 (LKML, 2.6.18): the order-1 skb is tcp_collapse rebuilding the receive queue under
    tg3_poll, not a driver's RX ring buffer: no MTU advice; the per-order check had some 8 kB
    blocks, and the compaction advice says too few, not none."""
    from minfree.analysis.advice import advise

    (e,) = shared("002")
    advice = {a.key: a.text for a in advise(e)}
    assert list(advice) == ["raise_min_free", "compact"]
    assert advice["compact"].startswith("the dump shows too little free memory in blocks of 8 KiB")

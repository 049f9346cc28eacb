"""Origin of a failing allocation: every corpus trace, and synthetic traces for each category."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minfree.analysis.origin import CATEGORIES, Origin, classify
from minfree.logs.trace import Frame, parse_frame, parse_trace, trace_line_kind

from corpus_traces import CORPUS, corpus_frames, corpus_traces  # noqa: E402

N001 = "001-lkml-centos7-3.10-nvme-xfs-kworker-order1.log"
N010 = "010-linux-mm-5.2-next-printk-caller-id-interleaved-kworker.log"


# -- the corpus: every trace, with the origin judged from reading it -----------------------------

CORPUS_CASES = [
    # Trace cut after the allocator by the next report: nothing to tell.
    (N001, None, 0, "unknown", None, "no frame outside the allocator"),
    # kmalloc of an NVMe iod while xfs writeback submits I/O (kworker, blk-mq).
    (N001, None, 1, "nvme", "__nvme_alloc_iod",
     "NVMe driver (workqueue): __nvme_alloc_iod [nvme]; for XFS (xfs_submit_ioend_bio.isra.12 [xfs])"),
    # __alloc_skb in tcp_collapse under tg3_poll, on the softirq stack.
    ("002-lkml-2.6.18-swapper-order1-tg3-tcp_collapse.log", None, 0, "network-receive", "tcp_collapse",
     "network receive path (softirq): tcp_collapse, under tg3 (tg3_poll)"),
    ("004-lkml-2.6.9-e1000-swapper-order0-symbolic-trace.log", None, 0, "network-receive", "e1000_alloc_rx_buffers",
     "network receive path (softirq): e1000 refilling its RX ring (e1000_alloc_rx_buffers)"),
    # The ceph/tcp_recvmsg frames after </IRQ> are the interrupted task, not the allocation.
    ("006-ceph-devel-5.4.26-kworker-virtio_net-gfp_atomic.log", None, 0, "network-receive", "try_fill_recv",
     "network receive path (softirq): virtio_net refilling its RX ring (try_fill_recv)"),
    # Order-4 pgtable cache slab for execve's mm_init on ppc64: a slab refill, no subsystem rule.
    ("009-linux-mm-4.12-ppc64-gcc-order4-notrack-slub.log", None, 0, "slab-refill", "new_slab",
     "slab allocator refilling a cache (system call): new_slab, for mm_init.isra.65"),
    # The WARNING's wrapped first line (not a failure event) holds one allocator frame only.
    (N010, "T3384", 0, "unknown", None, "no frame outside the allocator"),
    # WARNING trace: dm's alloc_io during swap-out from direct reclaim.
    (N010, "T3384", 1, "device-mapper", "alloc_io", "device-mapper (direct reclaim): alloc_io [dm_mod]"),
    # IOMMU iova allocation while smartpqi maps a SCSI request for DMA.
    (N010, "T3124", 0, "block", "scsi_dma_map",
     "block I/O path (workqueue): scsi_dma_map, under storage driver smartpqi "
     "(pqi_raid_submit_scsi_cmd_with_io_request); allocation made in alloc_iova"),
    (N010, "T1598", 0, "block", "scsi_dma_map",
     "block I/O path: scsi_dma_map, under storage driver smartpqi (pqi_raid_submit_scsi_cmd_with_io_request); "
     "allocation made in alloc_iova"),
    # Reliable frames end in ___slab_alloc; the only caller shown is an unreliable SELinux AVC frame.
    ("014-gh-earlyoom-220-5.9-gfp_nowait-journal-prefix.log", None, 0, "slab-refill", "allocate_slab",
     "slab allocator refilling a cache: allocate_slab, for avc_alloc_node (unreliable)"),
    # perf's PEBS/BTS debug-store buffers: no category fits; the caller is named.
    ("015-gh-sof-5000-6.9-perf-order4-task-markers.log", None, 0, "unknown", "reserve_ds_buffers",
     "no known subsystem (system call): first caller outside the allocator is reserve_ds_buffers"),
    # All frames "?": i915 getting shmem backing pages for GEM objects.
    ("018-gh-baytrail-12-4.12-android-x86-renderthread-wrapped-header.log", None, 0, "gpu", "i915_gem_shrink",
     "GPU driver: i915_gem_shrink [i915] (unreliable)"),
    ("022-gh-openzfs-spl-217-3.8-splat-no-timestamps.log", None, 0, "zfs", "splat_kmem_test13",
     "ZFS/SPL (system call): splat_kmem_test13 [splat]"),
    ("024-gh-openzfs-zfs-465-3.1-z_rd_int-colon-format.log", None, 0, "block", "scsi_pool_alloc_command",
     "block I/O path: scsi_pool_alloc_command"),
    # Orphan tail of an earlier report: sk_alloc from socket(2), all frames unreliable.
    ("025-gh-dcache-3787-4.9-debian-interleaved-pr_cont.log", None, 0, "socket-create", "sk_alloc",
     "socket creation (system call): sk_alloc (unreliable)"),
    ("030-gh-raspberrypi-3288-4.19-arm-swapper-cpuset-line.log", None, 0, "network-receive", "bcmgenet_rx_refill",
     "network receive path (softirq): bcmgenet refilling its RX ring (bcmgenet_rx_refill)"),
    # "? bond_3ad_xmit_xor" sits between __alloc_pages_nodemask and kmem_getpages that called
    # it: a stale word, so bonding is not "in the path".
    ("034-web-aerospike-kb-cld-asd-2.6.32-bonding-trace.log", None, 0, "tcp-accept", "sk_clone",
     "TCP connection accept (system call): sk_clone (unreliable)"),
    ("036-linux-mm-4.4-sles-vmalloc-boot-swapper0-decoded-flags.log", None, 0, "vmalloc", "__vmalloc_node_range",
     "vmalloc (boot): __vmalloc_node_range, called from alloc_large_system_hash"),
]


@pytest.mark.parametrize("name, caller, index, category, function, detail", CORPUS_CASES)
def test_corpus_origin(name, caller, index, category, function, detail):
    origin = classify(corpus_frames(name, caller, index))
    assert (origin.category, origin.frame and origin.frame.function, origin.detail) == (category, function, detail)


def test_every_corpus_trace_is_covered_above():
    """The table above names every trace run the corpus holds (a new corpus file needs a row)."""
    runs = sum(len(corpus_traces(path.name)) for path in CORPUS.iterdir())
    assert runs == len(CORPUS_CASES) == 19


# -- synthetic traces, one or more per category -------------------------------------------------

ALLOC = [" dump_stack+0x8b/0xb8", " warn_alloc+0x10e/0x180", " __alloc_pages_slowpath.constprop.0+0xda0/0xdf0",
         " __alloc_pages+0x239/0x2d0"]
SLAB = ALLOC + [" allocate_slab+0x39a/0x670", " ___slab_alloc+0x4bb/0x7f0", " __kmalloc+0x1c8/0x230"]


def origin_of(*lines: str, top: list[str] = ALLOC) -> Origin:
    return classify(parse_trace(["Call Trace:", *top, *lines]))


SYNTHETIC_CASES = [
    ([" <IRQ>", *ALLOC, " __netdev_alloc_skb+0x4e/0x150", " ixgbe_alloc_rx_buffers+0x7e/0x2f0 [ixgbe]",
      " ixgbe_poll+0x3a1/0x6b0 [ixgbe]", " __napi_poll+0x2b/0x160", " net_rx_action+0x2a9/0x360",
      " __do_softirq+0xd7/0x2d6", " </IRQ>", " tcp_sendmsg+0x2c/0x50"], "network-receive", "ixgbe_alloc_rx_buffers"),
    ([" <IRQ>", *ALLOC, " mlx5e_post_rx_wqes+0x88/0x700 [mlx5_core]", " mlx5e_napi_poll+0xdf/0x6d0 [mlx5_core]",
      " net_rx_action+0x140/0x3c0"], "network-receive", "mlx5e_post_rx_wqes"),
    ([" <IRQ>", *SLAB, " sk_clone_lock+0x1e/0x2a0", " inet_csk_clone_lock+0x11/0xd0",
      " tcp_create_openreq_child+0x1f/0x4c0", " tcp_v4_syn_recv_sock+0x92/0x3c0", " tcp_check_req+0x2d6/0x4b0",
      " tcp_v4_rcv+0x8d6/0xa90", " ip_local_deliver+0x66/0xe0", " __netif_receive_skb_core+0x50b/0xc80",
      " bond_handle_frame+0x8a/0x2b0 [bonding]", " netif_receive_skb_internal+0x2f/0xa0",
      " napi_gro_receive+0xb8/0xe0", " bnxt_rx_pkt+0x5ee/0x1170 [bnxt_en]", " bnxt_poll+0x3c/0x150 [bnxt_en]",
      " net_rx_action+0x149/0x3b0", " __do_softirq+0xe4/0x2f8"], "tcp-accept", "sk_clone_lock"),
    ([*ALLOC, " skb_page_frag_refill+0xd4/0x100", " sk_page_frag_refill+0x1d/0x80",
      " tcp_sendmsg_locked+0x6a6/0xe10", " tcp_sendmsg+0x27/0x40", " sock_sendmsg+0x3e/0x50",
      " __sys_sendto+0x13f/0x180", " do_syscall_64+0x5b/0x1d0"], "socket-send", "tcp_sendmsg_locked"),
    ([*ALLOC, " __alloc_skb+0x82/0x1f0", " sock_alloc_send_pskb+0x1e3/0x220", " unix_stream_sendmsg+0x2ac/0x3e0"],
     "socket-send", "sock_alloc_send_pskb"),
    ([*SLAB, " bond_3ad_lacpdu_send+0x40/0x130 [bonding]", " bond_3ad_state_machine_handler+0x2c1/0x900 [bonding]",
      " process_one_work+0x1e4/0x3d0"], "bonding", "bond_3ad_lacpdu_send"),
    ([" <IRQ>", *ALLOC, " __netdev_alloc_skb+0x4e/0x150", " iwl_pcie_rx_allocator+0x15c/0x2a0 [iwlwifi]",
      " iwl_pcie_rx_handle+0x2e6/0x9a0 [iwlwifi]", " iwl_pcie_irq_rx_msix_handler+0x5a/0x100 [iwlwifi]"],
     "wireless", "iwl_pcie_rx_allocator"),
    ([" <IRQ>", *ALLOC, " ieee80211_rx_napi+0x2c/0x40 [mac80211]", " ath9k_rx_tasklet+0x3c2/0x9e0 [ath9k]"],
     "wireless", "ieee80211_rx_napi"),
    ([*SLAB, " mempool_alloc+0x67/0x190", " bio_alloc_bioset+0xa3/0x1e0", " submit_bh_wbc+0x62/0x190",
      " __block_write_full_page+0x1e5/0x3f0", " blkdev_writepage+0x18/0x20"], "block", "bio_alloc_bioset"),
    ([*SLAB, " nvme_setup_cmd+0x2e/0x4a0 [nvme_core]", " nvme_queue_rq+0x78/0x8b0 [nvme]"], "nvme", "nvme_setup_cmd"),
    ([*SLAB, " crypt_alloc_buffer+0x9a/0x1e0 [dm_crypt]", " kcryptd_crypt+0x2b0/0x3c0 [dm_crypt]",
      " process_one_work+0x1e4/0x3d0"], "device-mapper", "crypt_alloc_buffer"),
    ([*SLAB, " kmem_alloc+0x7b/0x100 [xfs]", " xfs_log_commit_cil+0x400/0x730 [xfs]"], "xfs", "kmem_alloc"),
    ([*SLAB, " ext4_ext_map_blocks+0x7a0/0x1530", " ext4_map_blocks+0x15a/0x5f0"], "ext4", "ext4_ext_map_blocks"),
    ([*SLAB, " jbd2_journal_get_write_access+0x40/0x80 [jbd2]"], "ext4", "jbd2_journal_get_write_access"),
    ([*SLAB, " spl_kmem_cache_alloc+0x7a/0x6e0 [spl]", " zio_data_buf_alloc+0x52/0x60 [zfs]",
      " arc_get_data_buf+0x2b/0x50 [zfs]"], "zfs", "spl_kmem_cache_alloc"),
    ([*ALLOC, " kmem_alloc_debug+0x1e1/0x2d0 [spl]", " zio_buf_alloc+0x32/0x40 [zfs]"], "zfs", "kmem_alloc_debug"),
    ([*SLAB, " btrfs_alloc_tree_block+0xf0/0x4a0 [btrfs]"], "btrfs", "btrfs_alloc_tree_block"),
    ([*SLAB, " rpc_malloc+0x3c/0x70 [sunrpc]", " call_allocate+0xb7/0x170 [sunrpc]", " __rpc_execute+0x8c/0x3e0 [sunrpc]",
      " nfs_initiate_pgio+0xdc/0x150 [nfs]"], "nfs", "rpc_malloc"),
    ([*SLAB, " ceph_msg_new2+0x5c/0x150 [libceph]", " ceph_osdc_alloc_messages+0x8a/0x120 [libceph]",
      " rbd_img_request_submit+0x4b/0x60 [rbd]"], "ceph", "ceph_msg_new2"),
    ([*ALLOC, " __vmalloc_area_node+0xb6/0x180", " __vmalloc_node_range+0x77/0xd0", " kvmalloc_node+0x8a/0x90",
      " xt_alloc_table_info+0x3d/0x70 [x_tables]", " do_ipt_set_ctl+0xa0/0x1a0 [ip_tables]"],
     "vmalloc", "__vmalloc_area_node"),
    ([*ALLOC, " khugepaged_alloc_page+0x39/0x70", " collapse_huge_page+0x7a/0x8c0", " khugepaged+0xd67/0x1550",
      " kthread+0x112/0x130"], "thp-compaction", "khugepaged_alloc_page"),
    ([*ALLOC, " alloc_pages_vma+0x13b/0x280", " do_huge_pmd_anonymous_page+0x176/0x630",
      " __handle_mm_fault+0xd8e/0x1370"], "thp-compaction", "do_huge_pmd_anonymous_page"),
    ([*SLAB, " mlx4_buddy_init+0x3e/0x120 [mlx4_core]", " mlx4_init_hca+0x6a1/0xd40 [mlx4_core]",
      " mlx4_load_one+0x3e2/0x16c0 [mlx4_core]", " mlx4_init_one+0x4ae/0x6d0 [mlx4_core]",
      " local_pci_probe+0x42/0x90"], "driver-init", "local_pci_probe"),
    ([*SLAB, " foo_hw_init+0x1e/0x50", " do_one_initcall+0x46/0x1d0", " kernel_init_freeable+0x1a5/0x24c"],
     "driver-init", "do_one_initcall"),
    ([*ALLOC, " amdgpu_bo_create+0x1b5/0x470 [amdgpu]", " drm_ioctl+0x20d/0x3c0 [drm]"], "gpu", "amdgpu_bo_create"),
    ([*ALLOC, " __page_cache_alloc+0x86/0x90", " page_cache_ra_unbounded+0x11f/0x270",
      " filemap_get_pages+0xed/0x6c0", " filemap_read+0xc1/0x340", " vfs_read+0x1f8/0x2d0"],
     "page-cache", "__page_cache_alloc"),
    ([*ALLOC, " reserve_ds_buffers+0x20a/0x4c0"], "unknown", "reserve_ds_buffers"),
]


@pytest.mark.parametrize("lines, category, function", SYNTHETIC_CASES)
def test_synthetic_categories(lines, category, function):
    origin = classify(parse_trace(["Call Trace:", *lines]))
    assert (origin.category, origin.frame and origin.frame.function) == (category, function)
    assert origin.detail


def test_every_category_is_exercised():
    """The synthetic table and the corpus between them reach every category."""
    reached = {case[3] for case in CORPUS_CASES} | {case[1] for case in SYNTHETIC_CASES}
    assert reached == set(CATEGORIES)


def test_tcp_accept_mentions_bonding_and_receive_context():
    """The brief's example: sk_clone <- tcp_v4_syn_recv_sock <- tcp_v4_rcv <- netif_receive_skb ... bond_*."""
    origin = origin_of(" kmem_getpages+0x62/0x170", " cache_grow+0x2cf/0x320", " kmem_cache_alloc+0x11b/0x190",
                       " sk_prot_alloc+0x48/0x1c0", " sk_clone+0x22/0x2e0", " tcp_v4_syn_recv_sock+0x4d/0x310",
                       " tcp_v4_rcv+0x776/0x8df", " netif_receive_skb+0x168/0x1de",
                       " bond_handle_frame+0x8a/0x2b0 [bonding]", " net_rx_action+0x82/0x167",
                       " __do_softirq+0x75/0xe3")
    assert origin.category == "tcp-accept"
    assert origin.detail == ("TCP connection accept (softirq): sk_clone; "
                             "bonding in the path: bond_handle_frame [bonding]")


def test_unreliable_frames_decide_only_when_no_reliable_frame_does():
    with_reliable = origin_of(" ? xfs_buf_get_map+0x10/0x20 [xfs]", " ext4_readdir+0x1/0x2")
    assert (with_reliable.category, with_reliable.frame.function) == ("ext4", "ext4_readdir")
    only_unreliable = origin_of(" ? xfs_buf_get_map+0x10/0x20 [xfs]", " unknown_thing+0x1/0x2")
    assert (only_unreliable.category, only_unreliable.frame.unreliable) == ("xfs", True)


def test_interrupted_task_does_not_decide():
    """An allocation in a hardirq/softirq says nothing about the task it interrupted (corpus 006 shape)."""
    origin = origin_of(" some_irq_handler+0x1/0x2", " __do_softirq+0x1/0x2", " irq_exit+0x1/0x2",
                       " xfs_file_write_iter+0x1/0x2 [xfs]", top=[" <IRQ>", *ALLOC])
    assert (origin.category, origin.frame.function) == ("unknown", "some_irq_handler")
    behind_marker = origin_of(" some_irq_handler+0x1/0x2", " </IRQ>", " xfs_file_write_iter+0x1/0x2 [xfs]",
                              top=[" <IRQ>", *ALLOC])
    assert behind_marker.category == "unknown"


def test_specific_requester_beats_generic_path_above_it():
    """shmem is page cache, but i915 asking for its GEM pages through shmem is the GPU (corpus 018 shape)."""
    origin = origin_of(" shmem_read_mapping_page_gfp+0x36/0x63", " i915_gem_object_get_pages_gtt+0x110/0x467 [i915]")
    assert (origin.category, origin.frame.function) == ("gpu", "i915_gem_object_get_pages_gtt")


def test_send_path_nic_transmit_is_not_receive():
    origin = origin_of(" ixgbe_tx_csum+0x1/0x2 [ixgbe]", " dev_hard_start_xmit+0x1/0x2", " tcp_sendmsg+0x1/0x2")
    assert (origin.category, origin.detail) == ("socket-send", "socket send path: tcp_sendmsg")


def test_generic_path_names_the_frame_that_allocated():
    origin = origin_of(" mlx4_buddy_init+0x3e/0x120 [mlx4_core]", " local_pci_probe+0x42/0x90", top=SLAB)
    assert origin.detail == "driver initialisation: local_pci_probe; allocation made in mlx4_buddy_init [mlx4_core]"


def test_slab_refill_without_caller():
    origin = classify(parse_trace(SLAB))
    assert (origin.category, origin.frame.function, origin.detail) == (
        "slab-refill", "allocate_slab", "slab allocator refilling a cache: allocate_slab")


def test_empty_and_allocator_only():
    assert classify([]) == Origin("unknown", None, "the log has no call trace for this report")
    assert classify(parse_trace(ALLOC)) == Origin("unknown", None, "no frame outside the allocator")


def test_unresolved_addresses_never_decide():
    frames = [parse_frame(" [<00000000>] 0x0"), parse_frame(" [<f7c11fb4>] 0xf7c11fb4")]
    assert classify(frames).frame is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.builds(
    Frame,
    function=st.text(max_size=40), base=st.one_of(st.sampled_from(
        ["sk_clone", "net_rx_action", "__do_softirq", "bond_xmit", "xfs_x", "dump_stack", "0x0", "a_probe", ""]),
        st.text(max_size=40)),
    offset=st.none(), module=st.one_of(st.none(), st.sampled_from(["bonding", "i915", "e1000", "xfs"]), st.text()),
    unreliable=st.booleans(), context=st.sampled_from([None, "irq", "task", "nmi"])), max_size=30))
def test_fuzz_classify_never_raises(frames):
    origin = classify(frames)
    assert origin.category in CATEGORIES and origin.detail
    assert origin.frame is None or origin.frame in frames


def test_long_symbol_is_not_matched():
    base = "a_probe" * 20000 + "$"
    origin = classify([Frame(base, base, None, None, False)])
    assert origin.category == "unknown"


def test_entries_just_past_a_function_never_decide():
    """"? f+0x290/0x290" is an address one past f's end (a stale word on the stack, corpus 010,
    115): it names no caller even when no other frame does."""
    from minfree.analysis.origin import _past_the_end

    frame = parse_frame(" [<ffffffff81322d50>] ? zone_watermark_ok_safe+0x290/0x290")
    assert _past_the_end(frame) and not _past_the_end(parse_frame(" ? avc_alloc_node+0x27/0x2d0"))
    stale = parse_frame(" ? pqi_event_worker+0xdf0/0xdf0 [smartpqi]")
    assert classify(parse_trace(["Call Trace:", *ALLOC, " ? pqi_event_worker+0xdf0/0xdf0 [smartpqi]"])).frame is None
    assert stale.module == "smartpqi"


def test_block_io_a_filesystem_submitted_is_the_block_layer():
    """A filesystem's I/O going down the block layer: the block frame above it asked (corpus 158
    shape: virtio_blk under ext4 readahead); the filesystem is named after it."""
    origin = origin_of(" virtio_queue_rq+0x12d/0x290", " blk_mq_run_hw_queue+0x8f/0xb0",
                       " xfs_submit_ioend+0x1/0x2 [xfs]")
    assert (origin.category, origin.frame.function) == ("block", "virtio_queue_rq")
    assert origin.detail.endswith("; for XFS (xfs_submit_ioend [xfs])")

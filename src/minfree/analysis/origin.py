"""Tell where a failing page allocation came from, from its call-trace frames.

The frames of a failure report start in the allocator (``dump_stack``, ``warn_alloc``,
``__alloc_pages*``, the slab refill path, skb allocation helpers); the first frames below
them name who asked.  :func:`classify` skips the allocator, and reads only the stack section
the allocation ran in: frames after an ``</IRQ>``/``<EOI>`` marker, or below the interrupt
entry (``__do_softirq``, ``irq_exit``, ``do_IRQ``...), belong to the code that was
interrupted, not to the allocation.

Within that section a frame decides by its name or module.  Specific requesters
(a filesystem, NVMe, device-mapper, a GPU or wireless driver, TCP accept, socket send or
create, vmalloc, THP) beat generic paths (network receive, block layer, page cache, driver
probing, bonding): the first specific frame from the top wins, else the first generic one.
``? `` (unreliable) frames decide only when no reliable frame does.  When nothing decides, a
slab refill in the trace gives "slab-refill", and otherwise the origin is "unknown" with
the first caller outside the allocator.

Corpus 006 (ceph-devel, 5.4.26, virtio_net guest):

>>> from minfree.logs.trace import parse_trace
>>> o = classify(parse_trace(["Call Trace:", " <IRQ>", " dump_stack+0x6d/0x95", " warn_alloc+0xfe/0x160",
...     " __alloc_pages_slowpath+0xe07/0xe40", " ? dev_gro_receive+0x626/0x690",
...     " __alloc_pages_nodemask+0x2cd/0x320", " alloc_pages_current+0x6a/0xe0",
...     " skb_page_frag_refill+0xd4/0x100", " try_fill_recv+0x3ed/0x740 [virtio_net]",
...     " virtnet_poll+0x31f/0x349 [virtio_net]", " net_rx_action+0x140/0x3c0",
...     " __do_softirq+0xe4/0x2da", " </IRQ>", " ceph_con_workfn+0x1a33/0x2be0 [libceph]"]))
>>> o.category, o.frame.function
('network-receive', 'try_fill_recv')
>>> o.detail
'network receive path (softirq): virtio_net refilling its RX ring (try_fill_recv)'
"""
from __future__ import annotations

import functools

import re
from typing import Sequence

from minfree.logs.trace import Frame
from minfree.model.record import field_values, record

CATEGORIES = (
    "network-receive", "tcp-accept", "socket-send", "socket-create", "bonding", "wireless",
    "block", "nvme", "device-mapper", "xfs", "ext4", "zfs", "btrfs", "nfs", "ceph",
    "slab-refill", "vmalloc", "thp-compaction", "driver-init", "gpu", "page-cache", "unknown",
)
#: Origins where a failed allocation costs a packet or a connection.
NETWORK_CATEGORIES = frozenset({"network-receive", "tcp-accept", "socket-send", "socket-create",
                                "bonding", "wireless"})
# "socket-create" extends the list: socket(2) allocating its sock (sk_alloc <- inet_create,
# corpus 025) is neither an accept nor a send, and is process context like neither's peak.

# The allocator itself: page allocator, warning and stack dumpers, slab/slub refill, skb and
# page-fragment helpers, mempool, and debugging hooks that allocate on its behalf
# (KASAN, kmemleak, memcg accounting, fault injection).
_ALLOCATOR = re.compile(
    r"(?:dump_stack\w*|show_stack\w*|show_trace\w*|dump_trace|dump_backtrace\w*|unwind_backtrace"
    r"|warn_alloc\w*|alloc_pages\w*|get_free_pages|get_zeroed_page|alloc_pages_direct_compact"
    r"|try_to_compact_pages|alloc_page_interleave|alloc_frozen_pages\w*|folio_alloc\w*"
    r"|vma_alloc_folio\w*|alloc_slab_page|allocate_slab|new_slab\w*|_*slab_alloc\w*|slab_alloc\w*"
    r"|kmem_cache_alloc\w*|kmalloc\w*|kmem_getpages|cache_grow\w*|cache_alloc_refill|fallback_alloc"
    r"|_*cache_alloc\w*|do_cache_alloc|kmem_cache_alloc_node\w*|kvmalloc\w*|kzalloc\w*|krealloc\w*"
    r"|alloc_skb\w*|netdev_alloc_skb\w*|napi_alloc_skb\w*|netdev_alloc_frag|napi_alloc_frag\w*"
    r"|page_frag_alloc\w*|page_frag_cache_refill|skb_page_frag_refill|sk_page_frag_refill"
    r"|pskb_expand_head|skb_copy\w*|skb_clone|skb_realloc_headroom|kmalloc_reserve|sk_prot_alloc"
    r"|mempool_alloc\w*|kasan_\w*|kmemleak_\w*|create_object|stack_depot_save\w*|save_stack\w*"
    r"|memcg_kmem_\w*|obj_cgroup_charge\w*|should_fail\w*|should_failslab|setup_object"
    r"|init_object|alloc_debug_processing|set_track\w*|stack_trace_save\w*|dma_pool_alloc"
    r"|dma_alloc_\w*|dma_direct_alloc\w*|get_page_from_freelist|rmqueue\w*"
    # older and arch-specific names of the same steps: 2.6.x-4.x kmalloc_order/alloc_kmem_pages,
    # the page-fragment cache before 4.2 (__alloc_page_frag), swiotlb and x86 DMA helpers, and
    # watermark/kswapd helpers that stale "?" entries name (corpus 115: zone_watermark_ok_safe)
    r"|alloc_kmem_pages\w*|alloc_page_frag|swiotlb_alloc\w*|x86_swiotlb_alloc\w*"
    r"|dma_generic_alloc_coherent|zone_watermark_ok\w*|zone_watermark_fast|wakeup_kswapd"
    r"|wake_all_kswapds|prepare_alloc_pages|should_compact_retry|should_reclaim_retry"
    r"|drain_pages\w*|drain_all_pages|drain_local_pages)$", re.ASCII)
# Helpers any code calls, left on the stack by earlier calls: never "who wanted the memory".
_NOISE = re.compile(r"(?:memset\w*|memcpy\w*|memmove|schedule\w*|preempt_schedule\w*|raw_spin_\w+"
                    r"|spin_\w+|mutex_\w+|might_sleep\w*|cond_resched\w*"
                    # freeing never asks for memory: a "?" kfree is a leftover of an earlier free
                    # (corpus 124: "? kmem_cache_free" between pskb_expand_head and its caller)
                    r"|kfree\w*|kmem_cache_free\w*|free_pages\w*|free_hot_cold_page\w*)$", re.ASCII)

# The skb and page-fragment helpers of the receive path: NAPI and netdev RX buffers (callers
# of __napi_alloc_skb/napi_alloc_frag run in NAPI poll; __netdev_alloc_skb/netdev_alloc_frag
# are the drivers' RX allocators, page_frag_alloc/__alloc_page_frag the cache under them).
_RX_HELPER = re.compile(r"(?:napi_alloc_skb\w*|netdev_alloc_skb\w*|netdev_alloc_frag|napi_alloc_frag\w*"
                        r"|page_frag_alloc\w*|alloc_page_frag)$", re.ASCII)

# Entry into interrupt or softirq processing: everything below it was interrupted.
_INTERRUPT_ENTRY = re.compile(
    r"(?:do_softirq\w*|handle_softirqs|irq_exit\w*|do_IRQ|common_interrupt|asm_common_interrupt"
    r"|call_on_stack|run_ksoftirqd|local_bh_enable\w*|handle_irq\w*|generic_handle_irq\w*"
    r"|irq_svc|gic_handle_irq|el1_irq|el1h_64_irq\w*|apic_timer_interrupt|smp_apic_timer_interrupt"
    r"|sysvec_\w+|asm_sysvec_\w+|ret_from_intr|irq_entries_start|ret_from_irq|handle_int"
    r"|plat_irq_dispatch)$", re.ASCII)
_SOFTIRQ = re.compile(r"(?:do_softirq\w*|handle_softirqs|net_rx_action|run_ksoftirqd|napi_poll"
                      r"|tasklet_action\w*|tasklet_hi_action)$", re.ASCII)

_NIC_MODULES = frozenset({
    "e100", "e1000", "e1000e", "igb", "igbvf", "igc", "ixgb", "ixgbe", "ixgbevf", "i40e", "iavf",
    "ice", "mlx4_en", "mlx4_core", "mlx5_core", "bnxt_en", "tg3", "bnx2", "bnx2x", "virtio_net",
    "ena", "vmxnet3", "be2net", "qede", "qlcnic", "nfp", "sfc", "cxgb4", "hns3", "enic", "gve",
    "hv_netvsc", "xen_netfront", "r8169", "r8152", "sky2", "atl1c", "alx", "bcmgenet", "stmmac",
    "macb", "fec", "mvneta", "mvpp2", "myri10ge", "netxen_nic", "forcedeth", "8139too", "tulip",
    "ionic", "idpf", "lan743x", "smsc95xx", "lan78xx", "usbnet", "mana",
})
# Function prefixes of the same drivers, for traces without [module] (built in, or 2.6 i386).
_NIC_FUNCTION = re.compile(
    r"(?:e100_|e1000e?_|igbv?f?_|igc_|ixgbe?v?f?_|i40e_|iavf_|ice_|mlx4_en_|mlx5e_|bnxt_|tg3_"
    r"|bnx2x?_|virtnet_|try_fill_recv|add_recvbuf_\w+|ena_|vmxnet3_|qede_|nfp_net_|efx_|cxgb4_"
    r"|hns3_|enic_|gve_|netvsc_|xennet_|rtl8169_|rtl_rx|sky2_|atl1c_|alx_|bcmgenet_|stmmac_"
    r"|macb_|fec_enet_|mvneta_|mvpp2_|myri10ge_|nv_rx|nv_alloc_rx\w*|mana_)", re.ASCII)
_RX_ACTION = re.compile(r"\w*(?:rx|refill|poll|napi|recv|clean|alloc_frag|alloc_buf|fill)\w*", re.ASCII)
_REFILL = re.compile(r"\w*(?:refill|alloc_rx|rx_fill|fill_recv|alloc_frag|rx_alloc|post_rx|alloc_buf)\w*", re.ASCII)

_STORAGE_MODULES = frozenset({
    "sd_mod", "scsi_mod", "libata", "ahci", "libahci", "virtio_blk", "virtio_scsi", "smartpqi",
    "megaraid_sas", "mpt3sas", "mpt2sas", "mptsas", "hpsa", "cciss", "aacraid", "qla2xxx", "lpfc",
    "mptspi", "vmw_pvscsi", "hv_storvsc", "xen_blkfront", "raid0", "raid1", "raid10", "raid456",
    "md_mod", "iscsi_tcp", "libiscsi", "loop", "nbd", "zram", "mmc_block", "sdhci", "usb_storage",
    "uas", "bcache",
})
_GPU_MODULES = frozenset({
    "i915", "xe", "amdgpu", "radeon", "nouveau", "drm", "drm_kms_helper", "ttm", "nvidia",
    "nvidia_uvm", "nvidia_drm", "nvidia_modeset", "vc4", "v3d", "msm", "panfrost", "lima",
    "virtio_gpu", "vmwgfx", "gma500_gfx", "ast", "mgag200", "qxl", "cirrus", "etnaviv",
})
_WIRELESS_MODULES = frozenset({
    "mac80211", "cfg80211", "iwlwifi", "iwlmvm", "iwldvm", "iwlmld", "ath", "ath5k", "ath6kl",
    "ath9k", "ath9k_htc", "ath9k_common", "ath9k_hw", "ath10k_core", "ath10k_pci", "ath11k",
    "ath11k_pci", "ath12k", "brcmfmac", "brcmsmac", "mt76", "mt7601u", "mt76x2e", "mt7921e",
    "mt7921_common", "rtw88_core", "rtw89_core", "rtl8xxxu", "rtlwifi", "rtl8192ce", "mwifiex",
    "mwifiex_pcie", "wl12xx", "wlcore", "rt2x00lib", "rt2800lib", "rt2800usb",
})


@record
class _Rule:
    """A subsystem that asks for memory: the frame names (and modules) that identify it in a call
    trace, and whether it names a specific requester rather than a generic path."""

    category: str
    specific: bool               # a specific requester beats a generic path further up
    names: re.Pattern[str]
    modules: frozenset[str] = frozenset()


def _names(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


# Order matters only between rules that could match the same frame.
_RULES = (
    _Rule("tcp-accept", True, _names(
        r"(?:sk_clone\w*|inet_csk_clone\w*|tcp_create_openreq_child|tcp_v[46]_syn_recv_sock"
        r"|tcp_check_req|inet_csk_accept|inet_accept|sys_accept4?|do_accept|x64_sys_accept4?"
        r"|se_sys_accept4?|do_sys_accept4?|sys_accept4?|inet_csk_reqsk_queue\w*|inet_reqsk_alloc"
        r"|reqsk_alloc|tcp_conn_request|tcp_v[46]_conn_request)$")),
    _Rule("socket-send", True, _names(
        r"(?:tcp_sendmsg\w*|tcp_sendpage\w*|do_tcp_sendpages|sk_stream_alloc_skb|tcp_stream_alloc_skb"
        r"|sock_alloc_send_\w+|sock_sendmsg\w*|sock_write_iter|udp_sendmsg|udpv6_sendmsg"
        r"|ip_append_data|ip6_append_data|unix_stream_sendmsg|unix_dgram_sendmsg|netlink_sendmsg"
        r"|packet_sendmsg|raw_sendmsg|sock_wmalloc|sys_sendmsg|sys_sendto|x64_sys_send\w*"
        r"|sys_sendmmsg|sys_send|tcp_push\w*|tcp_write_xmit)$")),
    _Rule("socket-create", True, _names(
        r"(?:sk_alloc|sock_create\w*|inet6?_create|unix_create\w*|netlink_create|packet_create"
        r"|sock_alloc|sock_alloc_inode|sys_socket|x64_sys_socket|se_sys_socket|SyS_socket"
        r"|sys_socketpair)$")),
    _Rule("vmalloc", True, _names(r"(?:vmalloc\w*|vzalloc\w*|vmap_pages\w*|vm_area_alloc_pages)$")),
    _Rule("thp-compaction", True, _names(
        r"(?:khugepaged\w*|collapse_huge_page|hpage_collapse_\w+|collapse_file|compact\w*|kcompactd\w*"
        r"|do_huge_pmd\w*|do_huge_pud\w*|alloc_hugepage_vma|vma_alloc_anon_folio_pmd"
        r"|huge_pmd_\w+)$")),
    _Rule("nvme", True, _names(r"nvmet?_\w+$"),
          frozenset({"nvme", "nvme_core", "nvme_tcp", "nvme_rdma", "nvme_fc", "nvme_fabrics",
                     "nvmet", "nvmet_tcp"})),
    _Rule("device-mapper", True, _names(r"(?:dm_\w+|kcryptd\w*|crypt_\w+|alloc_io|clone_bio\w*)$"),
          frozenset({"dm_mod", "dm_crypt", "dm_thin_pool", "dm_raid", "dm_multipath", "dm_bufio",
                     "dm_snapshot", "dm_mirror", "dm_region_hash", "dm_log", "dm_cache",
                     "dm_persistent_data", "dm_integrity", "dm_verity", "dm_writecache"})),
    _Rule("xfs", True, _names(r"(?:xfs_\w+|xlog_\w+|xfsaild\w*)$"), frozenset({"xfs"})),
    _Rule("ext4", True, _names(r"(?:ext[234]_\w+|jbd2_\w+|jbd2)$"),
          frozenset({"ext4", "ext3", "ext2", "jbd2", "jbd"})),
    _Rule("btrfs", True, _names(r"btrfs_\w+$"), frozenset({"btrfs"})),
    _Rule("zfs", True, _names(
        r"(?:zio_\w+|spl_\w+|splat_\w+|kmem_alloc_debug|arc_\w+|l2arc_\w+|dbuf_\w+|dmu_\w+"
        r"|zfs_\w+|zpl_\w+|vdev_\w+|txg_\w+|zil_\w+|zvol_\w+|taskq_\w+|abd_\w+)$"),
          frozenset({"zfs", "spl", "splat", "zcommon", "znvpair", "zavl", "zunicode", "icp",
                     "zzstd", "zlua"})),
    _Rule("nfs", True, _names(
        r"(?:nfs\w*|nfsd\w*|rpc_\w+|rpcrdma_\w+|xprt_\w+|xs_\w+|svc_\w+|svc_rdma_\w+|gss_\w+)$"),
          frozenset({"nfs", "nfsv3", "nfsv4", "nfsd", "sunrpc", "rpcrdma", "auth_rpcgss", "lockd"})),
    _Rule("ceph", True, _names(r"(?:ceph_\w+|rbd_\w+)$"), frozenset({"ceph", "libceph", "rbd"})),
    _Rule("gpu", True, _names(
        r"(?:i915_\w+|intel_gt_\w+|drm_\w+|amdgpu_\w+|radeon_\w+|nouveau_\w+|ttm_\w+|nvkm_\w+"
        r"|kgd2kfd_\w+|kfd_\w+|dma_buf_\w+|vc4_\w+|v3d_\w+|virtio_gpu_\w+)$"), _GPU_MODULES),
    _Rule("wireless", True, _names(
        r"(?:ieee80211_\w+|cfg80211_\w+|nl80211_\w+|iwl\w+|ath(?:\d+k\w*|_\w+)|brcmf\w+|mt76\w*"
        # rtl8xxx is wireless except Realtek's wired chips (r8169: 8169/8168/810x/8125/8126,
        # 8139too/8139cp, r8152: 815x), corpus 157: rtl8169_rx_fill is Ethernet RX
        r"|rtw\w+|rtl8(?!1(?:69|68|0\d|2[56]|39|5\d))\w+|mwifiex_\w+|wl1271_\w+|rt2x00\w+)$"), _WIRELESS_MODULES),
    _Rule("network-receive", False, _names(
        r"(?:net_rx_action|napi_\w+|__napi_poll|netif_receive_skb\w*|netif_rx\w*|process_backlog"
        r"|gro_\w+|dev_gro_receive|napi_gro_\w+|ip_rcv\w*|ip_local_deliver\w*|ip_sublist_rcv\w*"
        r"|ip_list_rcv|ipv6_rcv|ip6_rcv\w*|ip6_input\w*|tcp_v[46]_rcv|tcp_v[46]_do_rcv"
        r"|tcp_rcv_established|tcp_rcv_state_process|tcp_data_queue\w*|tcp_collapse\w*"
        r"|tcp_prune_queue|tcp_add_backlog|udp_rcv|udp_queue_rcv_skb|udp_unicast_rcv_skb"
        r"|udp_v[46]_lib_rcv|udp4_lib_rcv|udp6_lib_rcv|sock_queue_rcv_skb\w*|br_handle_frame\w*"
        r"|try_fill_recv|add_recvbuf_\w+)$")),
    _Rule("block", False, _names(
        r"(?:blk_\w+|blkdev_\w+|submit_bio\w*|generic_make_request\w*|bio_\w+|scsi_\w+|sd_\w+"
        r"|ata_\w+|elv_\w+|dd_\w+|bfq_\w+|kyber_\w+|md_\w+|raid\d+_\w+|loop_\w+|virtio_queue_rq"
        r"|virtblk_\w+|swap_writepage|swap_readpage)$"), _STORAGE_MODULES),
    _Rule("page-cache", False, _names(
        r"(?:page_cache_\w+|pagecache_\w+|filemap_\w+|add_to_page_cache\w*|grab_cache_page\w*"
        r"|do_read_cache_\w+|read_cache_\w+|ondemand_readahead|do_page_cache_readahead|readahead_\w+"
        r"|force_page_cache_readahead|shmem_\w+|generic_perform_write|generic_file_\w+"
        r"|filemap_fault|do_sync_mmap_readahead|page_cache_ra_\w+)$")),
    _Rule("driver-init", False, _names(
        r"(?:\w+_probe\w*|do_one_initcall|do_initcalls|do_init_module|init_module|load_module"
        r"|sys_init_module|sys_finit_module|x64_sys_finit_module|driver_attach|device_attach"
        r"|bus_probe_device|really_probe|module_init)$")),
    _Rule("bonding", False, _names(r"bond_\w+$"), frozenset({"bonding"})),
)

_LABEL = {
    "network-receive": "network receive path", "tcp-accept": "TCP connection accept",
    "socket-send": "socket send path", "socket-create": "socket creation", "bonding": "bonding driver",
    "wireless": "wireless stack", "block": "block I/O path", "nvme": "NVMe driver",
    "device-mapper": "device-mapper", "xfs": "XFS", "ext4": "ext4/jbd2", "zfs": "ZFS/SPL",
    "btrfs": "Btrfs", "nfs": "NFS/SunRPC", "ceph": "Ceph", "slab-refill": "slab allocator refilling a cache",
    "vmalloc": "vmalloc", "thp-compaction": "transparent huge pages/compaction",
    "driver-init": "driver initialisation", "gpu": "GPU driver", "page-cache": "page cache",
    "unknown": "no known subsystem",
}
_SLAB_REFILL = re.compile(r"(?:allocate_slab|new_slab\w*|alloc_slab_page|kmem_getpages|cache_grow\w*"
                          r"|cache_alloc_refill|fallback_alloc|_*slab_alloc\w*)$", re.ASCII)
_BOOT = re.compile(r"(?:start_kernel|x86_64_start_\w+|kernel_init\w*|rest_init|mm_core_init)$",
                   re.ASCII)
# The idle loop: the boot CPU's idle task keeps start_kernel/rest_init at the bottom of its stack
# for ever, so with these present those frames do not mean "boot".
_IDLE = re.compile(r"(?:cpu_startup_entry|do_idle|cpu_idle\w*|default_idle\w*|arch_cpu_idle\w*"
                   r"|start_secondary|secondary_start_kernel|cpuidle_enter\w*)$", re.ASCII)
_WORKQUEUE = re.compile(r"process_one_work$", re.ASCII)
_RECLAIM = re.compile(r"(?:try_to_free_pages|do_try_to_free_pages|shrink_node\w*|balance_pgdat|kswapd)$", re.ASCII)
_KSWAPD = re.compile(r"(?:kswapd|balance_pgdat)$", re.ASCII)
_FAULT = re.compile(r"(?:handle_mm_fault|do_page_fault|do_user_addr_fault|exc_page_fault|do_mem_abort"
                    r"|do_DataAbort)$", re.ASCII)
_SYSCALL = re.compile(r"(?:system_call\w*|entry_SYSCALL\w*|do_syscall_\w+|el0_svc\w*|ret_fast_syscall"
                      r"|vector_swi|sys_\w+|SyS_\w+|x64_sys_\w+|ia32_sys_\w+|se_sys_\w+|ksys_\w+)$",
                      re.ASCII)


@record
class Origin:
    """Where a failing allocation came from: a category, the deciding frame, and plain words."""

    category: str
    frame: Frame | None
    detail: str


KSYM_NAME_LEN = 512   # longest kernel symbol (include/linux/kallsyms.h, 6.1+; 128 before)


def _key(frame: Frame) -> str:
    """The base name without leading underscores (``____i915_gem_x`` -> ``i915_gem_x``); longer
    than any kernel symbol means not a symbol, and matches nothing."""
    if len(frame.base) > KSYM_NAME_LEN:
        return "0x"
    return frame.base.lstrip("_") or frame.base


_NETWORK_RECEIVE = next(r for r in _RULES if r.category == "network-receive")


def _is_nic(frame: Frame) -> bool:
    return frame.module in _NIC_MODULES or (frame.module is None and _NIC_FUNCTION.match(_key(frame)) is not None)


def _rule_for(frame: Frame) -> _Rule | None:
    """The rule a frame matches, if any; a NIC driver's frame counts as network receive when
    its name is on the receive path (poll, rx, refill...), else it decides nothing."""
    return _rule_for_name(_key(frame), frame.module)


_DEVICE_MAPPER = next(r for r in _RULES if r.category == "device-mapper")


@functools.lru_cache(maxsize=4096)   # the same few hundred kernel functions recur in every trace
def _rule_for_name(key: str, module: str | None) -> _Rule | None:
    if key.startswith("0x") or _ALLOCATOR.match(key):
        return None
    if module is not None and module.startswith("dm_"):
        return _DEVICE_MAPPER      # every device-mapper target module is dm_* (corpus 114: dm_writeboost)
    for rule in _RULES:
        if module is not None and module in rule.modules:
            return rule
        if rule.names.match(key):
            return rule
    is_nic = module in _NIC_MODULES or (module is None and _NIC_FUNCTION.match(key) is not None)
    if is_nic and _RX_ACTION.match(key):
        return _NETWORK_RECEIVE
    return None


def _past_the_end(frame: Frame) -> bool:
    """A "?" entry whose offset equals its function's length ("? alloc_loop+0x130/0x130",
    "? zone_watermark_ok_safe+0x290/0x290"): an address just past a function, a stale word on
    the stack (a function pointer or the next function's start), never a return address."""
    if not frame.unreliable or not frame.offset or "/" not in frame.offset:
        return False
    offset, _, length = frame.offset.partition("/")
    return offset == length


def _section(frames: Sequence[Frame], reliable_only: bool) -> list[tuple[int, Frame]]:
    """Frames of the stack section the allocation ran in, down to the interrupt entry."""
    if not frames:
        return []
    context = frames[0].context
    chosen: list[tuple[int, Frame, bool]] = []   # (index, frame, an allocator step)
    deepest = -1   # the deepest allocator step chosen
    for index, frame in enumerate(frames):
        if frame.context != context:
            break
        if _past_the_end(frame):
            continue
        key = _key(frame)
        if _INTERRUPT_ENTRY.match(key) and (not frame.unreliable or not reliable_only):
            break
        if reliable_only and frame.unreliable:
            continue
        if frame.unreliable and frame.offset and frame.offset.startswith("0x0/"):
            # a function's first byte: a pointer passed as an argument (corpus 103: the callbacks
            # "? arc_write_done+0x0/0x260", "? zio_execute+0x0/0x150"), never a return address
            # (only an entry label such as ret_from_intr+0x0, which ended the section above, is)
            continue
        allocator = _ALLOCATOR.match(key) is not None
        if allocator:
            deepest = index
        chosen.append((index, frame, allocator))
    # Every frame above a real allocator frame is one of its callees, inside the allocator: a
    # "?" entry that is no allocator step but lies above a deeper allocator entry is a stale
    # word (corpus 157: "? tcp_v4_rcv" between copies of "? __netdev_alloc_skb+0x17/0x40",
    # above rtl8169_rx_fill that asked).
    return [(i, f) for i, f, allocator in chosen if not (f.unreliable and i < deepest and not allocator)]


# Filesystems reach the disk through the block layer: a block frame above a filesystem's frame
# is the I/O it submitted, and the memory was asked for there (corpus 158: virtio_blk's
# alloc_indirect under virtio_queue_rq, for ext4's readahead); the filesystem is named after it.
_FILESYSTEMS = frozenset({"xfs", "ext4", "btrfs", "zfs", "nfs", "ceph"})


def _decide(section: list[tuple[int, Frame]]) -> tuple[int, Frame, _Rule] | None:
    generic: tuple[int, Frame, _Rule] | None = None
    for index, frame in section:
        rule = _rule_for(frame)
        if rule is None:
            continue
        if rule.specific:
            if rule.category in _FILESYSTEMS and generic is not None and generic[2].category == "block":
                return generic
            return index, frame, rule
        if generic is None:
            generic = (index, frame, rule)
    return generic


def _name(frame: Frame) -> str:
    text = frame.function
    if frame.module:
        text += f" [{frame.module}]"
    if frame.unreliable:
        text += " (unreliable)"
    return text


def _where(frames: Sequence[Frame], start: int) -> str | None:
    """Where the allocating code ran, judged from the frames at and below ``start`` (only the
    reliable ones, unless the deciding frame itself is unreliable)."""
    keys = [_key(f) for f in frames[start:] if frames[start].unreliable or not f.unreliable]
    idle = any(_IDLE.match(k) for k in keys)
    checks = ((_SOFTIRQ, "softirq"), (_INTERRUPT_ENTRY, "interrupt"), (_BOOT, "boot"),
              (_KSWAPD, "kswapd reclaim"), (_RECLAIM, "direct reclaim"), (_FAULT, "page fault"),
              (_WORKQUEUE, "workqueue"),
              (_SYSCALL, "system call"))
    if frames[start].context == "nmi":
        return "NMI"
    for pattern, words in checks:
        if (pattern is not _BOOT or not idle) and any(pattern.match(k) for k in keys):
            return words
    if idle:
        return "idle task"
    if frames[start].context == "irq":
        return "interrupt"
    return None


def _first_caller(section: list[tuple[int, Frame]]) -> tuple[int, Frame] | None:
    for index, frame in section:
        key = _key(frame)
        if not key.startswith("0x") and not _ALLOCATOR.match(key) and not _NOISE.match(key):
            return index, frame
    return None


def _mentions(section: list[tuple[int, Frame]], decided_at: int, category: str) -> list[str]:
    """Notable frames below the deciding one: another specific requester, a NIC driver, bonding."""
    notes: list[str] = []
    seen: set[str] = set()
    for index, frame in section:
        if index <= decided_at:
            continue
        rule = _rule_for(frame)
        if rule is not None and rule.category != category and rule.category not in seen and (
                rule.specific or rule.category == "driver-init"):
            seen.add(rule.category)
            notes.append(f"for {_LABEL[rule.category]} ({_name(frame)})")
        elif _is_nic(frame) and "nic" not in seen and category != "network-receive":
            seen.add("nic")
            notes.append(f"under NIC driver {frame.module or _name(frame)} ({frame.function})")
    return notes


def _specific_words(frame: Frame, category: str, section: list[tuple[int, Frame]], at: int) -> str:
    below = [f for i, f in section if i > at]
    if category == "network-receive":
        if _is_nic(frame) and _REFILL.match(_key(frame)):
            driver = frame.module or frame.base.split("_")[0]
            return f"{driver} refilling its RX ring ({frame.function})"
        driver_frame = next((f for f in below if _is_nic(f)), None)
        if driver_frame is not None and not _is_nic(frame):
            driver = driver_frame.module or driver_frame.base.split("_")[0]
            return f"{_name(frame)}, under {driver} ({driver_frame.function})"
    if category == "block" and frame.module not in _STORAGE_MODULES:
        driver_frame = next((f for f in below if f.module in _STORAGE_MODULES), None)
        if driver_frame is not None:
            return f"{_name(frame)}, under storage driver {driver_frame.module} ({driver_frame.function})"
    if category in ("vmalloc", "page-cache"):
        caller = next((f for f in below if _rule_for(f) is None and not _ALLOCATOR.match(_key(f))
                       and not _key(f).startswith("0x")), None)
        if caller is not None:
            return f"{_name(frame)}, called from {_name(caller)}"
    return _name(frame)


def classify(frames: Sequence[Frame]) -> Origin:
    """Classify the origin of a failing allocation from its frames (innermost first).

    Corpus 034 (Aerospike KB, 2.6.32, every frame unreliable): a child socket cloned while
    accepting; the bonding entry between two allocator steps is a stale word, not on the path.

    >>> from minfree.logs.trace import parse_frame
    >>> lines = ["[<ffffffff8112c207>] ? __alloc_pages_nodemask+0x757/0x8d0",
    ...          "[<ffffffffa0228ff9>] ? bond_3ad_xmit_xor+0x1c9/0x220 [bonding]",
    ...          "[<ffffffff81166ab2>] ? kmem_getpages+0x62/0x170",
    ...          "[<ffffffff8143ae32>] ? sk_clone+0x22/0x2e0",
    ...          "[<ffffffff814a046d>] ? tcp_v4_syn_recv_sock+0x4d/0x310",
    ...          "[<ffffffff8148a70f>] ? inet_csk_accept+0x8f/0x240"]
    >>> o = classify([parse_frame(line) for line in lines])
    >>> o.category, o.frame.function
    ('tcp-accept', 'sk_clone')
    >>> o.detail
    'TCP connection accept: sk_clone (unreliable)'
    >>> classify([]).detail
    'the log has no call trace for this report'
    """
    frames = list(frames)
    return _classify(frames, _section(frames, True))


def _classify(frames: list[Frame], reliable: list[tuple[int, Frame]]) -> Origin:
    """:func:`classify`, given the reliable frames of the allocation's stack section."""
    if not frames:
        return Origin("unknown", None, "the log has no call trace for this report")
    every: list[tuple[int, Frame]] | None = None   # _section(frames, False), made when asked
    section, decided = reliable, _decide(reliable)
    if decided is None:
        section = every = _section(frames, False)
        decided = _decide(section)
    caller = _first_caller(reliable)
    helpers = [(i, f) for i, f in reliable if _RX_HELPER.match(_key(f)) and (caller is None or i < caller[0])]
    if decided is not None:
        index, frame, rule = decided
        # a generic receive-path frame below the caller of an RX helper: that caller is the driver
        # that asked, known to the rules or not (corpus 160: ipoib_cm_handle_rx_wc [ib_ipoib]
        # above net_rx_action)
        if not (helpers and caller is not None and rule.category == "network-receive" and caller[0] < index):
            return Origin(rule.category, frame, _detail(frames, section, index, frame, rule.category))
    if helpers:
        # an RX buffer: the driver's refill/rx function below names itself, or the trace was cut
        # right after the helper (corpus 100: swapper in __napi_alloc_skb)
        helper = helpers[-1][1]
        index, frame = caller if caller is not None else helpers[-1]
        words = (f"{_name(frame)}, allocating an RX buffer ({helper.function})" if caller is not None
                 else f"an RX buffer from {helper.function} (the trace ends there)")
        where = _where(frames, index)
        return Origin("network-receive", frame,
                      f"{_LABEL['network-receive']}{f' ({where})' if where else ''}: {words}")
    if every is None:
        every = _section(frames, False)
    refill = next(((i, f) for i, f in reliable if _SLAB_REFILL.match(_key(f))), None)
    if refill is not None:
        index, frame = refill
        return Origin("slab-refill", frame, _detail(frames, reliable, index, frame, "slab-refill",
                                                    _first_caller(every)))
    caller = caller or _first_caller(every)
    if caller is None:
        return Origin("unknown", None, "no frame outside the allocator")
    index, frame = caller
    return Origin("unknown", frame, _detail(frames, every, index, frame, "unknown"))


def origin_and_reclaim(frames: tuple[Frame, ...]) -> tuple[Origin, bool]:
    """:func:`classify` and :func:`in_reclaim` of one trace, made once per distinct trace: both
    are pure functions of the frames (frozen), and a host's reports repeat the same few traces
    (addresses aside, which frames do not keep)."""
    trace = _Trace(map(_FRAME_VALUES, frames))
    trace.frames = frames
    return _origin_and_reclaim(trace)


_FRAME_VALUES = field_values(Frame)   # every field of a frame is compared


class _Trace(tuple):
    """The key of a trace's memo: its frames' values, hashed and compared in C (a Frame's hash
    and equality are Python calls, ~20 a trace), carrying the frames themselves."""

    frames: tuple[Frame, ...]


@functools.lru_cache(maxsize=1024)
def _origin_and_reclaim(trace: _Trace) -> tuple[Origin, bool]:
    frames = list(trace.frames)
    reliable = _section(frames, True)   # what both read
    return _classify(frames, reliable), _reclaiming(reliable)


def in_reclaim(frames: Sequence[Frame]) -> bool:
    """The allocation was made by reclaim itself, in process context (kswapd, or a task in
    direct reclaim): both run with PF_MEMALLOC, which gfp_pfmemalloc_allowed() turns into
    ALLOC_NO_WATERMARKS outside interrupts (mm/page_alloc.c 3.x-6.18). Corpus 147: kswapd0
    reading swap (__read_swap_cache_async) under balance_pgdat."""
    return _reclaiming(_section(frames, True))


def _reclaiming(section: list[tuple[int, Frame]]) -> bool:
    """:func:`in_reclaim`, given the reliable frames of the allocation's stack section."""
    if not section or section[0][1].context in ("irq", "nmi"):
        return False
    return any(_RECLAIM.match(_key(f)) for _, f in section)


def is_rx_buffer(origin: Origin, frames: Sequence[Frame]) -> bool:
    """The allocation was a driver's receive buffer: the deciding frame is a NIC driver's, or an
    skb/page-fragment RX helper sits above it. Not the TCP layer rebuilding its queue (corpus
    002: tcp_collapse under tg3_poll copies data into new skbs; no RX ring buffer is sized there)."""
    if origin.category != "network-receive" or origin.frame is None:
        return False
    if _is_nic(origin.frame):
        return True
    above = frames[:frames.index(origin.frame)] if origin.frame in frames else []
    return any(_RX_HELPER.match(_key(f)) for f in above)


def _detail(frames: Sequence[Frame], section: list[tuple[int, Frame]], index: int, frame: Frame,
            category: str, caller: tuple[int, Frame] | None = None) -> str:
    where = _where(frames, index)
    label = _LABEL[category] + (f" ({where})" if where else "")
    if category == "slab-refill":
        words = f"{frame.function}"
        if caller is not None:
            words += f", for {_name(caller[1])}"
        return f"{label}: {words}"
    if category == "unknown":
        return f"{label}: first caller outside the allocator is {_name(frame)}"
    words = _specific_words(frame, category, section, index)
    notes = _mentions(section, index, category)
    first = _first_caller(section)
    if first is not None and first[0] < index and category in ("block", "page-cache", "driver-init", "bonding"):
        notes.insert(0, f"allocation made in {_name(first[1])}")
    bonding = next((f for _, f in section if _key(f).startswith("bond_") or f.module == "bonding"), None)
    if bonding is not None and category != "bonding":
        notes.append(f"bonding in the path: {_name(bonding)}")
    return f"{label}: {words}" + "".join(f"; {n}" for n in notes)

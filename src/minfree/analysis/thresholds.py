"""Every threshold minfree judges by (doctor findings, tune sizing, scan advice), with its
reason. Heuristics are labelled so.

Kernel facts are cited; the rest are heuristics chosen for hosts that run latency-sensitive
network services, where an atomic allocation failure costs a dropped packet or connection.
"""
from __future__ import annotations

from minfree.model.rules import PAGE_ALLOC_COSTLY_ORDER

# min_free_kbytes above this share of memory is dangerous: the kernel documentation says a
# too-high value "will OOM your machine instantly"; the RHEL 6 tuning guide names 5-10 % of
# memory (reference kernel-memory.md §5.1, §5.3). doctor warns above it; tune refuses to
# propose more unless --force.
MIN_FREE_WARN_SHARE = 0.05
MIN_FREE_CRIT_SHARE = 0.10

# kswapd woken again within its HZ/10 nap (kswapd_low_wmark_hit_quickly): the kernel's own
# documentation of watermark_scale_factor names a high rate of it, or of allocstall, as the
# sign that the free memory kswapd keeps is too small for the allocation bursts (§5.1).
# Heuristic: more than one a second sustained over the window.
LOW_WMARK_HIT_PER_SEC = 1.0
# Heuristic: any direct-reclaim stall in the window means blocking allocations already wait.
ALLOCSTALL_PER_SEC = 0.0

# Failed page allocations counted in the kernel (doctor's window, no flags or call sites known),
# judged by the smallest failed order. Order 0 has no smaller block to fall back on: the
# caller fails (a dropped packet, an -ENOMEM): critical. Orders 1..PAGE_ALLOC_COSTLY_ORDER
# are the ones the allocator treats as "not costly" and retries hard for blocking callers
# (mm/page_alloc.c __alloc_pages_slowpath, 6.1-6.18): a failure there is a non-blocking
# caller or real fragmentation (jumbo receive buffers, slab refills): warning. Above
# PAGE_ALLOC_COSTLY_ORDER the kernel itself expects failures (THP, the hugetlb pool and
# kvmalloc's large tries have fallbacks): info, a fragmentation signal.
# Heuristic in the last two: only `minfree trace` classifies each failure.
FAILED_ORDER_CRITICAL_MAX = 0
FAILED_ORDER_WARNING_MAX = PAGE_ALLOC_COSTLY_ORDER

# doctor judges the kernel log's failure reports of the last hour only (--since overrides): it
# answers "is this host failing now", by hand or from a monitoring check run every few minutes,
# and one old report no longer keeps a host CRITICAL for the rest of its boot. Heuristic; older
# reports are still counted and the last one dated.
RECENT_FAILURES_SECONDS = 3600

# Heuristic: compaction that fails more often than it succeeds cannot rebuild high-order blocks.
COMPACT_FAIL_SHARE = 0.5

# PSI memory "some" avg10 (percent of time at least one task stalled on memory). Heuristic
# levels: 10 % is a host visibly slowed by reclaim; "full" 5 % is every task stalled at once.
PSI_SOME_WARN = 10.0
PSI_FULL_CRIT = 5.0

# vm.swappiness 0 makes the kernel avoid swap until free+file pages fall under the high
# watermark; RHEL warns it raises the risk of OOM kills (§5.1). Heuristic: above 100 (5.8+
# allows 0-200) swap is preferred over page cache, unusual for a database host.
SWAPPINESS_HIGH = 100
# The one swappiness rule doctor and every tune profile follow: never advise 0 (the OOM risk
# above), and where swap should be a last resort (Aerospike's page: "swap off or swappiness=0")
# advise this value instead: anonymous pages are still swapped rather than OOM-killed, but only
# under real pressure. Heuristic: the smallest value that is not 0.
SWAPPINESS_LAST_RESORT = 1
SWAPPINESS_ZERO_RISK = ("0 avoids swap until free and file pages fall under the high watermark; "
                        "Red Hat warns this raises the risk of OOM kills (RHEL 6.4+ note)")
# vm.vfs_cache_pressure 0 never reclaims dentries/inodes, which "can easily lead to
# out-of-memory conditions" (Documentation/admin-guide/sysctl/vm.rst). Heuristic high end:
# above 1000 the kernel drops metadata caches ten times faster than its default.
VFS_CACHE_PRESSURE_HIGH = 1000

# Page cache crowding (the classic cause): heuristic. Free memory within this factor of the
# sum of the low watermarks while file pages take more than CACHE_SHARE of memory: kswapd
# reclaims right at the edge and a burst of atomic allocations meets an empty reserve.
CROWDED_FREE_FACTOR = 2.0
CACHE_SHARE = 0.5

# NUMA imbalance: heuristic. Free share of two nodes differing by more than this many points.
NUMA_FREE_SPREAD = 0.30

# A zone whose unusable index for the order a request needs is above this has (almost) all
# its free memory in smaller blocks: heuristic level for "scarce high-order blocks".
UNUSABLE_HIGH = 900  # thousandths, as mm/vmstat.c prints them

# High-order depletion (doctor): orders up to PAGE_ALLOC_COSTLY_ORDER (3, include/linux/mmzone.h)
# are the ones the kernel treats as cheap and expected to succeed: SLUB builds slabs up to this
# order by default (slub_max_order, mm/slub.c), kmalloc-8k needs at least order 1, and the
# network stack's page-frag refill tries order 3 first. Heuristic level: the min watermark is
# the reserve the kernel keeps for requests that cannot wait, and an order-N request can use
# only the part of free memory in blocks of order >= N. When the order-N requests the free
# lists can still serve (the depth, model/depth.py) hold fewer pages than the unboosted min
# watermarks of the zones that serve them, while order-0 memory exceeds it, the reserve is
# there for order-0 requests only: a burst of order-N atomic allocations fails next although
# free memory looks ample.
DEPLETION_ORDERS = tuple(range(1, PAGE_ALLOC_COSTLY_ORDER + 1))

# Standard Ethernet MTU: a larger one is a jumbo frame (tune adds a reserve step for it).
STANDARD_MTU = 1500

# skb head for a received frame: MTU plus NET_SKB_PAD, NET_IP_ALIGN and struct
# skb_shared_info (about 320 bytes on x86-64), rounded up to a power of two by the page
# allocator once it exceeds the slab's largest kmalloc cache (8 KiB, reference §5.5).
SKB_OVERHEAD_BYTES = 64 + 2 + 320
KMALLOC_MAX_CACHE = 8192


# The kernel computes its default min_free_kbytes at boot, before initrd and init memory are
# freed; predicted from today's managed pages, the square-root rule and the THP 5 % cap come
# out slightly higher (25-450 kB on Debian 6.1/6.12 guests, tests/fixtures/distro). Only a
# value more than this share below the prediction is "below the default".
DEFAULT_SLACK = 0.02


# --- tune: kernel ranges -------------------------------------------------------------------------
#: min_free_kbytes_sysctl_handler: proc_dointvec_minmax with extra1 = SYSCTL_ZERO, no extra2
#: (6.18 mm/page_alloc.c, reference §1.2): 0 .. INT_MAX.
MIN_FREE_KERNEL_RANGE = (0, 2**31 - 1)
#: watermark_scale_factor: extra1 = SYSCTL_ONE; extra2 = 1000 in 4.6-5.x, 3000 in 6.1+ (§2.2);
#: the upper end comes from KernelRules.watermark_scale_factor_max.
WSF_KERNEL_MIN = 1

# --- tune: Safety caps (refused above unless --force) --------------------------------------------
#: kswapd keeps every zone above HIGH, so Σ HIGH is memory taken from the page cache and from
#: MemAvailable (§2.6). HIGH >= 1.5 x MIN, so twice the MIN share bounds it.
SAFE_HIGH_SHARE = 0.10

# --- tune: Evidence thresholds -------------------------------------------------------------------
#: NICs at or above 10 Gb/s deliver receive bursts faster than kswapd reacts.
FAST_NIC_MBPS = 10_000
#: Time kswapd needs to wake up and reclaim its first batch; the kswapd lead (LOW - MIN) must
#: hold this long at line rate (§5.6, W_lead >= R_atomic * T_kswapd). An engineering estimate.
KSWAPD_REACTION_SECONDS = 0.010
#: Share of MIN that only non-sleeping __GFP_HIGH callers reach (6.x: min lowered by 1/2, then
#: 1/4 more, so W_atomic = MIN - 0.375 MIN; §5.6). Sizes min_free_kbytes from measured demand.
ATOMIC_WINDOW_SHARE_OF_MIN = 0.625
#: After atomic failures in the log kswapd demonstrably fell behind: keep 1 % of every zone
#: between MIN and LOW (10x the default 0.1 %; oled memstate only flags values above 100).
WSF_AFTER_ATOMIC_FAILURES = 100
#: Steps of the kernel documentation's increment added per piece of evidence.
STEPS_JUMBO = 1
STEPS_ORDER2_MTU = 1
STEPS_FAST_NIC = 1
STEPS_ATOMIC_ORDER0 = 1
STEPS_ATOMIC_HIGH_ORDER = 2
#: Aerospike best practices (§5.2): "at least 1.1GB, preferably 1.25GB if using cloud vendor
#: drivers", i.e. 1.1 * 1048576 kB rounded up, and 1310720 kB.
AEROSPIKE_MIN_FREE_KB = 1_153_434
AEROSPIKE_CLOUD_MIN_FREE_KB = 1_310_720
#: Network drivers of cloud vendors (AWS ENA, Google gVNIC, Azure netvsc and MANA).
CLOUD_NIC_DRIVERS = frozenset({"ena", "gve", "hv_netvsc", "mana"})

# --- fleet (minfree fleet): which node stands out from its peers ----------------------------
#: Heuristic: a setting is compared only when a strict majority of at least this many
#: answering nodes agree on one value (two nodes have no majority to differ from).
FLEET_MIN_NODES = 3
#: Heuristic: "far less headroom": a node whose free memory above the low watermarks, as a
#: share of its managed memory, is under a quarter of the fleet's median share.
FLEET_HEADROOM_FRACTION = 0.25
#: The order whose unusable index the fleet table shows: PAGE_ALLOC_COSTLY_ORDER
#: (include/linux/mmzone.h), the largest order the kernel tries hard for, and the order
#: of a 9000-byte jumbo frame's receive buffer with 4 KiB pages.
FLEET_FRAGMENTATION_ORDER = 3

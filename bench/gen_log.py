"""Generate a large, realistic kernel log with sparse page allocation failures.

Usage::

    python bench/gen_log.py --size 1G --failures 200 --format dmesg --seed 1 --out F [--gzip]

Writes F (about --size bytes, never more), F.truth.json (the ground truth a scanner must
reproduce) and, with --gzip, F.gz (the same bytes gzip-compressed, for zgrep comparisons).

Speed: the bulk of the file is made from a pool of pre-rendered blocks of ordinary kernel
lines (NIC link changes, filesystem mounts, audit, usb, TCP, systemd, workqueue...). Each
block carries placeholder bytes for the uptime/wall-clock seconds, so stamping a block with
increasing time is a few C-level ``bytes.replace`` calls, not a Python loop over lines.

Failure reports ("events") and related non-events (OOM killer, SLUB, TCP out of memory,
"callbacks suppressed", allocation stalls) are synthesised per kernel era, modelled on the
formats printed by mm/page_alloc.c (warn_alloc_failed() in 2.6.32-4.8, warn_alloc() from
4.9) and show_free_areas()/show_mem() of the same releases, and inserted between blocks at
random positions. Their 1-based line numbers go to the truth sidecar::

    {"events": [{"line": N, "process": str, "order": int, "mode": str, ...}],
      "related": {"oom_kill": [N, ...], "slab_failure": [...], "tcp_out_of_memory": [...],
                 "suppressed_reports": [...], "alloc_stall": [...]},
     "suppressed_callbacks": total N of all "warn_alloc: N callbacks suppressed" lines}

Some 6.x failure reports are preceded by their own "warn_alloc: N callbacks suppressed"
line; it is listed under related["suppressed_reports"] too.

``mode`` is the text after ``mode:`` on the failure line, as printed (the same convention
as /work/shared/corpus/truth.json).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("dmesg", "syslog", "journal-json")

# Placeholders stamped per block (never appear in generated text).
PH_UPTIME_PADDED = b"\x01"  # "%5d" uptime seconds, dmesg style
PH_UPTIME = b"\x02"  # "%d" uptime seconds (journal monotonic)
PH_EPOCH = b"\x03"  # epoch seconds (journal realtime)
PH_WALL = b"\x04"  # "Nov 25 22:49:50" (syslog)

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
BOOT_EPOCH = 1_732_560_590  # 2024-11-25 18:49:50 UTC: the wall clock at uptime 0
HOSTNAME = "db-node07"
BOOT_ID = "3f0d2c6a8e9b4b71a5d6c2e1f4a7b903"
MACHINE_ID = "9c1e5b7d2a4f4e08b6c3d1a2e5f7c940"

BLOCK_TARGET_BYTES = 32 * 1024
TEMPLATE_COUNT = 192
WRITE_CHUNK_BYTES = 8 * 1024 * 1024
GENERATOR_VERSION = 3  # bump when the output for a given seed changes (bench reuse check)
RELATED_KINDS = ("oom_kill", "slab_failure", "tcp_out_of_memory", "suppressed_reports", "alloc_stall")


def parse_size(text: str) -> int:
    """Parse a size with an optional binary K/M/G suffix.

    >>> parse_size("2M"), parse_size("1G"), parse_size("512"), parse_size("1.5k")
    (2097152, 1073741824, 512, 1536)
    """
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


# ----------------------------------------------------------------------------- formats


def format_record(fmt: str, usec: int, message: str, priority: int = 6) -> str:
    """One log record as one or more file lines, with placeholder seconds.

    A record may hold several lines (show_free_areas() prints its summary with one
    printk containing newlines): dmesg/syslog give each line the record's prefix, the
    journal keeps them in one MESSAGE.

    >>> format_record("dmesg", 42, "eth0: link up")
    '[\\x01.000042] eth0: link up\\n'
    """
    if fmt == "dmesg":
        prefix = f"[\x01.{usec:06d}] "
        return "".join(prefix + line + "\n" for line in message.split("\n"))
    if fmt == "syslog":
        prefix = f"\x04 {HOSTNAME} kernel: [\x01.{usec:06d}] "
        return "".join(prefix + line + "\n" for line in message.split("\n"))
    mono = f"\x02{usec:06d}"
    return (
        f'{{"__REALTIME_TIMESTAMP":"\x03{usec:06d}","__MONOTONIC_TIMESTAMP":"{mono}",'
        f'"_BOOT_ID":"{BOOT_ID}","_TRANSPORT":"kernel","PRIORITY":"{priority}",'
        f'"SYSLOG_FACILITY":"0","SYSLOG_IDENTIFIER":"kernel","_MACHINE_ID":"{MACHINE_ID}",'
        f'"_HOSTNAME":"{HOSTNAME}","_SOURCE_MONOTONIC_TIMESTAMP":"{mono}",'
        f'"MESSAGE":{json.dumps(message)}}}\n'
    )


def stamp(block: bytes, fmt: str, uptime: int) -> bytes:
    """Replace the placeholder seconds of a rendered block by real ones."""
    if fmt == "dmesg":
        return block.replace(PH_UPTIME_PADDED, b"%5d" % uptime)
    epoch = BOOT_EPOCH + uptime
    if fmt == "syslog":
        tm = time.gmtime(epoch)
        wall = b"%s %2d %02d:%02d:%02d" % (
            MONTHS[tm.tm_mon - 1].encode(), tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
        return block.replace(PH_WALL, wall).replace(PH_UPTIME_PADDED, b"%5d" % uptime)
    return block.replace(PH_EPOCH, b"%d" % epoch).replace(PH_UPTIME, b"%d" % uptime)


def render_records(fmt: str, rng: random.Random, messages: list[str], priority: int = 4) -> bytes:
    """Render consecutive records a few microseconds apart within one second."""
    usec = rng.randrange(0, 400_000)
    out = []
    for message in messages:
        usec += rng.randrange(1, 60)
        out.append(format_record(fmt, usec, message, priority))
    return "".join(out).encode()


# ----------------------------------------------------------------------------- noise

IFACES = ("eth0", "eth1", "eno1", "ens3f0", "enp59s0f1", "bond0")
DISKS = ("sda1", "sdb2", "nvme0n1p1", "nvme1n1", "dm-0", "dm-3", "md127")
SERVICES = ("logrotate.service", "sysstat-collect.service", "apt-daily.service",
            "fstrim.service", "man-db.service", "certbot.timer", "session-4211.scope")
COMMS = ("java", "mysqld", "redis-server", "nginx", "asd", "postgres", "python3",
         "containerd", "dockerd", "sshd", "ceph-osd", "kafka-network-t", "etcd")


def noise_line(rng: random.Random) -> str:
    """One ordinary kernel line (never mentions allocation failures or OOM)."""
    r = rng.randrange
    iface = rng.choice(IFACES)
    disk = rng.choice(DISKS)
    choices = (
        lambda: f"e1000e: {iface} NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
        lambda: f"e1000e: {iface} NIC Link is Down",
        lambda: f"ixgbe 0000:{r(1, 0x80):02x}:00.{r(2)} {iface}: NIC Link is Up 10 Gbps, Flow Control: RX/TX",
        lambda: f"mlx5_core 0000:{r(1, 0x80):02x}:00.{r(2)} {iface}: Link up",
        lambda: f"IPv6: ADDRCONF(NETDEV_CHANGE): {iface}: link becomes ready",
        lambda: f"bond0: (slave {iface}): link status definitely up, 10000 Mbps full duplex",
        lambda: f"EXT4-fs ({disk}): mounted filesystem with ordered data mode. Opts: (null)",
        lambda: f"EXT4-fs ({disk}): re-mounted. Opts: errors=remount-ro",
        lambda: f"XFS ({disk}): Mounting V5 Filesystem",
        lambda: f"XFS ({disk}): Ending clean mount",
        lambda: f"XFS ({disk}): Unmounting Filesystem",
        lambda: (f"audit: type=1400 audit({BOOT_EPOCH + r(10**6)}.{r(1000):03d}:{r(1, 99999)}): "
                 f'apparmor="DENIED" operation="open" profile="snap.lxd.daemon" '
                 f'name="/proc/{r(100, 99999)}/mounts" pid={r(100, 99999)} comm="{rng.choice(COMMS)}" '
                 f'requested_mask="r" denied_mask="r" fsuid=0 ouid=0'),
        lambda: f"audit: type=1325 audit({BOOT_EPOCH + r(10**6)}.{r(1000):03d}:{r(1, 99999)}): table=filter family=2 entries={r(1, 400)} op=xt_replace pid={r(100, 99999)} comm=\"iptables\"",
        lambda: f"kauditd_printk_skb: {r(2, 40)} callbacks suppressed",
        lambda: f"usb {r(1, 4)}-{r(1, 9)}: new high-speed USB device number {r(2, 30)} using xhci_hcd",
        lambda: f"usb {r(1, 4)}-{r(1, 9)}: USB disconnect, device number {r(2, 30)}",
        lambda: f"usb {r(1, 4)}-{r(1, 9)}: New USB device found, idVendor=0781, idProduct=5583, bcdDevice= 1.00",
        lambda: f"TCP: request_sock_TCP: Possible SYN flooding on port {rng.choice((80, 443, 3000, 6379, 9092))}. Sending cookies.  Check SNMP counters.",
        lambda: "nf_conntrack: nf_conntrack: table full, dropping packet",
        lambda: f"net_ratelimit: {r(2, 300)} callbacks suppressed",
        lambda: f"systemd[1]: Started {rng.choice(SERVICES)}.",
        lambda: f"systemd[1]: {rng.choice(SERVICES)}: Succeeded.",
        lambda: f"systemd-journald[{r(300, 900)}]: Data hash table of /run/log/journal/{BOOT_ID}/system.journal has a fill level at 75.0 ({r(3000, 9000)} of {r(9000, 12000)} items, 6291456 file size, 746 bytes per hash table item), suggesting rotation.",
        lambda: f"workqueue: events_freezable_power_ hogged CPU for >10000us {r(4, 64)} times, consider switching to WQ_UNBOUND",
        lambda: f"perf: interrupt took too long ({r(2501, 9000)} > 2500), lowering kernel.perf_event_max_sample_rate to {r(20, 79) * 1000}",
        lambda: f"docker0: port {r(1, 30)}(veth{r(0x1000000, 0xfffffff):07x}) entered forwarding state",
        lambda: f"device veth{r(0x1000000, 0xfffffff):07x} entered promiscuous mode",
        lambda: f"sd {r(0, 4)}:0:0:0: [sd{rng.choice('abcd')}] Synchronizing SCSI cache",
        lambda: f"nvme nvme{r(0, 4)}: {r(8, 64)}/0/0 default/read/poll queues",
        lambda: f"scsi_io_completion_action: {r(2, 9)} callbacks suppressed",
        lambda: f"blk_update_request: I/O error, dev sd{rng.choice('abcd')}, sector {r(10**6, 10**9)} op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 0",
        lambda: f"[UFW BLOCK] IN={iface} OUT= MAC=52:54:00:{r(256):02x}:{r(256):02x}:{r(256):02x} SRC=10.{r(256)}.{r(256)}.{r(256)} DST=10.0.0.7 LEN={r(40, 1500)} TOS=0x00 PREC=0x00 TTL={r(32, 64)} ID={r(65536)} DF PROTO=TCP SPT={r(1024, 65535)} DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0",
        lambda: f"kvm: {r(100, 9999)}: cpu{r(0, 32)} unhandled rdmsr: 0x{r(0x10, 0x700):x}",
        lambda: f"EDAC MC{r(0, 2)}: 1 CE memory read error on CPU_SrcID#{r(0, 2)}_Ha#0_Chan#{r(0, 4)}_DIMM#0 (channel:{r(0, 4)} slot:0 page:0x{r(0x10000, 0xfffff):x} offset:0x0 grain:32 syndrome:0x0)",
        lambda: f"{rng.choice(COMMS)}[{r(100, 99999)}]: segfault at {r(1, 2**40):x} ip {r(2**46, 2**47):016x} sp {r(2**46, 2**47):016x} error 4 in libc.so.6[{r(2**46, 2**47):x}+195000]",
        lambda: f"cgroup: fork rejected by pids controller in /system.slice/{rng.choice(SERVICES)}",
        lambda: f"rcu: INFO: rcu_sched detected expedited stalls on CPUs/tasks: {{ {r(0, 32)}-... }} {r(21000, 90000)} jiffies s: {r(1000, 9999)} root: 0x1/.",
        lambda: f"hrtimer: interrupt took {r(10000, 900000)} ns",
        lambda: f"clocksource: timekeeping watchdog on CPU{r(0, 32)}: Marking clocksource 'tsc' as unstable because the skew is too large:",
        lambda: f"ata{r(1, 8)}.00: configured for UDMA/133",
    )
    return rng.choice(choices)()


def build_templates(fmt: str, rng: random.Random, count: int) -> list[tuple[bytes, int]]:
    """Pre-render `count` blocks of ordinary lines: (bytes with placeholders, lines)."""
    pool = [noise_line(rng) for _ in range(min(3000, count * 100))]
    templates = []
    for _ in range(count):
        lines: list[str] = []
        size = 0
        while size < BLOCK_TARGET_BYTES:
            line = rng.choice(pool)
            lines.append(line)
            size += len(line) + 40
        usecs = sorted(rng.sample(range(1_000_000), len(lines)))
        text = "".join(format_record(fmt, u, line, 6) for u, line in zip(usecs, lines))
        templates.append((text.encode(), len(lines)))
    return templates


# ----------------------------------------------------------------------------- eras


@dataclass(frozen=True, slots=True)
class Era:
    """How one kernel generation prints a failure report (mm/page_alloc.c of that release)."""

    name: str
    release: str
    modes: tuple[str, ...]  # "mode:" text as printed, chosen per event


ERAS = (
    # 2.6.32 __alloc_pages_slowpath(): "%s: page allocation failure. order:%d, mode:0x%x"
    Era("2.6.32", "2.6.32-754.35.1.el6.x86_64 #1",
        ("0x20", "0x20", "0x4020", "0xd0", "0x40d0", "0x50")),
    # 3.x warn_alloc_failed(): "%s: page allocation failure: order:%d, mode:0x%x"
    Era("3.10", "3.10.0-1160.45.1.el7.x86_64 #1",
        ("0x20", "0x4020", "0x204020", "0xd0", "0x10d0", "0x200da")),
    # 4.9 warn_alloc(): "... order:%u, mode:%#x(%pGg)" (layout: GFP_ATOMIC=0x2080020)
    Era("4.9", "4.9.0-13-amd64 #1 Debian 4.9.228-1",
        ("0x2080020(GFP_ATOMIC)", "0x2080020(GFP_ATOMIC)", "0x2284020(GFP_ATOMIC|__GFP_COMP|__GFP_NOTRACK)",
         "0x24040c0(GFP_KERNEL|__GFP_COMP)", "0x2000000(GFP_NOWAIT)")),
    # 5.x warn_alloc(): "..., nodemask=%*pbl" + cpuset_print_current_mems_allowed()
    Era("5.4", "5.4.0-150-generic #167-Ubuntu",
        ("0xa20(GFP_ATOMIC)", "0xa20(GFP_ATOMIC)", "0x40a20(GFP_ATOMIC|__GFP_COMP)",
         "0x40cc0(GFP_KERNEL|__GFP_COMP)", "0x800(GFP_NOWAIT)", "0xdc0(GFP_KERNEL|__GFP_ZERO)")),
    # 6.x: __GFP_ATOMIC gone (<= 6.5), GFP_ATOMIC = 0x820
    Era("6.6", "6.6.58-1.el9.x86_64 #1",
        ("0x820(GFP_ATOMIC)", "0x820(GFP_ATOMIC)", "0x40820(GFP_ATOMIC|__GFP_COMP)",
         "0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)", "0x40cc0(GFP_KERNEL|__GFP_COMP)")),
)

HARDWARE = (
    "Dell Inc. PowerEdge R740/0WRPXK, BIOS 2.12.2 07/09/2021",
    "HPE ProLiant DL380 Gen10/ProLiant DL380 Gen10, BIOS U30 05/21/2021",
    "Supermicro SYS-2029U-TR4/X11DPU, BIOS 3.4 10/20/2020",
    "Amazon EC2 r5.2xlarge/, BIOS 1.0 10/16/2017",
    "QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.0-debian-1.16.0-5 04/01/2014",
)

# Call paths (innermost first, after the allocator frames). "?" marks unreliable frames.
PATHS = {
    "net_rx": ("skb_page_frag_refill+0xd4/0x100", "?DRV_alloc_rx_buffers+0x1a2/0x2f0 [DRV]",
               "DRV_poll+0x31f/0x6c0 [DRV]", "net_rx_action+0x140/0x3c0", "__do_softirq+0xe4/0x2da",
               "irq_exit+0xae/0xb0", "do_IRQ+0x59/0xe0", "common_interrupt+0xf/0xf", "</IRQ>",
               "?cpuidle_enter_state+0xbc/0x420", "do_idle+0x1d9/0x260", "cpu_startup_entry+0x19/0x20",
               "start_secondary+0x15f/0x1b0", "secondary_startup_64+0xa4/0xb0"),
    "tcp_accept": ("kmem_cache_alloc+0x1c5/0x520", "sk_prot_alloc+0x30/0x120", "sk_clone_lock+0x23/0x2f0",
                   "inet_csk_clone_lock+0x16/0xd0", "tcp_create_openreq_child+0x23/0x450",
                   "tcp_v4_syn_recv_sock+0x4d/0x310", "tcp_check_req+0x226/0x460", "tcp_v4_rcv+0x9a1/0xad0",
                   "ip_local_deliver_finish+0x62/0x200", "ip_rcv+0x2cb/0x52b", "__netif_receive_skb_core+0x52e/0xb10",
                   "netif_receive_skb_internal+0x34/0xe0", "napi_gro_receive+0xb8/0xe0",
                   "DRV_poll+0x31f/0x6c0 [DRV]", "net_rx_action+0x140/0x3c0", "__do_softirq+0xe4/0x2da",
                   "irq_exit+0xae/0xb0", "do_IRQ+0x59/0xe0", "common_interrupt+0xf/0xf", "</IRQ>"),
    "tcp_send": ("__alloc_skb+0x82/0x1e0", "sk_stream_alloc_skb+0x3d/0x1c0", "tcp_sendmsg_locked+0x4f5/0xe60",
                 "tcp_sendmsg+0x27/0x40", "inet_sendmsg+0x3e/0xf0", "sock_sendmsg+0x3e/0x50",
                 "__sys_sendto+0x113/0x190", "?__sys_recvfrom+0xe6/0x170", "__x64_sys_sendto+0x24/0x30",
                 "do_syscall_64+0x5b/0x1a0", "entry_SYSCALL_64_after_hwframe+0x44/0xa9"),
    "nvme": ("new_slab+0x2ec/0x300", "___slab_alloc+0x3a1/0x5b0", "__slab_alloc+0x1c/0x30",
             "__kmalloc+0x1c8/0x230", "?nvme_pci_setup_prps+0x7d/0x330 [nvme]", "nvme_map_data+0x1c5/0x330 [nvme]",
             "nvme_queue_rq+0x90/0x1e0 [nvme]", "blk_mq_dispatch_rq_list+0x93/0x590",
             "__blk_mq_do_dispatch_sched+0x112/0x2e0", "blk_mq_sched_dispatch_requests+0x105/0x150",
             "__blk_mq_run_hw_queue+0x5b/0xc0", "blk_mq_run_work_fn+0x1b/0x20", "process_one_work+0x20f/0x400",
             "worker_thread+0x34/0x410", "kthread+0x121/0x140", "?process_one_work+0x400/0x400",
             "ret_from_fork+0x35/0x40"),
    "xfs": ("alloc_pages_current+0x6a/0xe0", "xfs_buf_allocate_memory+0x1c4/0x2d0 [xfs]",
            "xfs_buf_get_map+0x12b/0x1d0 [xfs]", "xfs_buf_read_map+0x2b/0x1c0 [xfs]",
            "xfs_trans_read_buf_map+0xd9/0x2e0 [xfs]", "xfs_da_read_buf+0xd0/0x110 [xfs]",
            "xfs_dir3_data_read+0x23/0x60 [xfs]", "xfs_dir2_leafn_lookup_for_entry+0x1c1/0x300 [xfs]",
            "xfs_dir_lookup+0x1a8/0x1c0 [xfs]", "xfs_lookup+0x7b/0x110 [xfs]", "xfs_vn_lookup+0x70/0xa0 [xfs]",
            "__lookup_slow+0x97/0x150", "walk_component+0x1bb/0x2b0", "path_lookupat+0x6e/0x210",
            "filename_lookup+0xb6/0x190", "vfs_statx+0x73/0xe0", "__do_sys_newstat+0x39/0x70",
            "do_syscall_64+0x5b/0x1a0", "entry_SYSCALL_64_after_hwframe+0x44/0xa9"),
}
DRIVERS = ("e1000e", "ixgbe", "mlx5e", "virtnet", "bnx2x", "igb", "i40e")


@dataclass(slots=True)
class Machine:
    """A plausible host for one report: zone sizes, watermarks and buddy counts."""

    cpus: int
    normal_managed_kb: int
    rng: random.Random

    def zones(self) -> list[tuple[str, int, int]]:
        """(zone, managed kB, min kB); min scaled like __setup_per_zone_wmarks()."""
        dma32 = 3_000_000
        total = 15_908 + dma32 + self.normal_managed_kb
        min_free = max(1024, int((total * 16) ** 0.5 * 4)) // 4 * 4
        return [(z, kb, max(4, min_free * kb // total // 4 * 4))
                for z, kb in (("DMA", 15_908, ), ("DMA32", dma32), ("Normal", self.normal_managed_kb))]

    def buddy(self, zone: str, order: int, letters: str, wmin_kb: int) -> tuple[str, int]:
        """A buddy line for a zone that fails `order`: below min for order 0, else no
        free block of `order` or larger."""
        counts = []
        total = 0
        for o in range(11):
            if zone == "DMA":
                n = (0, 1, 1, 1, 2, 1, 1, 0, 1, 1, 3)[o]
            elif order == 0:
                n = int(wmin_kb * self.rng.uniform(0.4, 0.9)) // 4 if o == 0 else self.rng.randrange(0, 8) >> o
            elif o < order:
                n = self.rng.randrange(50, 60_000) >> o
            else:
                n = 0
            size = 4 << o
            total += n * size
            if n and letters:
                kinds = "".join(c for c in letters if self.rng.random() < 0.7) or letters[0]
                counts.append(f"{n}*{size}kB ({kinds})")
            else:
                counts.append(f"{n}*{size}kB")
        return " ".join(counts), total


def hexaddr(rng: random.Random, module: bool) -> str:
    base = 0xFFFFFFFFA0000000 if module else 0xFFFFFFFF81000000
    return f"{base + rng.randrange(0, 0x00FFFFFF):016x}"


def trace_lines(era: Era, path: str, rng: random.Random) -> list[str]:
    """Call Trace lines in the era's format (addresses in [<>] up to 4.x, bare from 4.13)."""
    driver = rng.choice(DRIVERS)
    if era.name == "2.6.32":
        head = ["?__alloc_pages_nodemask+0x757/0x8d0"]
    elif era.name in ("3.10", "4.9"):
        fn = "warn_alloc_failed+0x110/0x180" if era.name == "3.10" else "warn_alloc+0x13b/0x170"
        head = ["dump_stack+0x19/0x1b", fn, "__alloc_pages_nodemask+0xa1b/0xc40"]
    elif era.name == "5.4":
        head = ["dump_stack+0x6d/0x95", "warn_alloc+0xfe/0x160", "__alloc_pages_slowpath+0xe07/0xe40",
                "__alloc_pages_nodemask+0x2cd/0x320"]
    else:
        head = ["dump_stack_lvl+0x44/0x5c", "warn_alloc+0x138/0x160",
                "__alloc_pages_slowpath.constprop.0+0xc79/0xcb0", "__alloc_pages+0x222/0x250"]
    frames = head + [f.replace("DRV", driver) for f in PATHS[path]]
    irq = path in ("net_rx", "tcp_accept")
    modern = era.name in ("5.4", "6.6")
    out = ["Call Trace:"]
    if irq:
        out.append(" <IRQ>")
    elif era.name == "6.6":
        out.append(" <TASK>")
    for frame in frames:
        if frame == "</IRQ>":
            if irq:
                out.append(" </IRQ>")
                if era.name == "6.6":
                    out.append(" <TASK>")
            continue
        unreliable = frame.startswith("?")
        name = frame.lstrip("?")
        mark = "? " if unreliable else ""
        if modern:
            out.append(f" {mark}{name}")
        else:
            out.append(f" [<{hexaddr(rng, '[' in name)}>] {mark}{name}")
    if era.name == "6.6":
        out.append(" </TASK>")
    return out


def mem_info_lines(era: Era, machine: Machine, order: int) -> list[str]:
    """Mem-Info block as show_free_areas() of the era prints it (summary, zones, buddy)."""
    rng = machine.rng
    out = ["Mem-Info:"]
    old = era.name in ("2.6.32", "3.10")
    if old:
        for zone in ("DMA", "DMA32", "Normal"):
            out.append(f"Node 0 {zone} per-cpu:")
            for cpu in range(min(machine.cpus, 4)):
                hi, btch = (0, 1) if zone == "DMA" else (186, 31)
                out.append(f"CPU {cpu:4d}: hi: {hi:4d}, btch: {btch:3d} usd: {rng.randrange(0, hi + 1):3d}")
    anon, file_ = rng.randrange(10**5, 10**7), rng.randrange(10**5, 10**7)
    summary = (f"active_anon:{anon} inactive_anon:{anon // 7} isolated_anon:0\n"
               f" active_file:{file_} inactive_file:{file_ * 2} isolated_file:0\n"
               f" unevictable:0 dirty:{rng.randrange(100, 90000)} writeback:{rng.randrange(0, 900)} unstable:0\n")
    if era.name == "6.6":
        summary = summary.replace(" unstable:0", "")
        summary += (f" slab_reclaimable:{rng.randrange(10**4, 10**6)} slab_unreclaimable:{rng.randrange(10**4, 10**5)}\n"
                    f" mapped:{rng.randrange(10**3, 10**5)} shmem:{rng.randrange(100, 10**4)} pagetables:{rng.randrange(10**3, 10**5)}\n"
                    f" sec_pagetables:0 bounce:0\n kernel_misc_reclaimable:0\n"
                    f" free:{rng.randrange(10**4, 10**5)} free_pcp:{rng.randrange(100, 9000)} free_cma:0")
    else:
        summary += (f" free:{rng.randrange(10**4, 10**5)} slab_reclaimable:{rng.randrange(10**4, 10**6)} "
                    f"slab_unreclaimable:{rng.randrange(10**4, 10**5)}\n"
                    f" mapped:{rng.randrange(10**3, 10**5)} shmem:{rng.randrange(100, 10**4)} "
                    f"pagetables:{rng.randrange(10**3, 10**5)} bounce:0\n free_cma:0")
    out.append(summary)
    if not old:
        out.append(f"Node 0 active_anon:{anon * 4}kB inactive_anon:{anon * 4 // 7}kB active_file:{file_ * 4}kB "
                   f"inactive_file:{file_ * 8}kB unevictable:0kB isolated(anon):0kB isolated(file):0kB "
                   f"mapped:{rng.randrange(10**4, 10**6)}kB dirty:{rng.randrange(10**3, 10**5)}kB writeback:0kB "
                   f"shmem:{rng.randrange(10**3, 10**5)}kB writeback_tmp:0kB all_unreclaimable? no")
    letters = "" if era.name == "2.6.32" else ("UEMR" if era.name == "3.10" else "UMEH")
    zones = machine.zones()
    buddies = []
    for i, (zone, managed, wmin) in enumerate(zones):
        line, free = machine.buddy(zone, order, letters, wmin)
        if zone != "DMA":
            free = max(free, 4)
        buddies.append((zone, line, free))
        low, high = wmin + wmin // 4, wmin + wmin // 2
        boost = " boost:0kB" if era.name == "6.6" else ""
        highatomic = " reserved_highatomic:0KB" if era.name == "6.6" else ""
        common = (f"Node 0 {zone} free:{free}kB{boost} min:{wmin}kB low:{low}kB high:{high}kB{highatomic} "
                  f"active_anon:{0 if zone == 'DMA' else rng.randrange(10**3, 10**7)}kB "
                  f"inactive_anon:{0 if zone == 'DMA' else rng.randrange(10**3, 10**6)}kB "
                  f"active_file:0kB inactive_file:0kB unevictable:0kB ")
        if old:
            out.append(common + f"isolated(anon):0kB isolated(file):0kB present:{managed + managed // 50}kB "
                       f"managed:{managed}kB mlocked:0kB dirty:0kB writeback:0kB mapped:0kB shmem:0kB "
                       f"slab_reclaimable:0kB slab_unreclaimable:0kB kernel_stack:0kB pagetables:0kB "
                       f"unstable:0kB bounce:0kB free_cma:0kB writeback_tmp:0kB pages_scanned:0 "
                       f"all_unreclaimable? {'yes' if zone == 'DMA' else 'no'}")
        else:
            out.append(common + f"writepending:0kB present:{managed + managed // 50}kB managed:{managed}kB "
                       f"mlocked:0kB kernel_stack:{0 if zone == 'DMA' else rng.randrange(100, 40000)}kB "
                       f"pagetables:0kB bounce:0kB free_pcp:{0 if zone == 'DMA' else rng.randrange(100, 9000)}kB "
                       f"local_pcp:0kB free_cma:0kB")
        # lowmem_reserve[j] of zone i: pages of zones i+1..j / sysctl_lowmem_reserve_ratio (256)
        # (mm/page_alloc.c setup_per_zone_lowmem_reserve); Movable (and Device on 5.x+) empty.
        pages = [m // 4 for _, m, _ in zones]
        width = 5 if era.name in ("5.4", "6.6") else 4
        reserve = [sum(pages[i + 1:min(j, 2) + 1]) // 256 if j > i else 0 for j in range(width)]
        out.append("lowmem_reserve[]: " + " ".join(str(x) for x in reserve))
    for zone, line, free in buddies:
        out.append(f"Node 0 {zone}: {line} = {free}kB")
    out += [
        "Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=1048576kB",
        "Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB",
        f"{file_ * 3} total pagecache pages",
        f"{rng.randrange(0, 9000)} pages in swap cache",
        "Free swap  = 0kB",
        "Total swap = 0kB",
        f"{(sum(m for _, m, _ in zones)) // 4} pages RAM",
        "0 pages HighMem/MovableOnly",
        f"{rng.randrange(10**4, 10**6)} pages reserved",
    ]
    return out


def process_name(rng: random.Random, cpus: int) -> str:
    cpu = rng.randrange(cpus)
    return rng.choice((
        f"swapper/{cpu}", f"swapper/{cpu}", f"kworker/{cpu}:{rng.randrange(0, 3)}H",
        f"kworker/u{cpus * 2}:{rng.randrange(0, 12)}", f"ksoftirqd/{cpu}", f"irq/{rng.randrange(30, 200)}-mlx5_comp{cpu}",
        *COMMS))


def cpu_line(era: Era, comm: str, pid: int, cpu: int, tainted: bool) -> str:
    taint = "Tainted: G           OE" if tainted else "Not tainted"
    if era.name == "2.6.32":
        return f"Pid: {pid}, comm: {comm} {taint} {era.release}"
    return f"CPU: {cpu} PID: {pid} Comm: {comm} {taint} {era.release}"


@dataclass(frozen=True, slots=True)
class Special:
    """A rendered insert: its bytes (with placeholders), line count and the header's offset."""

    data: bytes
    lines: int
    header_offset: int  # 0-based line of the header within data
    kind: str  # "event" or one of RELATED_KINDS
    truth: dict
    suppressed: int = 0  # N of a "warn_alloc: N callbacks suppressed" first line, if any


def render_failure(fmt: str, rng: random.Random) -> Special:
    """A full page allocation failure report of a random era."""
    era = rng.choice(ERAS)
    machine = Machine(cpus=rng.choice((4, 8, 16, 32, 64)),
                      normal_managed_kb=rng.choice((8, 16, 32, 64, 128, 256)) * 1024 * 1024, rng=rng)
    order = rng.choices((0, 1, 2, 3), weights=(6, 4, 2, 1))[0]
    mode = rng.choice(era.modes)
    atomic = mode in ("0x20", "0x4020", "0x204020") or "ATOMIC" in mode or "NOWAIT" in mode
    path = rng.choice(("net_rx", "tcp_accept", "nvme") if atomic else ("nvme", "xfs", "tcp_send"))
    if not atomic:
        comm = rng.choice((*COMMS, f"kworker/u{machine.cpus * 2}:{rng.randrange(0, 12)}"))
    elif path in ("net_rx", "tcp_accept") and rng.random() < 0.6:
        comm = f"swapper/{rng.randrange(machine.cpus)}"
    else:
        comm = process_name(rng, machine.cpus)
    cpu = int(comm.split("/")[1]) if comm.startswith("swapper/") else rng.randrange(machine.cpus)
    pid = 0 if comm.startswith("swapper") else rng.randrange(2, 4_000_000)
    if era.name == "2.6.32":
        comm = "swapper" if comm.startswith("swapper") else comm  # per-CPU idle names came in 2.6.3x
        header = f"{comm}: page allocation failure. order:{order}, mode:{mode}"
    elif era.name in ("3.10", "4.9"):
        header = f"{comm}: page allocation failure: order:{order}, mode:{mode}"
    else:
        mems = rng.choice(("0", "0", "0", "0-1"))  # single node, or both nodes of a 2-socket host
        mode = f"{mode}, nodemask=(null),cpuset=/,mems_allowed={mems}"
        header = f"{comm}: page allocation failure: order:{order}, mode:{mode}"
    messages = []
    suppressed = rng.randrange(2, 40) if era.name == "6.6" and rng.random() < 0.3 else 0
    if suppressed:
        messages.append(f"warn_alloc: {suppressed} callbacks suppressed")
    header_offset = len(messages)
    messages.append(header)
    messages.append(cpu_line(era, comm, pid, cpu, rng.random() < 0.3))
    if era.name != "2.6.32":
        messages.append("Hardware name: " + rng.choice(HARDWARE))
    if era.name in ("3.10", "4.9"):
        for _ in range(3):
            messages.append(" " + " ".join(f"{rng.randrange(2**64):016x}" for _ in range(4)))
    messages += trace_lines(era, path, rng)
    messages += mem_info_lines(era, machine, order)
    data = render_records(fmt, rng, messages)
    truth = {"process": comm, "order": order, "mode": mode, "era": era.name, "path": path}
    return Special(data, data.count(b"\n"), header_offset, "event", truth, suppressed)


def render_related(kind: str, fmt: str, rng: random.Random) -> Special:
    """A report that mentions memory trouble but is not a page allocation failure."""
    comm = rng.choice(COMMS)
    pid = rng.randrange(100, 4_000_000)
    era = ERAS[-1]
    suppressed = 0
    if kind == "oom_kill":
        machine = Machine(cpus=16, normal_managed_kb=32 * 1024 * 1024, rng=rng)
        messages = [
            f"{comm} invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0",
            cpu_line(era, comm, pid, rng.randrange(16), False),
            "Hardware name: " + rng.choice(HARDWARE),
            "Call Trace:", " <TASK>", " dump_stack_lvl+0x44/0x5c", " dump_header+0x4a/0x211",
            " oom_kill_process.cold+0xb/0x10", " out_of_memory+0x1ed/0x2e0",
            " __alloc_pages_slowpath.constprop.0+0xb17/0xcb0", " __alloc_pages+0x222/0x250",
            " folio_alloc+0x17/0x50", " __filemap_get_folio+0x155/0x340", " filemap_fault+0x15b/0xa20",
            " __do_fault+0x39/0x140", " do_fault+0x1ce/0x410", " __handle_mm_fault+0x652/0xf90",
            " handle_mm_fault+0xdb/0x2d0", " do_user_addr_fault+0x1b0/0x580", " exc_page_fault+0x70/0x170",
            " asm_exc_page_fault+0x22/0x30", " </TASK>",
            *mem_info_lines(ERAS[4], machine, 0),
            "Tasks state (memory values in pages):",
            "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
            f"[{pid:7d}]  1000 {pid:5d} {rng.randrange(10**6, 10**7):8d} {rng.randrange(10**5, 10**7):8d} "
            f"{rng.randrange(10**6, 10**8):14d}        0             0 {comm}",
            f"oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
            f"task_memcg=/system.slice/{comm}.service,task={comm},pid={pid},uid=1000",
            f"Out of memory: Killed process {pid} ({comm}) total-vm:{rng.randrange(10**6, 10**8)}kB, "
            f"anon-rss:{rng.randrange(10**6, 10**8)}kB, file-rss:0kB, shmem-rss:0kB, UID:1000 "
            f"pgtables:{rng.randrange(10**3, 10**5)}kB oom_score_adj:0",
        ]
    elif kind == "slab_failure":
        messages = [
            "SLUB: Unable to allocate memory on node -1, gfp=0xa20(GFP_ATOMIC)",
            f"  cache: kmalloc-{rng.choice((512, 1024, 2048, 4096, 8192))}, object size: 8192, "
            "buffer size: 8192, default order: 3, min order: 1",
            f"  node 0: slabs: {rng.randrange(100, 900)}, objs: {rng.randrange(1000, 9000)}, free: 0",
        ]
    elif kind == "tcp_out_of_memory":
        messages = ["TCP: out of memory -- consider tuning tcp_mem"]
    elif kind == "suppressed_reports":
        suppressed = rng.randrange(2, 400)
        messages = [f"warn_alloc: {suppressed} callbacks suppressed"]
    else:  # alloc_stall: 4.9-4.14 warn_alloc("page allocation stalls for %ums, order:%u", ...)
        messages = [
            f"{comm}: page allocation stalls for {rng.randrange(10_000, 90_000)}ms, order:0, "
            "mode:0x14200ca(GFP_HIGHUSER_MOVABLE), nodemask=(null)",
            f"CPU: {rng.randrange(16)} PID: {pid} Comm: {comm} Not tainted 4.14.35-1818.3.3.el7uek.x86_64 #2",
            "Call Trace:", " dump_stack+0x63/0x85", " warn_alloc+0xe5/0x1a0",
            " __alloc_pages_slowpath+0x8bc/0xd10", " __alloc_pages_nodemask+0x236/0x250",
            " alloc_pages_vma+0x7c/0x1e0", " __handle_mm_fault+0x9f4/0x1320", " handle_mm_fault+0xb0/0x1f0",
        ]
    data = render_records(fmt, rng, messages)
    return Special(data, data.count(b"\n"), 0, kind, {}, suppressed)


# ----------------------------------------------------------------------------- writer


@dataclass(frozen=True, slots=True)
class GenerationResult:
    path: Path
    bytes_written: int
    lines: int
    seconds: float
    truth: dict


def generate(out: Path, size: int, failures: int, fmt: str, seed: int,
             related_per_kind: int | None = None) -> GenerationResult:
    """Write the log and its truth sidecar; return what was written and how long it took."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if out.is_file():
        out.unlink()  # freeing an old file's page cache is not generation time
    start = time.perf_counter()
    rng = random.Random(seed)
    # Small logs need few distinct blocks; big ones get TEMPLATE_COUNT for variety.
    templates = build_templates(fmt, rng, min(TEMPLATE_COUNT, max(4, size // BLOCK_TARGET_BYTES // 8)))
    if related_per_kind is None:
        related_per_kind = max(1, failures // 20) if failures else 1
    specials = [render_failure(fmt, rng) for _ in range(failures)]
    specials += [render_related(kind, fmt, rng) for kind in RELATED_KINDS for _ in range(related_per_kind)]
    rng.shuffle(specials)
    special_bytes = sum(len(s.data) for s in specials)
    if special_bytes > size:
        raise ValueError(f"--size {size} too small for {len(specials)} reports ({special_bytes} bytes)")
    avg_block = sum(len(t) for t, _ in templates) / len(templates)
    planned_blocks = max(1, int((size - special_bytes) / avg_block * 0.97))
    slots = sorted(rng.randrange(planned_blocks) for _ in specials)
    events: list[dict] = []
    related: dict[str, list[int]] = {kind: [] for kind in RELATED_KINDS}
    suppressed_total = [0]
    written = 0
    lines = 0
    uptime = rng.randrange(2000, 90_000)
    pending: list[bytes] = []
    pending_bytes = 0
    special_index = 0
    remaining_special = special_bytes

    with open(out, "wb", buffering=0) as fh:
        fd = fh.fileno()

        def emit(data: bytes, nlines: int) -> None:
            nonlocal written, lines, pending_bytes
            pending.append(data)
            pending_bytes += len(data)
            written += len(data)
            lines += nlines
            if pending_bytes >= WRITE_CHUNK_BYTES:
                flush()

        def flush() -> None:
            # writev: the kernel gathers the blocks, no join copy in Python.
            nonlocal pending_bytes
            views = [memoryview(b) for b in pending]
            while views:
                done = os.writev(fd, views[:1024])
                while views and done >= len(views[0]):
                    done -= len(views[0])
                    views.pop(0)
                if done:
                    views[0] = views[0][done:]
            pending.clear()
            pending_bytes = 0

        def emit_special(special: Special) -> None:
            nonlocal uptime, remaining_special
            uptime += 1
            header_line = lines + special.header_offset + 1
            if special.kind == "event":
                events.append({"line": header_line, **special.truth})
                if special.suppressed:
                    related["suppressed_reports"].append(lines + 1)
            else:
                related[special.kind].append(header_line)
            suppressed_total[0] += special.suppressed
            data = stamp(special.data, fmt, uptime)
            remaining_special -= len(special.data)
            emit(data, special.lines)
            uptime += 1

        block = 0
        choice = rng.choice
        randrange = rng.randrange
        while True:
            while special_index < len(specials) and slots[special_index] <= block:
                emit_special(specials[special_index])
                special_index += 1
            template, nlines = choice(templates)
            data = stamp(template, fmt, uptime)
            if written + len(data) + remaining_special > size:
                break
            emit(data, nlines)
            uptime += randrange(1, 40)
            block += 1
        while special_index < len(specials):
            emit_special(specials[special_index])
            special_index += 1
        # Fill the tail line by line from one block, never exceeding --size.
        tail = stamp(choice(templates)[0], fmt, uptime)
        cut = 0
        while True:
            nxt = tail.find(b"\n", cut) + 1
            if nxt == 0 or written + nxt > size:
                break
            cut = nxt
        emit(tail[:cut], tail.count(b"\n", 0, cut))
        flush()

    truth = {
        "generator": GENERATOR_VERSION, "format": fmt, "seed": seed, "requested_size": size, "failures": failures,
        "size": written, "lines": lines,
        "events": events, "related": {k: sorted(v) for k, v in related.items()},
        "suppressed_callbacks": suppressed_total[0],
    }
    Path(f"{out}.truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return GenerationResult(out, written, lines, time.perf_counter() - start, truth)


def gzip_file(path: Path) -> Path:
    """Compress PATH to PATH.gz with pigz or gzip -6 (what logrotate produces), keeping PATH."""
    target = Path(f"{path}.gz")
    tool = shutil.which("pigz") or "gzip"
    with open(target, "wb") as fh:
        subprocess.run([tool, "-6", "-c", str(path)], stdout=fh, check=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1G", help="target size, K/M/G suffixes (default 1G)")
    parser.add_argument("--failures", type=int, default=200, help="failure reports to insert")
    parser.add_argument("--related", type=int, default=None,
                        help="related non-events per kind (default failures/20, at least 1)")
    parser.add_argument("--format", choices=FORMATS, default="dmesg")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--gzip", action="store_true", help="also write OUT.gz")
    args = parser.parse_args(argv)
    result = generate(args.out, parse_size(args.size), args.failures, args.format, args.seed, args.related)
    rate = result.bytes_written / result.seconds / 1e6
    report = (f"{result.path}: {result.bytes_written} bytes, {result.lines} lines, "
              f"{len(result.truth['events'])} failures in {result.seconds:.2f}s ({rate:.0f} MB/s)")
    if args.gzip:
        start = time.perf_counter()
        gz = gzip_file(args.out)
        report += f"; {gz} in {time.perf_counter() - start:.1f}s"
    sys.stdout.write(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

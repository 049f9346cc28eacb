"""The cheapest in-kernel count: a raw-tracepoint eBPF program on ``mm_page_alloc``, through the
``bpf(2)`` syscall with ctypes (no compiler, no libbpf, no BTF).

A raw tracepoint program receives the tracepoint's arguments as they are, before any trace
record is built (``TP_PROTO(struct page *page, unsigned int order, gfp_t gfp_flags, int
migratetype)``, include/trace/events/kmem.h, 4.17+), so it costs a few instructions per page
allocation where a perf or tracefs event first formats a record. The program below (hand
assembled; include/uapi/linux/bpf.h encodings) adds one to a per-CPU array slot:

- slot ``order`` when ``page`` is NULL (the allocation failed), orders 0-15;
- slot ``16 + order`` when ``gfp_flags`` lacks ``__GFP_DIRECT_RECLAIM`` (a non-blocking
  allocation, failed or not): the demand.

The program runs while its raw-tracepoint fd is open; :meth:`RawTracepointCounter.close`
detaches it. Needs CONFIG_BPF_EVENTS and CAP_BPF/CAP_SYS_ADMIN.
"""
from __future__ import annotations

import ctypes
import functools
import mmap
import os
import platform
import resource
import struct

from minfree.sources.perf import PerfUnavailable

SLOTS = 32
DEMAND_BASE = 16
MAX_REPORTED_ORDER = 10  # MAX_PAGE_ORDER on x86-64 and arm64 with 4 KiB pages
_BPF_SYSCALL = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "ppc64le": 361, "s390x": 351}
_MAP_CREATE, _MAP_LOOKUP_ELEM, _PROG_LOAD, _RAW_TRACEPOINT_OPEN = 0, 1, 5, 17
_MAP_TYPE_PERCPU_ARRAY = 6
_MAP_TYPE_STACK_TRACE = 7
_MAP_TYPE_RINGBUF = 27
_RINGBUF_BUSY = 1 << 31
_RINGBUF_DISCARD = 1 << 30
RING_BYTES = 1 << 20  # ~18000 records before the reader must drain
STACK_DEPTH = 48
STACK_ENTRIES = 4096
_PROG_TYPE_RAW_TRACEPOINT = 17
_PSEUDO_MAP_FD = 1


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _increment(map_fd: int, key_reg: int) -> list[bytes]:
    """``map[key_reg] += 1`` for a per-CPU array (key stored at r10-4); 10 instructions."""
    return [
        _insn(0x63, dst=10, src=key_reg, off=-4),           # *(u32 *)(r10 - 4) = key
        _insn(0x18, dst=1, src=_PSEUDO_MAP_FD, imm=map_fd), _insn(0),  # r1 = map
        _insn(0xBF, dst=2, src=10),                          # r2 = r10
        _insn(0x07, dst=2, imm=-4),                          # r2 += -4
        _insn(0x85, imm=1),                                  # call bpf_map_lookup_elem
        _insn(0x15, dst=0, off=3),                           # if r0 == 0 goto +3
        _insn(0x79, dst=1, src=0),                           # r1 = *(u64 *)(r0 + 0)
        _insn(0x07, dst=1, imm=1),                           # r1 += 1
        _insn(0x7B, dst=0, src=1),                           # *(u64 *)(r0 + 0) = r1
    ]


def _record(ringbuf_fd: int, stack_fd: int) -> list[bytes]:
    """Write one :data:`RECORD` into the ring buffer (r6 = ctx, r7 = order, r8 = gfp_flags):
    bpf_ringbuf_reserve (131), bpf_ktime_get_ns (5, CLOCK_MONOTONIC), bpf_get_current_pid_tgid
    (14), bpf_get_stackid (27, the kernel stack), bpf_get_current_comm (16), bpf_ringbuf_submit
    (132). When the ring buffer is full the record is dropped: the counter still counts it."""
    fill = [
        _insn(0xBF, dst=9, src=0),                                        # r9 = record
        _insn(0x85, imm=5),                                               # ktime_get_ns
        _insn(0x7B, dst=9, src=0, off=0),
        _insn(0x85, imm=14),                                              # pid_tgid
        _insn(0x7B, dst=9, src=0, off=8),
        _insn(0x7B, dst=9, src=8, off=16),                                # gfp_flags
        _insn(0x63, dst=9, src=7, off=24),                                # order
        _insn(0x79, dst=1, src=6, off=24),                                # migratetype
        _insn(0x63, dst=9, src=1, off=28),
        _insn(0xBF, dst=1, src=6),                                        # r1 = ctx
        _insn(0x18, dst=2, src=_PSEUDO_MAP_FD, imm=stack_fd), _insn(0),  # r2 = stack map
        _insn(0xB7, dst=3, imm=0),                                        # kernel stack
        _insn(0x85, imm=27),                                              # get_stackid
        _insn(0x7B, dst=9, src=0, off=32),
        _insn(0xBF, dst=1, src=9),
        _insn(0x07, dst=1, imm=40),                                       # r1 = record->comm
        _insn(0xB7, dst=2, imm=16),
        _insn(0x85, imm=16),                                              # get_current_comm
        _insn(0xBF, dst=1, src=9),
        _insn(0xB7, dst=2, imm=0),
        _insn(0x85, imm=132),                                             # submit
    ]
    return [
        _insn(0x18, dst=1, src=_PSEUDO_MAP_FD, imm=ringbuf_fd), _insn(0),  # r1 = ringbuf
        _insn(0xB7, dst=2, imm=RECORD.size),                              # r2 = size
        _insn(0xB7, dst=3, imm=0),                                        # r3 = 0
        _insn(0x85, imm=131),                                             # reserve
        _insn(0x15, dst=0, off=len(fill)),                                # if r0 == 0 skip
        *fill,
    ]


#: What the program writes per failed allocation: ktime ns, pid_tgid, gfp_flags, order,
#: migratetype, stack id (negative: none), comm.
RECORD = struct.Struct("<QQQIiq16s")


def program(map_fd: int, direct_reclaim_bit: int, ringbuf_fd: int | None = None,
            stack_fd: int | None = None) -> bytes:
    """The bytecode for the count map, the running kernel's reclaim bit and, optionally, a
    ring buffer and stack map for a record of each failure."""
    failed = _increment(map_fd, 7)
    if ringbuf_fd is not None and stack_fd is not None:
        failed += _record(ringbuf_fd, stack_fd)
    demand = _increment(map_fd, 7)
    head = [
        _insn(0xBF, dst=6, src=1),           # r6 = ctx
        _insn(0x79, dst=9, src=1, off=0),    # r9 = page
        _insn(0x79, dst=7, src=1, off=8),    # r7 = order
        _insn(0x79, dst=8, src=1, off=16),   # r8 = gfp_flags
    ]
    tail = [_insn(0xB7, dst=0, imm=0), _insn(0x95)]  # r0 = 0; exit
    middle = [_insn(0x57, dst=8, imm=direct_reclaim_bit),              # r8 &= __GFP_DIRECT_RECLAIM
              _insn(0x55, dst=8, off=1 + len(demand)),                 # if r8 != 0 goto exit
              _insn(0x07, dst=7, imm=DEMAND_BASE)]                     # r7 += 16
    body = [_insn(0x25, dst=7, off=1 + len(failed) + len(middle) + len(demand), imm=DEMAND_BASE - 1),
            _insn(0x55, dst=9, off=len(failed))]                      # if page goto demand
    return b"".join(head + body + failed + middle + demand + tail)


@functools.cache
def _syscall():
    """libc's syscall(2), resolved once (watch reads the counter every interval)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall


def _bpf(cmd: int, attr: bytes) -> int:
    number = _BPF_SYSCALL.get(platform.machine())
    if number is None:
        raise PerfUnavailable(38, f"bpf: unknown syscall number on {platform.machine()}")
    buf = ctypes.create_string_buffer(attr, len(attr))
    result = _syscall()(ctypes.c_long(number), ctypes.c_int(cmd), buf, ctypes.c_uint(len(attr)))
    if result < 0:
        code = ctypes.get_errno()
        raise PerfUnavailable(code, f"bpf({cmd}): {os.strerror(code)}")
    if cmd == _MAP_LOOKUP_ELEM:
        return 0
    return int(result)


def _possible_cpus() -> int:
    from minfree.proc.numa import parse_id_list

    with open("/sys/devices/system/cpu/possible", encoding="ascii") as handle:
        ids = parse_id_list(handle.read())
    return (max(ids) + 1) if ids else (os.cpu_count() or 1)


class RingBuffer:
    """The consumer side of a BPF ring buffer map (kernel/bpf/ringbuf.c, 5.8+): page 0 holds
    the consumer position (ours to write), page 1 the producer position, then the data area
    mapped twice so a record never wraps. Each record has an 8-byte header: its length with
    the BUSY (bit 31) and DISCARD (bit 30) flags."""

    def __init__(self, fd: int, size: int) -> None:
        page = mmap.PAGESIZE
        self.size = size
        self.consumer = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self.producer = mmap.mmap(fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        self.data = page

    def drain(self) -> list[bytes]:
        out = []
        cons = struct.unpack_from("<Q", self.consumer, 0)[0]
        prod = struct.unpack_from("<Q", self.producer, 0)[0]
        while cons < prod:
            start = self.data + (cons & (self.size - 1))
            header = struct.unpack_from("<I", self.producer, start)[0]
            if header & _RINGBUF_BUSY:
                break
            length = header & ~(_RINGBUF_BUSY | _RINGBUF_DISCARD)
            if not header & _RINGBUF_DISCARD:
                out.append(self.producer[start + 8:start + 8 + length])
            cons += (length + 8 + 7) & ~7
        struct.pack_into("<Q", self.consumer, 0, cons)
        return out

    def close(self) -> None:
        self.consumer.close()
        self.producer.close()


def _allow_locked_memory() -> None:
    """Before 5.11 BPF maps and programs were charged to RLIMIT_MEMLOCK (often 64 KiB): lift it,
    as libbpf and bcc do (root may; later kernels charge the memory cgroup instead)."""
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass


def _map(map_type: int, key_size: int, value_size: int, entries: int) -> int:
    return _bpf(_MAP_CREATE, struct.pack("<IIIII", map_type, key_size, value_size, entries, 0).ljust(72, b"\0"))


def attach(code: bytes, tracepoint: str, fds: list[int]) -> int:
    """Load ``code`` as a raw tracepoint program and attach it to ``tracepoint``; the program
    and link fds are appended to ``fds`` (close them to detach). Returns the link fd."""
    insns = ctypes.create_string_buffer(code, len(code))
    license_ = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 16)
    attr = struct.pack("<IIQQIIQII16s", _PROG_TYPE_RAW_TRACEPOINT, len(code) // 8,
                       ctypes.addressof(insns), ctypes.addressof(license_), 1, len(log),
                       ctypes.addressof(log), 0, 0, b"minfree_trace").ljust(128, b"\0")
    try:
        prog_fd = _bpf(_PROG_LOAD, attr)
    except PerfUnavailable as exc:
        last = log.value.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise PerfUnavailable(exc.errno, f"{exc.strerror} {last[0]}".strip()) from exc
    fds.append(prog_fd)
    name = ctypes.create_string_buffer(tracepoint.encode())
    link_fd = _bpf(_RAW_TRACEPOINT_OPEN, struct.pack("<QI", ctypes.addressof(name), prog_fd).ljust(16, b"\0"))
    fds.append(link_fd)
    return link_fd


class RawTracepointCounter:
    """Failed allocations per order and non-blocking allocations per order, counted in the
    kernel by :func:`program`; with ``records``, also one :data:`RECORD` per failure in a BPF
    ring buffer (5.8+) and its kernel stack in a stack map. Attached (counting) from
    construction until :meth:`disable` or :meth:`close`."""

    def __init__(self, direct_reclaim_bit: int, tracepoint: str = "mm_page_alloc", *,
                 records: bool = False) -> None:
        self.fds: list[int] = []
        self.cpus = _possible_cpus()
        self.baseline = [0] * SLOTS
        self.link_fd = -1
        self.ring: RingBuffer | None = None
        self.stack_fd: int | None = None
        _allow_locked_memory()
        try:
            self.map_fd = _map(_MAP_TYPE_PERCPU_ARRAY, 4, 8, SLOTS)
            self.fds.append(self.map_fd)
            ring_fd = None
            if records:
                ring_fd = _map(_MAP_TYPE_RINGBUF, 0, 0, RING_BYTES)
                self.fds.append(ring_fd)
                self.stack_fd = _map(_MAP_TYPE_STACK_TRACE, 4, 8 * STACK_DEPTH, STACK_ENTRIES)
                self.fds.append(self.stack_fd)
                self.ring = RingBuffer(ring_fd, RING_BYTES)
            code = program(self.map_fd, direct_reclaim_bit, ring_fd, self.stack_fd)
            self.link_fd = attach(code, tracepoint, self.fds)
        except BaseException:
            self.close()
            raise

    def stack(self, stack_id: int) -> tuple[int, ...]:
        """The kernel addresses of a stack id (innermost first); () when unknown."""
        if self.stack_fd is None or stack_id < 0:
            return ()
        key = ctypes.c_uint32(stack_id)
        value = ctypes.create_string_buffer(8 * STACK_DEPTH)
        try:
            _bpf(_MAP_LOOKUP_ELEM, struct.pack("<IIQQQ", self.stack_fd, 0, ctypes.addressof(key),
                                               ctypes.addressof(value), 0))
        except PerfUnavailable:
            return ()
        ips = struct.unpack(f"<{STACK_DEPTH}Q", value.raw)
        return tuple(ip for ip in ips if ip)


    def enable(self) -> None:
        """Start the window: counts and records from here on (the program runs from attach;
        what it wrote before is dropped)."""
        if self.ring is not None:
            self.ring.drain()
        self.baseline = self.slots()

    def read(self) -> tuple[int, dict[str, int]]:
        """Failed allocations (every order) and non-blocking allocations by order, since
        :meth:`enable`; orders 0-10 always, higher ones when seen."""
        now = self._since_enable()
        demand = {str(order): now[DEMAND_BASE + order] for order in range(DEMAND_BASE)
                  if order <= MAX_REPORTED_ORDER or now[DEMAND_BASE + order]}
        return sum(now[:DEMAND_BASE]), demand

    def failed_by_order(self) -> dict[int, int]:
        """Failed allocations per order since :meth:`enable`: orders 0-10 always, higher ones
        when seen."""
        now = [a - b for a, b in zip(self.slots(DEMAND_BASE), self.baseline)]   # the failure slots only
        return {order: now[order] for order in range(DEMAND_BASE)
                if order <= MAX_REPORTED_ORDER or now[order]}

    def _since_enable(self) -> list[int]:
        return [a - b for a, b in zip(self.slots(), self.baseline)]

    def disable(self) -> None:
        """Detach the program (the counts stay readable)."""
        if self.link_fd in self.fds:
            self.fds.remove(self.link_fd)
            os.close(self.link_fd)

    def slots(self, count: int = SLOTS) -> list[int]:
        """The first ``count`` slots (every one by default), summed over CPUs, since attach."""
        out = []
        value = ctypes.create_string_buffer(8 * self.cpus)
        for slot in range(count):
            key = ctypes.c_uint32(slot)
            _bpf(_MAP_LOOKUP_ELEM, struct.pack("<IIQQQ", self.map_fd, 0, ctypes.addressof(key),
                                               ctypes.addressof(value), 0))
            out.append(sum(struct.unpack(f"<{self.cpus}Q", value.raw)))
        return out

    def close(self) -> None:
        if self.ring is not None:
            self.ring.close()
            self.ring = None
        fds, self.fds = self.fds, []
        for fd in reversed(fds):
            try:
                os.close(fd)
            except OSError:
                pass

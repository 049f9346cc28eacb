"""Deny syscalls to a child process for real: a seccomp filter (``prctl(PR_SET_SECCOMP)``,
kernel/seccomp.c, 3.5+) that makes them fail with EPERM, as a container runtime's seccomp
profile does (Docker's default profile refuses ``bpf`` and ``perf_event_open``).

Used as ``subprocess.Popen(..., preexec_fn=deny("bpf", "perf_event_open"))``: the filter is
installed in the child after fork, so the test process keeps every syscall. x86-64 only (the
syscall numbers and the audit arch are that ABI's); :func:`supported` says whether it applies.
"""
from __future__ import annotations

import ctypes
import errno
import platform
import struct
from collections.abc import Callable

#: arch/x86/entry/syscalls/syscall_64.tbl
SYSCALLS = {"bpf": 321, "perf_event_open": 298, "mkdir": 83, "mkdirat": 258}
_AUDIT_ARCH_X86_64 = 0xC000003E  # include/uapi/linux/audit.h
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000  # include/uapi/linux/seccomp.h
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
# classic BPF (include/uapi/linux/filter.h): ld [k] absolute word, jeq #k, ret #k
_LD_ABS_W, _JEQ_K, _RET_K = 0x20, 0x15, 0x06


def supported() -> bool:
    return platform.machine() == "x86_64"


def _insn(code: int, jt: int = 0, jf: int = 0, k: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def _filter(numbers: list[int]) -> bytes:
    """struct seccomp_data: nr at offset 0, arch at offset 4. Another ABI is allowed through."""
    insns = [_insn(_LD_ABS_W, k=4), _insn(_JEQ_K, jt=1, k=_AUDIT_ARCH_X86_64), _insn(_RET_K, k=_RET_ALLOW),
             _insn(_LD_ABS_W, k=0)]
    for index, number in enumerate(numbers):
        insns.append(_insn(_JEQ_K, jt=len(numbers) - index, k=number))  # to the errno return
    insns += [_insn(_RET_K, k=_RET_ALLOW), _insn(_RET_K, k=_RET_ERRNO | errno.EPERM)]
    return b"".join(insns)


def deny(*names: str) -> Callable[[], None]:
    """A ``preexec_fn`` that makes the named syscalls fail with EPERM in the child."""
    code = _filter([SYSCALLS[name] for name in names])

    def install() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        program = ctypes.create_string_buffer(code, len(code))
        fprog = struct.pack("<HxxxxxxQ", len(code) // 8, ctypes.addressof(program))
        buf = ctypes.create_string_buffer(fprog, len(fprog))
        zero = ctypes.c_ulong(0)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), zero, zero, zero) != 0 or \
                libc.prctl(_PR_SET_SECCOMP, ctypes.c_ulong(_SECCOMP_MODE_FILTER), buf, zero, zero) != 0:
            raise OSError(ctypes.get_errno(), "seccomp filter refused")

    return install

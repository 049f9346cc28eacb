"""Scanning's two kinds of forked children (chunk_process's decoder, logscan's second scanner),
seen by the kernel: SIGINT at its default, no pipe end of the parent's other children, and none
left running when their parent is killed. Real forks, read from /proc."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from child_processes import children

from minfree.sources.chunk_process import ChunkProcess
from minfree.sources.logscan import _Tail

Started = tuple[int, Callable[[], None]]   # a child's pid, and how to close it


def _pipes(pid: int | str) -> set[str]:
    """The pipes a process holds (``pipe:[inode]``: both ends of a pipe have the same)."""
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:   # the listing's own descriptor, closed since
            continue
        if target.startswith("pipe:"):
            found.add(target)
    return found


def _sigint(pid: int | str) -> str:
    """What SIGINT does to the process: ``caught``, ``ignored`` or ``default`` (/proc/PID/status)."""
    with open(f"/proc/{pid}/status") as handle:
        fields = dict(line.rstrip("\n").split(":\t", 1) for line in handle if ":\t" in line)
    bit = 1 << (signal.SIGINT - 1)
    if int(fields["SigIgn"], 16) & bit:
        return "ignored"
    return "caught" if int(fields["SigCgt"], 16) & bit else "default"


def _alive(pid: int) -> bool:
    """A process that still runs (a zombie has ended: it waits only to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def _ends_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _kill_if_alive(pid: int) -> None:
    """A test that fails leaves no process of its behind (one waiting on the gate holds the
    gate's write end itself: it would wait for ever)."""
    if pid and _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _waits(gate: int) -> Iterator[bytes]:
    """A decoder's output: one chunk, flushed, then it waits on ``gate`` (closed by the test)."""
    yield b"kernel: first chunk\n"
    yield b""
    os.read(gate, 1)


def _slow() -> Iterator[bytes]:
    """A decoder's output: one chunk, flushed, then a large block to decode (30 s)."""
    yield b"kernel: first chunk\n"
    yield b""
    time.sleep(30)


def _decoder(gate: int) -> Started:
    before = children()
    process = ChunkProcess(lambda: _waits(gate))
    chunks = process.chunks()
    assert bytes(next(chunks)) == b"kernel: first chunk\n"   # the child is past its setup

    def close() -> None:
        chunks.close()
        process.close()

    (pid,) = children() - before
    return pid, close


def _second_scanner(gate: int, work: Callable[[], None] = lambda: None) -> tuple[int, _Tail]:
    """A _Tail child that runs ``work``, tells a split (its setup is done) and waits on ``gate``."""
    def tail(_spill, tell_split):
        work()
        tell_split(0)
        os.read(gate, 1)

    before = children()
    child = _Tail(tail)
    assert child.start()
    assert child.split(0, wait=30) == 0
    (pid,) = children() - before
    return pid, child


@pytest.fixture()
def gate() -> Iterator[int]:
    read, write = os.pipe()
    yield read
    os.close(write)   # the children waiting on it go on
    os.close(read)


@pytest.fixture()
def caught_sigint() -> Iterator[None]:
    """This process catches SIGINT with a handler of its own (as minfree does, with Python's)."""
    previous = signal.signal(signal.SIGINT, lambda _signo, _frame: None)
    try:
        assert _sigint("self") == "caught"
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start(kind: str, gate: int) -> Started:
    if kind == "decoder":
        return _decoder(gate)
    pid, child = _second_scanner(gate)
    return pid, child.close


@pytest.mark.parametrize("kind", ["decoder", "second scanner"])
def test_a_child_has_sigint_at_its_default(kind: str, gate: int, caught_sigint: None) -> None:
    """Ctrl-C ends the child with the process group, not in the parent's handler."""
    pid, close = _start(kind, gate)
    try:
        assert _sigint(pid) == "default"
    finally:
        close()


@contextlib.contextmanager
def _scanner_with_decoder(gate: int, produce: Callable[[], Iterator[bytes]]) -> Iterator[tuple[int, _Tail, int]]:
    """A second scanner whose work starts a decoder of ``produce``: its pid, its _Tail, and the
    decoder's pid. Both are stopped at the end, even where the code under test leaves one."""
    told_read, told_write = os.pipe()

    def decode() -> None:
        inner = ChunkProcess(produce)
        assert bytes(next(inner.chunks())) == b"kernel: first chunk\n"
        (grandchild,) = children()
        os.write(told_write, b"%d\n" % grandchild)

    scanner, tail = _second_scanner(gate, decode)
    grandchild = 0
    try:
        grandchild = int(os.read(told_read, 32))
        yield scanner, tail, grandchild
    finally:
        tail.close()
        os.close(told_read)
        os.close(told_write)
        _kill_if_alive(grandchild)


@pytest.fixture()
def two_decoders(gate: int) -> Iterator[dict[str, set[str]]]:
    """The parent decodes a compressed file in a child while a second scanner decodes it again
    in one of its own: the pipes each of those holds, the parent's decoder's own two pipes and
    the pipe the second scanner reports through."""
    before = _pipes("self")
    decoder, close_decoder = _decoder(gate)
    try:
        with _scanner_with_decoder(gate, lambda: _waits(gate)) as (scanner, tail, grandchild):
            yield {"decoder": _pipes(decoder) - before, "scanner": _pipes(scanner),
                   "its decoder": _pipes(grandchild), "report": {os.readlink(f"/proc/self/fd/{tail._pipe}")}}
    finally:
        close_decoder()


def test_the_second_scanner_holds_no_pipe_of_the_parents_decoder(two_decoders: dict[str, set[str]]) -> None:
    """The parent's decoder would not see EOF on its freed-slots pipe while the second scanner
    lived."""
    assert len(two_decoders["decoder"]) == 2   # the slot numbers' pipe and the freed slots' pipe
    assert not two_decoders["scanner"] & two_decoders["decoder"]


def test_the_second_scanners_decoder_holds_no_pipe_of_its_elders(
        two_decoders: dict[str, set[str]]) -> None:
    """Nor does the decoder the second scanner starts: the parent's decoder's pipes, and the pipe
    its own parent reports through (whose EOF the parent waits for), are not its to keep."""
    assert two_decoders["report"] <= two_decoders["scanner"]   # the scanner's end: it reports through it
    assert not two_decoders["its decoder"] & (two_decoders["decoder"] | two_decoders["report"])


def test_a_second_scanner_killed_leaves_no_decoder_behind(gate: int) -> None:
    """_Tail.close kills a child still at work: the decoder its stream started dies with it at
    once (it waited on its input: it would have lived until its next pipe write failed)."""
    with _scanner_with_decoder(gate, _slow) as (_scanner, tail, grandchild):
        assert _alive(grandchild)
        tail.close()
        assert _ends_within(grandchild, 5)


_KILLED_PARENT = """
import os, sys, time
from minfree.sources.chunk_process import ChunkProcess
from minfree.sources.logscan import _Tail

def slow():
    yield b"kernel: first chunk\\n"
    yield b""
    time.sleep(30)

if sys.argv[1] == "decoder":
    process = ChunkProcess(slow)
    next(process.chunks())
else:
    tail = _Tail(lambda spill, tell_split: (tell_split(0), time.sleep(30)))
    tail.start()
    tail.split(0, wait=30)
print(open("/proc/self/task/%d/children" % os.getpid()).read().strip(), flush=True)
time.sleep(30)
"""


@pytest.mark.parametrize("kind", ["decoder", "second scanner"])
def test_a_child_dies_with_its_parent(kind: str) -> None:
    """minfree killed (SIGKILL, the OOM killer) leaves no child of its at work."""
    parent = subprocess.Popen([sys.executable, "-c", _KILLED_PARENT, kind], stdout=subprocess.PIPE)
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.kill()
        parent.wait()
        assert _ends_within(child, 5)
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
        _kill_if_alive(child)

"""A function run in a forked child that holds nothing of its parent's other work, and dies with it.

Scanning forks helpers (:mod:`~minfree.sources.chunk_process`'s decoder,
:mod:`~minfree.sources.logscan`'s second scanner, whose stream has a decoder of its own): each is
a :class:`ForkedChild`, made with the pipes it talks through. In the child, before the work:

* SIGINT is back at its default: Ctrl-C ends the child quietly with the whole process group,
  not with a Python traceback of its own;
* every pipe end it must not keep is closed: its own pipes' ends that the parent uses, the
  parent's ends of the parent's other live children (a child holding the write end of a
  sibling's pipe would keep that sibling from ever seeing EOF), and the ends the parent itself
  used to talk to *its* parent; the parent's :class:`ForkedChild` objects become inert there
  (closing one does not kill a sibling);
* the kernel is asked to SIGKILL it when the thread that forked it ends (``PR_SET_PDEATHSIG``,
  prctl(2)): a parent killed (OOM killer, SIGKILL) or a child killed by its own parent leaves
  no worker behind. A parent that died between the fork and that request is seen in
  ``getppid()`` (the child was re-parented): the child exits at once.

The child then runs ``work(to_parent, from_parent)`` (its ends of the pipes, which the work leaves
open: they close at its exit, and a child of its own closes them by number) and exits: status 0
if it returned, 1 if it raised; it never returns into the parent's code. The parent keeps
:attr:`ForkedChild.from_child` and :attr:`ForkedChild.to_child`; :meth:`ForkedChild.close`
kills the child if it has not been reaped yet, reaps it and closes those ends (idempotent).

>>> def work(to_parent, from_parent):
...     asked = os.read(from_parent[0], 100)
...     os.write(to_parent[0], b"kernel: " + asked)
>>> child = ForkedChild(work, from_child=1, to_child=1)
>>> _ = os.write(child.to_child[0], b"page allocation failure")
>>> os.read(child.from_child[0], 100)
b'kernel: page allocation failure'
>>> child.wait(); child.running
False
>>> child.close(); child.close()
"""
from __future__ import annotations

import _thread
import os
import pickle
import signal
from collections.abc import Callable

Work = Callable[[list[int], list[int]], object]
"""``work(to_parent, from_parent)``: runs in the child; what it returns is ignored."""

_PR_SET_PDEATHSIG = 1   # include/uapi/linux/prctl.h

#: the children of this process not yet closed: their pipe ends here are closed in a new child
_live: set[ForkedChild] = set()
#: this process's ends of the pipes to its own parent (when it is a ForkedChild): a new child
#: of ours closes them too
_to_parent_ends: list[int] = []
#: held from the making of a child's pipes to its registration (and around closing them): a fork
#: by another thread sees every pipe end open here registered, and none that was closed
_forking = _thread.allocate_lock()


class ForkedChild:
    """``work`` run in a forked child, with ``from_child`` pipes it writes and this process
    reads, and ``to_child`` pipes this process writes and it reads. Raises OSError when no pipe
    or child can be made (nothing is left open)."""

    def __init__(self, work: Work, from_child: int = 0, to_child: int = 0) -> None:
        self.pid = 0
        self.from_child: list[int] = []   # read ends, here
        self.to_child: list[int] = []     # write ends, here
        with _forking:
            to_parent: list[int] = []
            from_parent: list[int] = []
            try:
                for _ in range(from_child):
                    read, write = os.pipe()
                    self.from_child.append(read)
                    to_parent.append(write)
                for _ in range(to_child):
                    read, write = os.pipe()
                    self.to_child.append(write)
                    from_parent.append(read)
                parent = os.getpid()
                self.pid = os.fork()
            except OSError:
                _close(self.from_child + self.to_child + to_parent + from_parent)
                self.from_child, self.to_child = [], []
                raise
            if self.pid == 0:
                _run_child(work, parent, to_parent, from_parent, self.from_child + self.to_child)
            _close(to_parent + from_parent)
            _live.add(self)
        self._reaped = False

    @property
    def running(self) -> bool:
        """Not yet reaped (it may have exited already)."""
        return bool(self.pid) and not self._reaped

    def wait(self) -> None:
        """Wait for the child to end by itself, and reap it; idempotent."""
        if self.running:
            os.waitpid(self.pid, 0)
            self._reaped = True

    def stop(self) -> None:
        """Kill the child if it is not reaped yet, and reap it; idempotent."""
        if self.running:
            os.kill(self.pid, signal.SIGKILL)   # our own child, not yet reaped: its pid is not reused
            self.wait()

    def close(self) -> None:
        """Stop the child and close this process's ends of its pipes; idempotent."""
        self.stop()
        with _forking:
            _live.discard(self)
            _close(self.from_child + self.to_child)
            self.from_child, self.to_child = [], []

    def _disown(self) -> None:
        """In a new child of this process's: close its ends here and forget it (not ours)."""
        _close(self.from_child + self.to_child)
        self.from_child, self.to_child = [], []
        self.pid = 0


def _run_child(work: Work, parent: int, to_parent: list[int], from_parent: list[int],
               parents_ends: list[int]) -> None:
    """In the forked child: fence it off, run ``work``, exit; never returns."""
    global _forking, _to_parent_ends
    status = 1
    try:
        _forking = _thread.allocate_lock()   # the parent's is held: it stays so in this copy
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _die_with_parent()
        if os.getppid() != parent:
            return   # the parent died before the request: nobody waits for our work
        _close(parents_ends + _to_parent_ends)
        for sibling in _live:
            sibling._disown()
        _live.clear()
        _to_parent_ends = to_parent + from_parent
        work(to_parent, from_parent)
        status = 0
    finally:
        os._exit(status)


def _die_with_parent() -> None:
    """Ask the kernel for SIGKILL when the thread that forked us ends (best effort: a Python
    without ctypes goes without)."""
    try:
        import ctypes   # here only, in the child: ~3 ms the parent does not pay
    except ImportError:
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _close(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def pickled_error(error: BaseException) -> bytes:
    """``error`` pickled for the parent; one that does not pickle goes as a RuntimeError with
    its type and message."""
    try:
        return pickle.dumps(error)
    except Exception:  # noqa: BLE001 - an exception that does not pickle
        return pickle.dumps(RuntimeError(f"{type(error).__name__}: {error}"))

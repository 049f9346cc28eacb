"""sources.forked: what a forked child holds of its parent's other children, and what is left
open when no child can be made. (What the kernel sees of scanning's own children, SIGINT,
pipes and deaths, is in test_forked_children.py.)"""
from __future__ import annotations

import os
import resource

import pytest
from child_processes import children

from minfree.sources.forked import ForkedChild


def _echo(to_parent: list[int], from_parent: list[int]) -> None:
    os.write(to_parent[0], os.read(from_parent[0], 100))


def test_a_childs_copies_of_its_siblings_are_inert() -> None:
    """Closing, in a child, the parent's object of another child neither kills that sibling
    (not the child's to kill, nor to reap) nor touches the descriptor numbers it had."""
    sibling = ForkedChild(_echo, from_child=1, to_child=1)

    def close_sibling(to_parent: list[int], _from_parent: list[int]) -> None:
        sibling.close()
        os.write(to_parent[0], b"closed")

    other = ForkedChild(close_sibling, from_child=1)
    try:
        assert os.read(other.from_child[0], 10) == b"closed"
        other.wait()
        os.write(sibling.to_child[0], b"still here")
        assert os.read(sibling.from_child[0], 100) == b"still here"
    finally:
        other.close()
        sibling.close()
    assert not children()


def test_no_pipe_is_left_open_when_the_pipes_cannot_all_be_made() -> None:
    """Out of descriptors half way through the pipes: OSError, and every one made is closed."""
    opened = sorted(os.listdir("/proc/self/fd"))
    free = [fd for fd in range(len(opened) + 3) if str(fd) not in opened][:3]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (free[2] + 1, hard))   # room for one pipe and a half
    try:
        with pytest.raises(OSError):
            ForkedChild(_echo, from_child=50, to_child=50)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert sorted(os.listdir("/proc/self/fd")) == opened
    assert not children()

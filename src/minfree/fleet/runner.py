"""Run one piece of work on every host, at most ``forks`` at a time, each on its own SSH root.

Every host ends as a :class:`HostResult`: its value, or the one-line reason it failed (ssh's
own words for a refused key, an unreachable host, a timeout, a missing ``python3``). One host's
failure never stops the others: the fleet answers with what it could read.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from minfree.fleet.inventory import Host
from minfree.model.record import record
from minfree.sources.root import SystemRoot
from minfree.sources.ssh import RemoteError, SshOptions, abort_all, ssh_root

T = TypeVar("T")
Requests = tuple[tuple[str, str], ...]


@record
class HostResult(Generic[T]):
    """How one host's work ended: its value, or the one-line reason it failed (``error``), and the
    seconds it took."""

    host: Host
    value: T | None
    error: str | None
    seconds: float


def open_host(host: Host, options: SshOptions, requests: Requests = ()) -> SystemRoot:
    """The host's files over one ssh session (raises ``RemoteError``); ``requests`` are asked
    for as it opens (``sources.ssh.ssh_root``)."""
    return ssh_root(host.name, host.address, host.port, host.user, options, requests)


def _one(host: Host, task: Callable[[Host], T]) -> HostResult[T]:
    started = time.monotonic()
    try:
        value = task(host)
    except RemoteError as error:
        return HostResult(host, None, str(error), time.monotonic() - started)
    return HostResult(host, value, None, time.monotonic() - started)


def run_hosts(hosts: list[Host], options: SshOptions, work: Callable[[Host, SystemRoot], T],
              forks: int, requests: Requests = ()) -> list[HostResult[T]]:
    """``work(host, root)`` on every host, in inventory order, ``forks`` sessions at a time;
    ``requests``: what ``work`` will read, asked for in the session's first round trip."""
    def task(host: Host) -> T:
        with open_host(host, options, requests) as root:
            return work(host, root)

    return each_host(hosts, task, forks)


def each_host(hosts: list[Host], task: Callable[[Host], T], forks: int) -> list[HostResult[T]]:
    """``task(host)`` (which opens its own session) on every host, in inventory order, ``forks``
    at a time; a ``RemoteError`` is that host's failure."""
    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(forks, len(hosts))), thread_name_prefix="fleet") as pool:
        futures = [pool.submit(_one, host, task) for host in hosts]
        try:
            return [future.result() for future in futures]
        except BaseException:       # Ctrl-C: end every session now, start no other
            for future in futures:
                future.cancel()
            abort_all()
            raise

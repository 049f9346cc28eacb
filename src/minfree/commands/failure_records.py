"""Failed allocations as the eBPF program records them (its ring buffer, with kernel stacks),
each decoded and classified (:mod:`minfree.analysis.trace_window`): for ``minfree trace`` and
for the exporter's failures by class. The symbols of ``/proc/kallsyms`` (read before counting
starts, parsed when the first stack needs them) name each frame."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minfree.analysis.trace_window import Failure


class RingFailures:
    """Drains ``counter``'s ring buffer (a :class:`~minfree.sources.bpf.RawTracepointCounter`
    opened with ``records``); ``missing`` receives what it could not do (one line each)."""

    def __init__(self, counter, layout, kallsyms: str | None, missing: list[str]) -> None:
        self.counter = counter
        self.layout = layout
        self.kallsyms = kallsyms
        self.symbols = None
        self.missing = missing
        self._stacks: dict[int, tuple[str, ...]] = {}
        if not kallsyms:
            missing.append("call sites: /proc/kallsyms is unreadable")

    def drain(self, start: float) -> list[Failure]:
        """The failures recorded since the last drain (times from ``start``, monotonic s)."""
        from minfree.analysis.trace_window import failure_from_raw
        from minfree.sources.bpf import RECORD

        failures = []
        for raw in self.counter.ring.drain():
            ts, pid_tgid, gfp, order, migratetype, stack_id, comm = RECORD.unpack_from(raw)
            failures.append(failure_from_raw(
                ts / 1e9, pid_tgid & 0xFFFFFFFF, comm.split(b"\0", 1)[0].decode(errors="replace"), order,
                gfp, migratetype, self._stack(stack_id), self.layout, start))
        return failures

    def _stack(self, stack_id: int) -> tuple[str, ...]:
        from minfree.tracing.kallsyms import parse_kallsyms

        if stack_id not in self._stacks:
            if self.symbols is None and self.kallsyms:
                self.symbols = parse_kallsyms(self.kallsyms)
                if not self.symbols.addresses:
                    self.missing.append("call sites: /proc/kallsyms shows no addresses (kptr_restrict)")
            ips = self.counter.stack(stack_id)
            self._stacks[stack_id] = tuple(self.symbols.name(ip) for ip in ips) if self.symbols else ()
        return self._stacks[stack_id]


def kallsyms_text() -> str | None:
    """The running kernel's symbol list, read before counting starts."""
    from minfree.sources import specs
    from minfree.sources.readers import read_text
    from minfree.sources.root import SystemRoot

    return read_text(SystemRoot("/"), specs.KALLSYMS)

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
    opened with ``records``); ``missing`` receives what it could not do (one line each).

    Stacks are named from ``/proc/kallsyms``. ``minfree trace`` gives its text, read before
    counting started (a 5 MiB read on a host short of memory), and the parsed symbols are kept
    for its window. Without it (the exporter, which runs for months), the file is read and
    parsed when a drain meets stacks not named yet, and let go: kept, the parsed symbols
    (~30 MiB here for 5.2 MiB of text) would be most of the exporter's memory."""

    def __init__(self, counter, layout, missing: list[str], kallsyms: str | None = None, *,
                 keep: bool = False) -> None:
        self.counter = counter
        self.layout = layout
        self.missing = missing
        self.kallsyms = kallsyms
        self.keep = keep
        self.symbols = None
        self._stacks: dict[int, tuple[str, ...]] = {}
        self._said: set[str] = set()
        if keep and not kallsyms:
            self._say("call sites: /proc/kallsyms is unreadable")

    def drain(self, start: float) -> list[Failure]:
        """The failures recorded since the last drain (times from ``start``, monotonic s)."""
        from minfree.analysis.trace_window import failure_from_raw
        from minfree.sources.bpf import RECORD

        records = [RECORD.unpack_from(raw) for raw in self.counter.ring.drain()]
        self._name_stacks({record[5] for record in records} - self._stacks.keys())
        return [failure_from_raw(ts / 1e9, pid_tgid & 0xFFFFFFFF, comm.split(b"\0", 1)[0].decode(errors="replace"),
                                 order, gfp, migratetype, self._stacks[stack_id], self.layout, start)
                for ts, pid_tgid, gfp, order, migratetype, stack_id, comm in records]

    def _name_stacks(self, stack_ids: set[int]) -> None:
        if not stack_ids:
            return
        symbols = self._symbols()
        for stack_id in stack_ids:
            ips = self.counter.stack(stack_id)
            self._stacks[stack_id] = tuple(symbols.name(ip) for ip in ips) if symbols else ()

    def _symbols(self):
        from minfree.tracing.kallsyms import parse_kallsyms

        if self.symbols is not None:
            return self.symbols
        text = self.kallsyms if self.keep else kallsyms_text()
        if not text:
            self._say("call sites: /proc/kallsyms is unreadable")
            return None
        symbols = parse_kallsyms(text)
        if not symbols.addresses:
            self._say("call sites: /proc/kallsyms shows no addresses (kptr_restrict)")
        if self.keep:
            self.symbols = symbols
        return symbols

    def _say(self, line: str) -> None:
        if line not in self._said:
            self._said.add(line)
            self.missing.append(line)


def kallsyms_text() -> str | None:
    """The running kernel's symbol list, read before counting starts."""
    from minfree.sources import specs
    from minfree.sources.readers import read_text
    from minfree.sources.root import SystemRoot

    return read_text(SystemRoot("/"), specs.KALLSYMS)

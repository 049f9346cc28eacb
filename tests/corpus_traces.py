"""Corpus call traces split per printk caller, for the trace and origin tests."""
from __future__ import annotations

import re
from pathlib import Path

from minfree.logs.trace import Frame, parse_trace, trace_line_kind

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "logs"
# dmesg "[ ts]", printk caller "[ T123]", journal "kernel: "; one space after the stamp.
PREFIX = re.compile(r"^\[\s*\d+\.\d+\](?:\[\s*(?P<caller>[TC]\d+)\])?(?: kernel:)? ?")


def corpus_traces(name: str) -> list[tuple[str | None, list[str]]]:
    """Runs of trace lines of one corpus file, per printk caller (corpus 010 interleaves two)."""
    streams: dict[str | None, list[str]] = {}
    caller = None
    for raw in (CORPUS / name).read_text(encoding="utf-8", errors="replace").splitlines():
        m = PREFIX.match(raw)
        if m:
            caller = m.group("caller")
            raw = raw[m.end():]
        streams.setdefault(caller, []).append(raw)
    runs = []
    for who, lines in streams.items():
        run: list[str] = []
        for text in lines + [""]:
            if trace_line_kind(text) is not None:
                run.append(text)
            else:
                if parse_trace(run):
                    runs.append((who, run))
                run = []
    return runs


def corpus_frames(name: str, caller: str | None = None, index: int = -1) -> list[Frame]:
    runs = [run for who, run in corpus_traces(name) if caller is None or who == caller]
    return parse_trace(runs[index])

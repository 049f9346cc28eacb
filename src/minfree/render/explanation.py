"""One report explained in labelled sentences, as `minfree scan` prints its most telling event
and `minfree report` shows every report: the same words in both."""
from __future__ import annotations

from minfree.analysis.advice import advice
from minfree.analysis.explain import ExplainedEvent
from minfree.analysis.verdict import no_replay
from minfree.model import gfp


def explanation_rows(e: ExplainedEvent) -> list[tuple[str, str]]:
    """(label, sentence) pairs: kernel, what was asked for, where from, why it failed, an OOM
    kill nearby, what to do. Every sentence carries text from the log: never markup."""
    ev = e.event
    rows = [("Kernel", e.kernel.release if e.kernel else "unknown kernel")]
    if e.decoding is not None and ev.order is not None:
        rows.append(("What it asked for", gfp.explain(e.decoding, ev.order)))
    rows.append(("Where it came from", e.origin.detail))
    rows.append(("Why it failed", e.verdict.explanation if e.verdict is not None
                 else no_replay(e.dump, e.decoding, ev.what)))
    if ev.oom_nearby is not None:
        victim = ev.oom_nearby
        rss = f", anon-rss {victim.anon_rss_kb:,} kB" if victim.anon_rss_kb is not None else ""
        why = ("its memory cgroup was at its limit" if victim.memcg
               else "the host's memory was exhausted, not only fragmented or short of reserve")
        rows.append(("Nearby", f"the OOM killer killed {victim.comm} (pid {victim.pid}{rss}): {why}."))
    rows.append(("What to do", advice(e)))
    return rows

"""Human output of `minfree undo`: what was changed back, value by value and file by file; and
of `minfree undo --list`: every change with its values, files (under the config root it was
applied to) and reasons, newest first."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from minfree.render.undo_json import Entry, UndoOutcome, Unusable, ValueRestored, entry_files

if TYPE_CHECKING:
    from rich.console import Console

_FILE_ACTIONS = {
    "restored": "restored from its backup",
    "removed": "removed (the change created it)",
    "mode restored": "mode restored",
    "unchanged": "unchanged (already as before)",
}


def render_error(message: str, console: Console) -> None:
    console.print(f"minfree undo: {message}", style="red", markup=False)


def value_line(v: ValueRestored) -> str:
    """One value changed back; a value found different from the one the change wrote says so.

    >>> from types import SimpleNamespace as N
    >>> value_line(N(key="vm.min_free_kbytes", found=90112, before=67584, after=90112))
    'vm.min_free_kbytes 90112 -> 67584'
    >>> value_line(N(key="vm.min_free_kbytes", found=70000, before=67584, after=90112))
    'vm.min_free_kbytes 70000 -> 67584 (the change wrote 90112: the later value 70000 is reverted too)'
    >>> value_line(N(key="vm.watermark_scale_factor", found=10, before=10, after=50))
    'vm.watermark_scale_factor 10 (already the original)'
    """
    if v.found == v.before:
        return f"{v.key} {v.before} (already the original)"
    later = f" (the change wrote {v.after}: the later value {v.found} is reverted too)" if v.found != v.after else ""
    return f"{v.key} {v.found} -> {v.before}{later}"


def render(outcome: UndoOutcome, console: Console) -> None:
    done = outcome.restoration
    if outcome.entry is None or done is None:
        for message in outcome.messages:
            console.print(message, style=None if outcome.ok else "red", markup=False)
        return
    if outcome.ok:
        console.print(outcome.messages[0], style="bold green", markup=False)
    else:
        console.print(f"undo of {outcome.entry.id} is incomplete", style="bold red", markup=False)
    for value in done.values:
        console.print("  " + value_line(value), markup=False)
    for item in done.files:
        console.print(f"  {item.path}: {_FILE_ACTIONS.get(item.action, item.action)}", markup=False)
    for problem in done.problems:
        console.print(f"  NOT restored: {problem}", style="red", markup=False)
    for note in outcome.messages[1:] if outcome.ok else outcome.messages:
        if note not in done.problems:
            console.print(f"  {note}", markup=False)


def render_history(entries: Sequence[Entry | Unusable], console: Console) -> None:
    if not entries:
        console.print("no changes recorded", markup=False)
    for e in entries:
        if not hasattr(e, "id"):
            console.print(f"{e.name}  UNUSABLE: {e.reason}", style="bold red", markup=False)
            continue
        console.print(f"{e.id}  {e.created}  {e.status}", style="bold", markup=False)
        console.print("    " + ", ".join(f"vm.{k} {v.before}->{v.after}" for k, v in e.live.items()), markup=False)
        console.print("    files: " + ", ".join(entry_files(e)), markup=False)
        console.print(f"    why: {e.reason}", markup=False)
        for message in e.messages:
            console.print(f"    {message}", markup=False)

"""Human output of `minfree relieve`: how long it took, then per zone the free pages, the free
blocks per order and the fragmentation indices (as debugfs prints them) before and after."""
from __future__ import annotations

from typing import TYPE_CHECKING

from minfree.model.fragmentation import format_index
from minfree.model.rules import PAGE_ALLOC_COSTLY_ORDER
from minfree.render.relieve_json import Relief

if TYPE_CHECKING:
    from rich.console import Console


def render(relief: Relief, console: Console) -> None:
    sync = f" (sync {relief.sync_seconds:.3f} s)" if relief.sync_seconds is not None else ""
    console.print(f"{relief.action}: {relief.seconds:.3f} s{sync}", style="bold", markup=False)
    after = {(z.node, z.zone): z for z in relief.after}
    for old in relief.before:
        new = after.get((old.node, old.zone))
        if new is None:
            continue
        console.print(f"  node {old.node} {old.zone}: free {old.free_pages} -> {new.free_pages} pages",
                      markup=False)
        console.print("    free blocks per order: " + " ".join(map(str, old.free_blocks)), markup=False)
        console.print("                       -> " + " ".join(map(str, new.free_blocks)), markup=False)
        top = len(old.unusable) - 1
        for order in sorted({PAGE_ALLOC_COSTLY_ORDER, top}):   # and the highest order
            if order <= top:
                console.print(f"    order {order}: unusable {format_index(old.unusable[order])} -> "
                              f"{format_index(new.unusable[order])}, extfrag {format_index(old.extfrag[order])}"
                              f" -> {format_index(new.extfrag[order])}", markup=False)
    for note in relief.notes:
        console.print(f"  note: {note}", style="yellow", markup=False)


def render_error(message: str, console: Console) -> None:
    """Why nothing was done (not root, or the kernel refused the write)."""
    console.print(message, style="red", markup=False)

"""Human output of `minfree fleet`: one table of every node, the outliers, the failures of all
nodes on one timeline, then the hosts that did not answer, each with its reason."""
from __future__ import annotations

from typing import TYPE_CHECKING

from minfree.analysis import thresholds as T
from minfree.analysis.fleet import ClusterView, HostOutcome, NodeRow
from minfree.analysis.sizing import Proposal
from minfree.proc.sysctl_files import BootSetting

if TYPE_CHECKING:
    from rich.console import Console

_STATUS_STYLE = {"OK": "green", "WARNING": "yellow", "CRITICAL": "red", "UNKNOWN": "magenta"}
TIMELINE_LINES = 40


def _opt(value: object, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def _failures(row: NodeRow) -> str:
    if not row.failures:
        return "0"
    return f"{row.failures} (" + " ".join(f"o{o}×{n}" for o, n in row.by_order.items()) + ")"


def _origins(row: NodeRow) -> str:
    counts = row.by_origin or row.by_class     # fleet trace: the failure classes
    return ", ".join(f"{o} {n}" for o, n in sorted(counts.items(), key=lambda c: -c[1])[:2]) or "-"


def _table(columns: list[str]):
    from rich.table import Table

    table = Table(box=None, header_style="bold", padding=(0, 1), pad_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=True)
    return table


def render_cluster(command: str, outcomes: list[HostOutcome], view: ClusterView, status: str | None,
                   console: Console) -> None:
    answered = sum(1 for o in outcomes if o.error is None)
    head = f"minfree fleet {command}: {answered} of {len(outcomes)} hosts answered"
    if status is not None:
        head = f"[bold {_STATUS_STYLE[status]}]{status}[/]  " + head
    console.print(head)
    flagged = {o.host for o in view.outliers}
    doctor = command == "doctor"
    failures = _table(["host", "kernel", "status", "failures (by order)", "origins"] if doctor
                      else ["host", "kernel", f"failed in {_opt(view.rows[0].traced_s if view.rows else None)} s "
                            "(by order)", "classes"] if command == "trace"
                      else ["host", "failures (by order)", "origins"])
    settings = _table(["host", "min_free kB\nnow/default/tune", "wsf", "headroom\nMiB (%)",
                       f"unusable\norder {T.FLEET_FRAGMENTATION_ORDER}", "THP\nenabled/defrag",
                       "swappiness"])
    for row in view.rows:
        name = f"[bold red]{row.name}*[/]" if row.name in flagged else row.name
        if command == "trace":
            failures.add_row(name, _opt(row.kernel), _failures(row), _origins(row))
            continue
        if not doctor:
            failures.add_row(name, _failures(row), _origins(row))
            continue
        style = _STATUS_STYLE.get(row.status or "", "")
        failures.add_row(name, _opt(row.kernel), f"[{style}]{row.status}[/]" if style else _opt(row.status),
                         _failures(row), _origins(row))
        headroom = "-" if row.headroom_kb is None else (
            f"{row.headroom_kb // 1024}" + ("" if row.headroom_share is None else f" ({row.headroom_share:.0%})"))
        settings.add_row(name, f"{_opt(row.min_free_kbytes)}/{_opt(row.kernel_default_kb)}/{_opt(row.recommended_kb)}",
                         _opt(row.watermark_scale_factor), headroom, _opt(row.unusable, "{:.2f}"),
                         f"{_opt(row.thp_enabled)}/{_opt(row.thp_defrag)}", _opt(row.swappiness))
    if view.rows:
        console.print(failures)
        if doctor:
            console.print(settings)
    if view.outliers:
        console.print("[bold]outliers[/] (* in the table):")
        for o in view.outliers:
            console.print(f"  {o.host}: {o.kind}: {o.explanation}")
    elif len(view.rows) >= T.FLEET_MIN_NODES:
        console.print("outliers: none (settings agree, failures and headroom alike)")
    if view.timeline:
        dated = any(entry.at for entry in view.timeline)
        clock = ("UTC on each host's clock:" if command == "trace" else
                 "UTC from each host's boot time, approximate):" if dated else
                 "seconds after each host's boot: no boot time was read):")
        console.print(f"[bold]failures, all nodes[/] ({len(view.timeline)}; {clock}")
        for entry in view.timeline[-TIMELINE_LINES:]:
            when = entry.at or f"+{_opt(entry.since_boot_s, '{:.1f}')} s after boot"
            times = f" ×{entry.occurrences}" if entry.occurrences > 1 else ""
            console.print(f"  {when}  {entry.host}  {_opt(entry.process)} order {_opt(entry.order)}{times}  "
                          f"{entry.origin}" + (f"  ({entry.verdict})" if entry.verdict else ""))
        if len(view.timeline) > TIMELINE_LINES:
            console.print(f"  (the {len(view.timeline) - TIMELINE_LINES} earlier ones: --json)")
    _failed(outcomes, console)


def _failed(outcomes: list[HostOutcome], console: Console) -> None:
    for o in outcomes:
        if o.error is not None:
            console.print(f"[red]unreachable[/] {o.name} ({o.address}): {o.error}")


def render_snapshots(outcomes: list[HostOutcome], written: dict[str, str], console: Console) -> None:
    for o in outcomes:
        if o.error is None:
            console.print(f"{o.name}: {written[o.name]} ({o.seconds:.2f} s)")
    _failed(outcomes, console)


def render_tune(outcomes: list[HostOutcome], plans: dict[str, tuple[Proposal, dict[str, BootSetting]]],
                commands: list[str], console: Console) -> None:
    """Per node: each proposed value (or why it is refused) and the files that set it at boot."""
    for o in outcomes:
        if o.error is not None:
            continue
        proposal, boot = plans[o.name]
        console.print(f"[bold]{o.name}[/] (profile {proposal.profile})")
        for c in proposal.changes:
            verdict = f"[red]refused: {c.refused}[/]" if c.refused else (
                "unchanged" if c.proposed == c.current else f"{c.current} -> {c.proposed}")
            setting = boot.get(c.key)
            at_boot = f"; at boot {setting.value} from /{setting.path}:{setting.lineno}" if setting else ""
            console.print(f"  {c.key}: {verdict}{at_boot}")
    _failed(outcomes, console)
    console.print("Changes go through Ansible (check mode first, then serial batches):")
    for command in commands:
        console.print(f"  {command}", markup=False)

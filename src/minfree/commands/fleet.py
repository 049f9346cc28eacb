"""``minfree fleet doctor|scan|snapshot|trace|tune``: many hosts over SSH, agentless, one cluster view.

Hosts come from ``fleet.inventory`` (``-i`` Ansible INI/YAML or a plain list, or ``--hosts``);
each is read over one ssh session (``sources.ssh``: the OpenSSH client, BatchMode, host keys
verified) by ``fleet.runner``, ``--forks`` at a time, and analysed here with exactly the code
``--root`` uses (``doctor.diagnose``, ``scan.this_boot_failures``, ``actions.snapshot.capture``,
``analysis.sizing.propose``). The comparison is ``analysis.fleet``; output ``render.fleet_*``.
``fleet trace`` runs a bounded remote tracer on every host (``sources.ssh_trace``) and
classifies its records here with ``minfree trace``'s code. ``fleet tune`` only plans: changes
go through the Ansible role in ``deploy/ansible``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from pathlib import Path

from minfree.errors import UsageError

EXIT_OK = 0
EXIT_FAILED = 1
#: Where the role and playbooks live in a checkout (``fleet tune`` prints commands using them;
#: an installed minfree names them relative to a checkout: deploy/ansible/tune.yml).
ANSIBLE_DIR = Path(__file__).resolve().parents[3] / "deploy" / "ansible"

EXAMPLES = """examples:
  minfree fleet doctor -i inventory.ini           every node side by side, outliers flagged
  minfree fleet doctor --hosts db1,db2,db3 --json
  minfree fleet scan -i hosts.yml --forks 20      this boot's failures of every node, one timeline
  minfree fleet snapshot -i inventory.ini snaps/  one snapshot per host (doctor --root snaps/db1.tar.gz)
  minfree fleet tune -i inventory.ini --profile aerospike   the plan per node and the playbook to run
  minfree fleet trace -i inventory.ini --duration 30 --become   every failed allocation of every node
  minfree fleet doctor -i inv --ssh-config ~/.ssh/fleet_config --become
"""


def add_parser(subparsers) -> None:
    fleet = subparsers.add_parser(
        "fleet", help="doctor, scan, snapshot, trace or plan tuning of many hosts over SSH",
        description="Run doctor, scan, snapshot or trace on many hosts over SSH (nothing installed on "
                    "them: the OpenSSH client, BatchMode, host keys verified as your ssh config "
                    "says) and compare them in one view. Exit status of doctor: the worst node's "
                    "(0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN: also when a host did not answer); "
                    "of the others: 0, or 1 when a host did not answer.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    target = common.add_mutually_exclusive_group(required=True)
    target.add_argument("-i", "--inventory", metavar="FILE",
                        help="Ansible inventory (INI or YAML) or a plain list of hosts")
    target.add_argument("--hosts", metavar="A,B,C", help="hosts by name ([user@]host[:port], ranges db[1:3])")
    common.add_argument("--forks", type=_forks, default=10, metavar="N", help="hosts at a time (default 10)")
    common.add_argument("--ssh-config", metavar="FILE", help="ssh configuration file, as ssh -F takes it")
    common.add_argument("--become", action="store_true", help="read as root on the hosts (sudo -n): "
                        "pagetypeinfo, debugfs, /dev/kmsg under dmesg_restrict")
    common.add_argument("--timeout", type=_seconds, default=60.0, metavar="SECONDS",
                        help="per host, for the whole session (default 60)")
    common.add_argument("--connect-timeout", type=_seconds, default=10.0, metavar="SECONDS",
                        help="per host, to connect (default 10)")
    common.add_argument("--json", action="store_true", help="one JSON document (schema in the README)")
    verbs = fleet.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    for verb, text in (("doctor", "diagnose every host and compare them"),
                       ("scan", "this boot's allocation failures of every host, on one timeline"),
                       ("snapshot", "capture every host into OUTDIR/<host>.tar.gz"),
                       ("trace", "count and classify every failed page allocation of every host "
                                 "for a window (root there: --become)"),
                       ("tune", "the tuning plan per host and the Ansible commands that apply it")):
        sub = verbs.add_parser(verb, parents=[common], help=text, description=text + ".",
                               epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
        if verb == "snapshot":
            sub.add_argument("out", metavar="OUTDIR", help="a new or empty directory")
        if verb == "trace":
            sub.add_argument("--duration", type=_seconds, default=10.0, metavar="SECONDS",
                             help="the window, the same on every host (default 10; hosts beyond "
                                  "--forks are traced after the first ones)")
        if verb == "tune":
            from minfree.analysis.sizing import PROFILES

            sub.add_argument("--profile", default="generic", choices=sorted(PROFILES),
                             help="workload profile (default: generic)")
        sub.set_defaults(run=run)


def _forks(text: str) -> int:
    if not text.isdecimal() or not 1 <= int(text) <= 500:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 500")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 3600 seconds")
    return value


def _hosts(args: argparse.Namespace):
    from minfree.fleet.inventory import InventoryError, parse_host_list, parse_inventory

    try:
        if args.hosts is not None:
            return parse_host_list(args.hosts)
        try:
            text = Path(args.inventory).read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise UsageError(f"-i {args.inventory}: {error.strerror or error}") from None
        hosts = parse_inventory(text, args.inventory)
    except InventoryError as error:
        raise UsageError(str(error)) from None
    if not hosts:
        raise UsageError(f"-i {args.inventory}: the inventory names no host")
    return hosts


def run(args: argparse.Namespace) -> int:
    from minfree.sources.ssh import SshOptions

    hosts = _hosts(args)
    if args.ssh_config is not None and not os.path.isfile(args.ssh_config):
        raise UsageError(f"--ssh-config {args.ssh_config}: no such file")
    options = SshOptions(args.ssh_config, args.become, args.timeout, max(1, round(args.connect_timeout)))
    if args.verb == "snapshot":
        return _snapshot(args, hosts, options)
    if args.verb == "tune":
        return _tune(args, hosts, options)
    if args.verb == "trace":
        return _trace(args, hosts, options)
    return _cluster(args, hosts, options)


def first_round(verb: str) -> tuple[tuple[str, str], ...]:
    """What ``verb`` reads on every host that can be named before anything is read: asked for
    in the session's first round trip (``sources.ssh``), beside the memory files. Only a speed
    hint: whatever else the readers want (per node, per interface, per sysctl.d file) is asked
    for when wanted. ``tests/fleet`` checks that doctor needs few more round trips.

    >>> ("read", "proc/sys/vm/lowmem_reserve_ratio") in first_round("doctor"), len(first_round("scan"))
    (True, 3)
    """
    from minfree.proc.sysctl import VM_SYSCTL_NAMES
    from minfree.proc.thp import KHUGEPAGED_NUMBERS
    from minfree.sources import specs

    log = (specs.VERSION.path, specs.KERNEL_LOG.path, specs.PROC_STAT.path)
    if verb == "scan":
        return tuple(("read", path) for path in log)
    thp = specs.THP_DIRS[0]
    reads = (specs.VERSION.path, *(specs.vm_sysctl(name).path for name in VM_SYSCTL_NAMES),
             *(f"{d}/enabled" for d in specs.THP_DIRS),
             *(f"{thp}/{leaf}" for leaf in ("defrag", "shmem_enabled", "khugepaged/defrag")),
             *(f"{thp}/khugepaged/{name}" for name in KHUGEPAGED_NUMBERS),
             specs.NODE_ONLINE.path, specs.SLABINFO.path,
             specs.LOWMEM_RESERVE_RATIO.path,       # after zoneinfo (see specs), as locally
             *log[1:])
    checks = (specs.NET_DIR, specs.SYSCTL_CONF)
    return (tuple(("read", path) for path in reads)
            + tuple(("exists", path + suffix) for path in checks for suffix in ("", ".readlink"))
            + tuple(("list", path) for path in (thp, specs.NET_DIR, *specs.SYSCTL_D_DIRS)))


def _outcomes(results):
    from minfree.analysis.fleet import HostOutcome

    return [HostOutcome(r.host.name, r.host.address, r.error, r.seconds) for r in results]


def _cluster(args: argparse.Namespace, hosts, options) -> int:
    from minfree.analysis.doctor import EXIT_CODES
    from minfree.analysis.fleet import build_cluster, fleet_status, node_from_doctor, node_from_scan
    from minfree.commands.doctor import diagnose
    from minfree.commands.scan import this_boot_failures
    from minfree.fleet.runner import run_hosts
    from minfree.sources.readers import read_boot_time, read_version

    doctor = args.verb == "doctor"

    def work(host, root):
        if doctor:
            report = diagnose(root, window=0)
            return report, report.failures, read_boot_time(root)
        version = read_version(root)
        return None, this_boot_failures(root, version.release if version else None), read_boot_time(root)

    results = run_hosts(hosts, options, work, args.forks, first_round(args.verb))
    outcomes = _outcomes(results)
    rows, logs, own = [], [], {}
    for result in results:
        if result.value is None:
            continue
        report, scan, boot = result.value
        name = result.host.name
        rows.append(node_from_doctor(name, report) if doctor else node_from_scan(name, scan))
        if scan is not None:
            logs.append((name, scan, boot))
        own[name] = _own_json(report, scan)
    view = build_cluster(rows, logs)
    failed = sum(1 for o in outcomes if o.error is not None)
    status = fleet_status([row.status for row in rows if row.status], failed) if doctor else None
    if args.json:
        from minfree.render.fleet_json import document, host_entry

        _print_json(document(args.verb, [host_entry(o, own.get(o.name)) for o in outcomes], view, status))
    else:
        from minfree.render.console import console
        from minfree.render.fleet_text import render_cluster

        render_cluster(args.verb, outcomes, view, status, console())
    if doctor:
        return EXIT_CODES[status]
    return EXIT_FAILED if failed else EXIT_OK


def _trace(args: argparse.Namespace, hosts, options) -> int:
    """Every host traced over the same window by the remote tracer (``sources.ssh_trace``),
    its records parsed and classified here with ``minfree trace``'s code."""
    from minfree.analysis.fleet import (build_cluster, node_from_trace, remote_layout, trace_timeline,
                                        trace_window)
    from minfree.fleet.runner import each_host
    from minfree.sources.ssh_trace import trace_host

    def task(host):
        remote = trace_host(host.address, host.port, host.user, options, args.duration)
        layout = remote_layout(remote.event_format, remote.release)
        missing = [] if remote.stacks else ["call sites: the stacktrace trigger was refused there"]
        window = trace_window(remote.text, layout, remote.start, args.duration, remote.lost,
                              {"records": "tracefs instance of the remote tracer, over ssh"}, missing)
        return remote, window, layout.name

    results = each_host(hosts, task, args.forks)
    outcomes = _outcomes(results)
    done = [(r.host.name, *r.value) for r in results if r.value is not None]
    rows = [node_from_trace(name, remote.release, window) for name, remote, window, _ in done]
    view = build_cluster(rows, [], trace_timeline([(name, window, remote.started_at, remote.start)
                                                   for name, remote, window, _ in done]))
    if args.json:
        from minfree.render.fleet_json import document, host_entry
        from minfree.render.trace_json import to_json

        own = {name: {"kernel": remote.release, **to_json(window, {}, None, table)}
               for name, remote, window, table in done}
        _print_json(document("trace", [host_entry(o, own.get(o.name)) for o in outcomes], view))
    else:
        from minfree.render.console import console
        from minfree.render.fleet_text import render_cluster

        render_cluster("trace", outcomes, view, None, console())
    return EXIT_FAILED if len(done) < len(hosts) else EXIT_OK


def _own_json(report, scan) -> dict:
    if report is not None:
        from minfree.render.doctor_json import to_json

        return to_json(report)
    if scan is None:
        return {"kernel_log": None}
    from minfree.render.scan_json import report_to_json

    return report_to_json(scan)


def _print_json(doc: dict) -> None:
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


def snapshot_name(host: str) -> str:
    """A file name for a host's snapshot: nothing of the name can leave OUTDIR.

    >>> snapshot_name("db1.dc2"), snapshot_name("../x;rm -rf /"), snapshot_name("..")
    ('db1.dc2.tar.gz', '_._x_rm_-rf__.tar.gz', '_..tar.gz')
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", host)
    return ("_" + safe[1:] if safe.startswith(".") else safe) + ".tar.gz"


def _snapshot(args: argparse.Namespace, hosts, options) -> int:
    from minfree.actions.snapshot import capture
    from minfree.fleet.runner import run_hosts

    out = Path(args.out)
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        if any(out.iterdir()):
            raise UsageError(f"{args.out}: not empty (snapshots are never written over)")
    except OSError as error:
        raise UsageError(f"{args.out}: {error.strerror or error}") from None
    names = {}
    for host in hosts:
        name = snapshot_name(host.name)
        while name in names.values():
            name = "_" + name
        names[host.name] = name

    def work(host, root):
        result = capture(out / names[host.name], source=root)
        return str(result.out), result.files, [{"path": p, "reason": r} for p, r in result.missing]

    results = run_hosts(hosts, options, work, args.forks, first_round("doctor"))
    outcomes = _outcomes(results)
    written = {r.host.name: r.value[0] for r in results if r.value is not None}
    if args.json:
        from minfree.render.fleet_json import document, host_entry

        own = {r.host.name: {"snapshot": r.value[0], "files": r.value[1], "missing": r.value[2]}
               for r in results if r.value is not None}
        _print_json(document("snapshot", [host_entry(o, own.get(o.name)) for o in outcomes], None))
    else:
        from minfree.render.console import console
        from minfree.render.fleet_text import render_snapshots

        render_snapshots(outcomes, written, console())
    return EXIT_FAILED if len(written) < len(hosts) else EXIT_OK


def _host_word(host) -> str:
    """A host as Ansible's comma-separated inventory takes it (``host:port``, ``[v6]:port``)."""
    if host.port is None:
        return host.address
    return f"[{host.address}]:{host.port}" if ":" in host.address else f"{host.address}:{host.port}"


def playbook_commands(args: argparse.Namespace, hosts) -> list[list[str]]:
    """The two ansible-playbook runs that apply the plan: check mode, then for real.

    >>> from minfree.fleet.inventory import parse_host_list
    >>> args = argparse.Namespace(inventory=None, profile="aerospike", ssh_config="my cfg", become=True)
    >>> check, apply = playbook_commands(args, parse_host_list("ops@db1:2222,ops@::1"))
    >>> print(shlex.join(check).replace(str(ANSIBLE_DIR), "DIR"))
    ansible-playbook -i db1:2222,::1, DIR/tune.yml -e minfree_profile=aerospike -u ops --ssh-common-args '-F '"'"'my cfg'"'"'' --become --check
    >>> apply == check[:-1]
    True
    """
    inventory = args.inventory if args.inventory else ",".join(_host_word(h) for h in hosts) + ","
    playbook = (ANSIBLE_DIR if ANSIBLE_DIR.is_dir() else Path("deploy/ansible")) / "tune.yml"
    argv = ["ansible-playbook", "-i", inventory, str(playbook), "-e", f"minfree_profile={args.profile}"]
    users = sorted({h.user for h in hosts if h.user})
    if not args.inventory and len(users) > 1:
        raise UsageError("--hosts names different users: write the hosts in an inventory "
                         "(ansible_user) so the playbook reaches each as its own user")
    if not args.inventory and users:
        argv += ["-u", users[0]]
    if args.ssh_config:
        argv += ["--ssh-common-args", f"-F {shlex.quote(args.ssh_config)}"]
    if args.become:
        argv += ["--become"]
    return [argv + ["--check"], argv]


def _tune(args: argparse.Namespace, hosts, options) -> int:
    from minfree.analysis.sizing import TUNABLE_KEYS, propose, summarize_failures
    from minfree.commands.scan import this_boot_failures
    from minfree.fleet.runner import run_hosts
    from minfree.sources.ssh import RemoteError
    from minfree.sources.system import load_system

    def work(host, root):
        state = load_system(root)
        if not state.zones or state.sysctls is None:
            raise RemoteError("cannot read /proc/zoneinfo or /proc/sys/vm there")
        scan = this_boot_failures(root, state.release)
        proposal = propose(state, profile=args.profile,
                           failures=summarize_failures(scan.events if scan else ()))
        boot = {k: v for k, v in state.boot_settings.items() if k in TUNABLE_KEYS}
        return proposal, boot

    commands = playbook_commands(args, hosts)
    results = run_hosts(hosts, options, work, args.forks, first_round("doctor"))
    outcomes = _outcomes(results)
    plans = {r.host.name: r.value for r in results if r.value is not None}
    if args.json:
        from minfree.render.fleet_json import document, host_entry

        own = {name: {"profile": p.profile,
                      "changes": [{"key": c.key, "current": c.current, "proposed": c.proposed,
                                   "reason": c.reason, "refused": c.refused} for c in p.changes],
                      "set_at_boot": {k: f"/{b.path}:{b.lineno}" for k, b in boot.items()}}
               for name, (p, boot) in plans.items()}
        _print_json(document("tune", [host_entry(o, own.get(o.name)) for o in outcomes], None,
                             playbook=commands))
    else:
        from minfree.render.console import console
        from minfree.render.fleet_text import render_tune

        render_tune(outcomes, plans, [shlex.join(c) for c in commands], console())
    return EXIT_FAILED if len(plans) < len(hosts) else EXIT_OK

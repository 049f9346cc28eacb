"""`minfree fleet` against real OpenSSH servers, one per network namespace, each serving a
different captured system (tests/fleet/captures.py): the cluster view, the outliers, a host
that is down, a host whose key changed, a host name with `;`, snapshots, the tuning plan."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tarfile
from pathlib import Path

import pytest

from minfree.cli import main

import sshd
from captures import KERNEL_FAILURES, make_capture

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sshd.available() is not None or not KERNEL_FAILURES.is_dir(),
                                                   reason=sshd.available() or "../shared/kernel-failures missing")]

OLD, NEW = "5.10.262-1node-2g", "6.1.192-1node-2g"
#: name -> (kernel-failures case, step, whole log with its failures?)
HOSTS = {
    "a": (OLD, "04-r1", False),
    "b": (OLD, "04-r1", False),
    "c": (OLD, "01-e1", True),       # exhausted to the watermarks, failures logged
    "d": (NEW, "04-r1", False),      # another kernel
    "g": (NEW, "01-e1", True),       # for the timeline across nodes
}
#: printk timestamps become dates from btime (fs/proc/stat.c); the captures hold no
#: /proc/stat, so host g gets one with this boot time.
G_BTIME = 1764686310


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    work = tmp_path_factory.mktemp("fleet")
    hosts = sshd.Fleet(work)
    try:
        for name, (case, step, failing) in HOSTS.items():
            root = make_capture(work / f"root-{name}", case, step, failing=failing)
            if name == "g":
                (root / "proc" / "stat").write_text(f"cpu  1 0 1 100 0 0 0 0 0 0\nbtime {G_BTIME}\n")
            hosts.add(name, root)
        hosts.add("down", work / "root-a", start=False)
        hosts.stall(hosts.add("hung", work / "root-a", start=False))
        hosts.stall(hosts.add("hung2", work / "root-a", start=False))
        changed = hosts.add("changed", work / "root-a")
        other = work / "other_ed25519"
        sshd._run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other))
        hosts.trust(changed, other)         # known_hosts now holds another key for it
        yield hosts
    finally:
        hosts.close()


def fleet_run(capsys, fleet: sshd.Fleet, *argv: str) -> tuple[int, str]:
    code = main(["fleet", *argv, "--ssh-config", str(fleet.ssh_config), "--connect-timeout", "5",
                 "--timeout", "60"])
    return code, capsys.readouterr().out


def inventory(fleet: sshd.Fleet, names: list[str]) -> str:
    path = fleet.workdir / ("inv-" + "-".join(names))
    path.write_text(fleet.inventory(names))
    return str(path)


def test_doctor_cluster_view_flags_the_outliers_and_names_each_failed_host(fleet, capsys) -> None:
    code, out = fleet_run(capsys, fleet, "doctor", "-i", inventory(fleet, ["a", "b", "c", "d", "down", "changed"]),
                          "--json")
    doc = json.loads(out)
    assert doc["schema"] == 1 and doc["command"] == "doctor"
    # the shape minfree report reads (README "fleet JSON"): keys only grow
    assert list(doc) == ["schema", "command", "status", "hosts", "nodes", "outliers", "timeline", "summary"]
    assert set(doc["nodes"][0]) == {
        "name", "kernel", "status", "failures", "by_order", "by_origin", "min_free_kbytes",
        "kernel_default_kb", "recommended_kb", "watermark_scale_factor", "swappiness", "thp_enabled",
        "thp_defrag", "headroom_kb", "headroom_share", "unusable", "atomic_failing_orders", "by_class",
        "traced_s"}
    assert {"name", "address", "error", "seconds"} <= set(doc["hosts"][0])
    assert [h["name"] for h in doc["hosts"]] == ["a", "b", "c", "d", "down", "changed"]
    errors = {h["name"]: h["error"] for h in doc["hosts"]}
    assert errors["a"] is errors["b"] is errors["c"] is errors["d"] is None
    assert "Connection refused" in errors["down"]
    assert errors["changed"].startswith("host key changed: refused")
    assert doc["summary"] == {"hosts": 6, "answered": 4, "failed": ["down", "changed"]}
    # each answering host carries its own doctor document, read from its own capture
    kernels = {h["name"]: h["kernel"] for h in doc["hosts"] if h["error"] is None}
    assert kernels == {"a": "5.10.0-46-amd64", "b": "5.10.0-46-amd64", "c": "5.10.0-46-amd64",
                       "d": "6.1.0-57-amd64"}
    status = {h["name"]: h["status"] for h in doc["hosts"] if h["error"] is None}
    assert status == {"a": "OK", "b": "OK", "c": "CRITICAL", "d": "OK"}
    assert doc["status"] == "CRITICAL" and code == 2
    rows = {row["name"]: row for row in doc["nodes"]}
    assert rows["c"]["failures"] == 6 and rows["c"]["by_order"] == {"1": 1, "2": 2, "3": 2, "4": 1}
    assert rows["a"]["failures"] == 0 and rows["a"]["min_free_kbytes"] == 45056
    assert rows["a"]["kernel_default_kb"] == 5656 and rows["d"]["kernel_default_kb"] == 5637
    assert rows["c"]["headroom_share"] < 0.05 < 0.9 < rows["a"]["headroom_share"]
    flagged = {(o["host"], o["kind"], o["key"]) for o in doc["outliers"]}
    assert flagged == {("d", "setting", "kernel"), ("c", "failing", "failures"),
                       ("c", "headroom", "headroom_share")}
    assert [(t["host"], t["order"]) for t in doc["timeline"]] == [("c", o) for o in (1, 2, 3, 2, 3, 4)]


def test_doctor_reads_a_captured_host_in_the_first_round_trip(fleet, capsys, monkeypatch) -> None:
    """Everything doctor reads of host c is asked for as the session opens (commands.fleet
    first_round): no request waits for another's answer (each would cost a round trip and
    the CPU of ssh, sshd and the collector passing it)."""
    from minfree.sources.ssh import SshSource

    asked = []
    original = SshSource._ask

    def counting(self, op, rel):
        asked.append(((op, rel) in self.prefetched, op, rel))
        return original(self, op, rel)

    monkeypatch.setattr(SshSource, "_ask", counting)
    code, out = fleet_run(capsys, fleet, "doctor", "--hosts", "c", "--json")
    assert code == 2 and json.loads(out)["hosts"][0]["error"] is None
    assert len(asked) > 40 and [(op, rel) for first, op, rel in asked if not first] == []


def test_doctor_text_shows_one_table_the_outliers_and_the_unreachable(fleet, capsys) -> None:
    code, out = fleet_run(capsys, fleet, "doctor", "--hosts", "a,b,c,down")
    assert code == 2
    assert out.startswith("CRITICAL  minfree fleet doctor: 3 of 4 hosts answered")
    assert "c*" in out and "6 (o1×1 o2×2 o3×2 o4×1)" in out
    assert "c: failing: 6 allocation failure(s)" in out
    assert "unreachable down" in out and "Connection refused" in out


def test_a_hung_host_times_out_alone_and_the_others_answer(fleet, capsys) -> None:
    code = main(["fleet", "scan", "--hosts", "hung,a", "--ssh-config", str(fleet.ssh_config),
                 "--connect-timeout", "1", "--timeout", "2", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    hung, a = doc["hosts"]
    assert a["error"] is None and hung["error"] is not None
    # ssh's own connect timeout (it covers the banner exchange) or minfree's session deadline
    assert "timed out" in hung["error"].lower() and hung["seconds"] < 5, hung


def test_ctrl_c_ends_every_session_at_once(fleet) -> None:
    child = subprocess.Popen([sys.executable, "-m", "minfree", "fleet", "scan", "--hosts", "hung,hung2",
                              "--ssh-config", str(fleet.ssh_config), "--timeout", "120", "--connect-timeout", "100"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(2)                # both sessions are waiting for a banner that never comes
        started = time.monotonic()
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=30) == 130
        assert time.monotonic() - started < 10
        assert child.stderr is not None and b"Traceback" not in child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_scan_puts_the_failures_of_every_node_on_one_timeline(fleet, capsys) -> None:
    code, out = fleet_run(capsys, fleet, "scan", "--hosts", "c,g,a", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["summary"]["failed"] == []
    timeline = doc["timeline"]
    assert sorted({t["host"] for t in timeline}) == ["c", "g"] and len(timeline) == 12
    # g knows its boot time: its entries are dated (UTC) and come first; c's keep seconds since boot
    dated = [t for t in timeline if t["at"] is not None]
    assert [t["host"] for t in dated] == ["g"] * 6 and timeline[:6] == dated
    assert dated == sorted(dated, key=lambda t: t["at"])
    from datetime import datetime, timezone
    first = dated[0]
    assert first["at"] == datetime.fromtimestamp(G_BTIME + first["since_boot_s"], timezone.utc).isoformat(
        timespec="seconds")
    assert {t["verdict"] for t in timeline} == {"below_watermark", "fragmented"}
    events = {h["name"]: len(h["events"]) for h in doc["hosts"]}     # each host's own scan document
    assert events == {"c": 6, "g": 6, "a": 0}


def test_a_host_name_with_a_semicolon_is_only_an_argument_of_ssh(fleet, capsys, tmp_path) -> None:
    marker = tmp_path / "pwned"
    name = f"a;touch${{IFS}}{marker}"
    fleet.hosts[name] = fleet.hosts["a"]       # an ssh config alias that reaches host a
    fleet._write_config()
    try:
        code, out = fleet_run(capsys, fleet, "doctor", "--hosts", f"{name},b,d", "--json")
    finally:
        del fleet.hosts[name]
        fleet._write_config()
    doc = json.loads(out)
    assert not marker.exists()
    entry = doc["hosts"][0]
    assert entry["name"] == name and entry["address"] == name
    # either ssh reached it through the alias or refused the name itself: never a shell
    print(entry["error"])
    assert entry["error"] is None or "hostname" in entry["error"].lower(), entry["error"]


def test_the_users_ssh_config_is_honoured_a_jump_host_too(fleet, capsys, tmp_path) -> None:
    """``jumped`` is reachable only through the ssh config: ProxyJump via host a (which then
    connects to its own address), as a bastion would."""
    config = tmp_path / "ssh_config"
    config.write_text(fleet.ssh_config.read_text()
                      + f"Host jumped\n  HostName {fleet.hosts['a'].address}\n  ProxyJump a\n")
    code = main(["fleet", "doctor", "--hosts", "jumped", "--ssh-config", str(config), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["hosts"][0]["error"] is None, doc["hosts"][0]["error"]
    assert code == 0 and doc["hosts"][0]["kernel"] == "5.10.0-46-amd64" and doc["hosts"][0]["root"] == "jumped:"


@pytest.mark.skipif(shutil.which("sudo") is None, reason="sudo is not installed (.ci/run installs it)")
def test_become_reads_through_sudo_without_a_prompt(fleet, capsys) -> None:
    """``--become``: the collector runs under ``sudo -n`` (root here needs no password, so it
    answers; a host where sudo wants one fails with sudo's own words). sudo resets the
    environment, so the test's root redirection is gone: the host serves this machine's /."""
    code, out = fleet_run(capsys, fleet, "doctor", "--hosts", "c", "--become", "--json")
    host = json.loads(out)["hosts"][0]
    assert host["error"] is None and host["kernel"] == os.uname().release
    assert "proc/pagetypeinfo" not in [gap["path"] for gap in host["gaps"]]   # root-only since 5.4


def test_snapshot_writes_one_capture_per_host_that_doctor_reads_back(fleet, capsys, tmp_path) -> None:
    out = tmp_path / "snaps"
    code, text = fleet_run(capsys, fleet, "snapshot", "--hosts", "c,down", str(out))
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["c.tar.gz"]
    assert "unreachable down" in text
    with tarfile.open(out / "c.tar.gz") as archive:
        names = archive.getnames()
    assert any(n.endswith("proc/zoneinfo") for n in names) and any(n.endswith("var/log/dmesg") for n in names)
    assert main(["doctor", "--root", str(out / "c.tar.gz"), "--window", "0", "--json"]) == 2
    local = json.loads(capsys.readouterr().out)
    assert local["failures_in_log"]["events"] == 6 and local["kernel"] == "5.10.0-46-amd64"


def test_tune_prints_the_plan_per_node_and_the_playbook_commands(fleet, capsys) -> None:
    inv = inventory(fleet, ["a", "c"])
    code, out = fleet_run(capsys, fleet, "tune", "-i", inv, "--profile", "aerospike", "--json")
    doc = json.loads(out)
    assert code == 0, (doc["hosts"][0]["kernel"], doc["hosts"][0]["root"], doc["hosts"][0]["failures_in_log"])
    plans = {h["name"]: h for h in doc["hosts"]}
    assert plans["a"]["profile"] == "aerospike"
    assert {c["key"] for c in plans["a"]["changes"]} == {"vm.min_free_kbytes", "vm.watermark_scale_factor"}
    check, apply = doc["playbook"]
    assert check[:3] == ["ansible-playbook", "-i", inv] and check[-1] == "--check"
    assert apply == check[:-1] and "minfree_profile=aerospike" in apply

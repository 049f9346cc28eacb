"""CLI wiring: usage errors, non-root refusals (nothing changed), the JSON schema on a captured host,
undo's history and report on temp trees, failures read from the log of the boot a root describes."""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from minfree.actions.apply import apply_changes
from minfree.actions.journal import Journal
from minfree.actions.sysctl import SysctlWriter
from minfree.errors import UsageError
from minfree.commands import relieve, tune, undo
from minfree.commands.tune import parse_settings

HOST = Path(__file__).parent.parent / "fixtures/tune/host-6.18"


def cli(argv, capsys):
    parser = argparse.ArgumentParser(prog="minfree")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (tune, undo, relieve):
        command.add_parser(sub)
    args = parser.parse_args(argv)
    return args.run(args), capsys.readouterr().out


def test_parse_settings_accepts_both_notations():
    assert parse_settings(["min_free_kbytes=90112", "vm/watermark_scale_factor = 50"]) == {
        "vm.min_free_kbytes": 90112, "vm.watermark_scale_factor": 50}


@pytest.mark.parametrize("bad", ["vm.swappiness=10", "min_free_kbytes", "min_free_kbytes=lots"])
def test_parse_settings_rejects(bad):
    with pytest.raises(UsageError):
        parse_settings([bad])


def test_dry_run_json_schema_on_a_captured_host(capsys, tmp_path):
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path), "--json",
                     "--set", "vm.min_free_kbytes=90112"], capsys)
    doc = json.loads(out)
    assert code == 0
    assert {"key", "current", "proposed", "reason", "bounds"} <= set(doc["changes"][0])
    zone = doc["predicted_zones"][2]
    assert set(zone) == {"node", "zone", "min", "low", "high", "promo", "protection"}
    assert zone["zone"] == "Normal" and zone["min"] > doc["predicted_zones_before"][2]["min"]
    assert doc["persist"] == {"file": "/etc/sysctl.d/99-minfree.conf", "shadowed_by": [], "also_set_by": [],
                              "sets_at_boot": []}


def test_human_output_explains_atomic_and_kswapd_windows(capsys, tmp_path):
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path), "--profile", "aerospike"], capsys)
    assert code == 0  # 1.1 GiB is above 5 % of this 7.6 GiB host: capped at the safe share
    assert "atomic MiB" in out and "lead MiB" in out and "node 0 Normal" in out


def test_apply_with_a_captured_root_is_a_usage_error(capsys, tmp_path):
    with pytest.raises(UsageError):
        cli(["tune", "--root", str(HOST), "--apply", "--yes", "--config-root", str(tmp_path)], capsys)


def test_non_root_changes_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    before = Path("/proc/sys/vm/min_free_kbytes").read_text()
    code, out = cli(["tune", "--set", "vm.min_free_kbytes=90112", "--apply", "--yes",
                     "--config-root", str(tmp_path / "c"), "--state-dir", str(tmp_path / "s")], capsys)
    assert code == 1 and "needs root" in out and "Nothing was changed" in out
    assert Path("/proc/sys/vm/min_free_kbytes").read_text() == before
    assert not (tmp_path / "c").exists() and not (tmp_path / "s").exists()
    for argv in (["undo", "--state-dir", str(tmp_path / "s")], ["relieve", "--compact"]):
        code, out = cli(argv, capsys)
        assert code == 1 and "needs root" in out


def test_undo_list_on_an_empty_journal(capsys, tmp_path):
    assert cli(["undo", "--list", "--state-dir", str(tmp_path)], capsys) == (0, "no changes recorded\n")


@pytest.fixture
def applied(tmp_path):
    """A change applied to a temp tree (fake /proc/sys/vm, Debian-like config with a shadowing
    line, resolved): the journal entry names one live value and two files."""
    vm = tmp_path / "proc/sys/vm"
    vm.mkdir(parents=True)
    (vm / "min_free_kbytes").write_text("67584\n")
    config = tmp_path / "config"
    (config / "etc/sysctl.d").mkdir(parents=True)
    (config / "etc/sysctl.conf").write_text("vm.min_free_kbytes = 1310720\n")
    result = apply_changes({"vm.min_free_kbytes": 90112}, {"vm.min_free_kbytes": "test"},
                           journal=Journal(tmp_path / "state"), writer=SysctlWriter(tmp_path),
                           config_root=config, resolve_conflicts=True)
    assert result.ok, result.messages
    return tmp_path


def test_undo_list_shows_files_under_the_config_root_of_the_change(capsys, applied):
    code, out = cli(["undo", "--list", "--state-dir", str(applied / "state")], capsys)
    assert code == 0 and "vm.min_free_kbytes 67584->90112" in out
    assert f"files: {applied}/config/etc/sysctl.d/99-minfree.conf, {applied}/config/etc/sysctl.conf" in out
    code, out = cli(["undo", "--list", "--json", "--state-dir", str(applied / "state")], capsys)
    entry = json.loads(out)["entries"][0]
    assert entry["files"] == [f"{applied}/config/etc/sysctl.d/99-minfree.conf", f"{applied}/config/etc/sysctl.conf"]
    assert entry["values"] == [{"key": "vm.min_free_kbytes", "before": 67584, "after": 90112}]


def test_undo_says_what_it_changed_back_value_by_value_and_file_by_file(capsys, applied, monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("minfree.actions.sysctl.SysctlWriter", lambda root: SysctlWriter(applied))  # not live
    moved = applied / "config"  # --config-root given: the one the change was applied to
    code, out = cli(["undo", "--state-dir", str(applied / "state"), "--config-root", str(moved)], capsys)
    assert code == 0, out
    assert out.splitlines()[1:] == [
        "  vm.min_free_kbytes 90112 -> 67584",
        f"  {moved}/etc/sysctl.d/99-minfree.conf: removed (the change created it)",
        f"  {moved}/etc/sysctl.conf: restored from its backup"]
    assert (applied / "proc/sys/vm/min_free_kbytes").read_text() == "67584\n"
    assert (moved / "etc/sysctl.conf").read_text() == "vm.min_free_kbytes = 1310720\n"
    code, out = cli(["undo", "--json", "--state-dir", str(applied / "state")], capsys)
    assert code == 0 and json.loads(out)["messages"] == ["nothing to undo"]


# a GFP_ATOMIC order-0 failure in a 6.18 kernel's log (network receive refill in softirq)
ATOMIC_FAILURE = """\
[  785.581198] kworker/3:2: page allocation failure: order:0, mode:0x820(GFP_ATOMIC), nodemask=(null),cpuset=/,mems_allowed=0
[  785.581211] CPU: 3 PID: 332 Comm: kworker/3:2 Not tainted 6.18.0 #4
[  785.581252] Call Trace:
[  785.581255]  <IRQ>
[  785.581271]  dump_stack_lvl+0x6d/0x95
[  785.581275]  warn_alloc+0xfe/0x160
[  785.581277]  __alloc_pages_slowpath.constprop.0+0xe07/0xe40
[  785.581284]  __alloc_pages_noprof+0x2cd/0x320
[  785.581298]  skb_page_frag_refill+0xd4/0x100
[  785.581302]  try_fill_recv+0x3ed/0x740 [virtio_net]
[  785.581304]  virtnet_poll+0x31f/0x349 [virtio_net]
[  785.581306]  net_rx_action+0x140/0x3c0
[  785.581322]  </IRQ>
"""


def test_failures_counted_are_those_of_the_boot_the_root_describes(capsys, tmp_path):
    host = tmp_path / "host"
    shutil.copytree(HOST, host)
    argv = ["tune", "--root", str(host), "--config-root", str(tmp_path / "c"), "--json"]
    code, out = cli(argv, capsys)
    without = json.loads(out)
    assert code == 0 and any(n.startswith("kernel log not read") for n in without["notes"])
    (host / "var/log").mkdir(parents=True)
    (host / "var/log/dmesg").write_text(ATOMIC_FAILURE)
    code, out = cli(argv, capsys)
    with_log = json.loads(out)
    assert code == 0 and not any("kernel log" in n for n in with_log["notes"])
    before, after = (next(c for c in doc["changes"] if c["key"] == "vm.watermark_scale_factor")
                     for doc in (without, with_log))
    assert after["proposed"] > before["proposed"] and "atomic failures" in after["reason"]


def test_a_missing_root_is_a_usage_error_as_in_doctor(capsys):
    from minfree.cli import main

    assert main(["tune", "--root", "/nonexistent-minfree-root"]) == 2
    assert capsys.readouterr().err == "minfree: error: --root /nonexistent-minfree-root: no such directory or archive\n"


def test_aerospike_floor_on_a_small_host_is_explained_and_capped(capsys, tmp_path):
    """The old output refused the profile's own documented floor with only "above the safe cap":
    now it says what the floor is for, what it would be here, and what to do; --force gives it."""
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path), "--profile", "aerospike"], capsys)
    assert code == 0 and "REFUSED" not in out
    assert ("  vm.min_free_kbytes: 67584 -> 397834\n      why: kernel default 67584 kB (thp rule); Aerospike best "
            "practices: at least 1.1 GiB, sized for its 1 GiB shared-memory allocations; that is 14% of this "
            "host's 7.6 GiB managed memory (safe: 5%, so a host under 22 GiB cannot hold it): capped at the safe "
            "397834 kB; --force applies the full floor") in out
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path), "--profile", "aerospike",
                     "--force", "--json"], capsys)
    mfk = json.loads(out)["changes"][0]
    assert (mfk["proposed"], mfk["refused"]) == (1153434, None) and "safe cap" in mfk["forced"]


def test_aerospike_advises_the_swappiness_doctor_accepts(capsys, tmp_path):
    """aerospike said `vm.swappiness 60 -> 0` while doctor warns that 0 raises the OOM risk."""
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path), "--profile", "aerospike"], capsys)
    assert "  advice: vm.swappiness 60 -> 1: Aerospike best practices: swap off or swappiness=0; 1, not 0" in out
    assert "-> 0:" not in out
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path), "--profile", "aerospike",
                     "--json"], capsys)
    (advice,) = [a for a in json.loads(out)["advice"] if a["key"] == "vm.swappiness"]
    assert advice["suggestion"] == "1"


def test_a_vendor_file_is_not_called_overridden_when_nothing_is_written(capsys, tmp_path):
    """/usr/lib/sysctl.d/50-vendor.conf sets watermark_scale_factor = 50; tune proposes no change to
    it: that file is what the boot applies, not something minfree's drop-in overrides."""
    vendor = tmp_path / "usr/lib/sysctl.d"
    vendor.mkdir(parents=True)
    (vendor / "50-vendor.conf").write_text("vm.watermark_scale_factor = 50\n")
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path)], capsys)
    assert "overridden" not in out
    assert ("    set at boot by /usr/lib/sysctl.d/50-vendor.conf:1: vm.watermark_scale_factor = 50 "
            "(minfree writes nothing for it)") in out
    assert f"  persist: {tmp_path}/etc/sysctl.d/99-minfree.conf (nothing to write)" in out   # under --config-root
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path), "--json"], capsys)
    assert json.loads(out)["persist"] == {
        "file": "/etc/sysctl.d/99-minfree.conf", "shadowed_by": [], "also_set_by": [],
        "sets_at_boot": ["/usr/lib/sysctl.d/50-vendor.conf:1: vm.watermark_scale_factor = 50"]}
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path), "--json",
                     "--set", "vm.watermark_scale_factor=200"], capsys)
    persist = json.loads(out)["persist"]
    assert persist["also_set_by"] == ["/usr/lib/sysctl.d/50-vendor.conf:1"] and persist["sets_at_boot"] == []


def test_a_watermark_scale_factor_that_changes_no_zone_is_said(capsys, tmp_path):
    """On this host min/4 is the gap in every zone up to watermark_scale_factor 21
    (mm/page_alloc.c __setup_per_zone_wmarks): 11 changes nothing, and the 'why' no longer claims
    "0.1 % of each zone between min and low" for the current 10."""
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path),
                     "--set", "vm.watermark_scale_factor=11"], capsys)
    assert "      why: set by the user (--set)\n" in out and "0.1 %" not in out
    code, plain = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path)], capsys)
    assert "      why: current 10 (no effect here: min/4 is the gap between min and low in every zone)\n" in plain
    assert ("      no effect: 11 changes no watermark here: in every zone min/4 is larger than managed x "
            "11/10000, and the kernel keeps the larger as the gap between min and low") in out
    assert "from 22 it moves the gap of at least one zone" in out
    assert "after" not in out   # no zone row changes
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path), "--json",
                     "--set", "vm.watermark_scale_factor=22"], capsys)
    doc = json.loads(out)
    assert doc["changes"][1]["no_effect"] is None and doc["predicted_zones"] != doc["predicted_zones_before"]
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path), "--json",
                     "--set", "vm.watermark_scale_factor=21"], capsys)
    doc = json.loads(out)
    assert doc["changes"][1]["no_effect"] and doc["predicted_zones"] == doc["predicted_zones_before"]

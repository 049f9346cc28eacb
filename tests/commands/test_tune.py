"""CLI wiring: usage errors, non-root refusals (nothing changed), the JSON schema on a captured host."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

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
    assert doc["persist"] == {"file": "/etc/sysctl.d/99-minfree.conf", "shadowed_by": [], "also_set_by": []}


def test_human_output_explains_atomic_and_kswapd_windows(capsys, tmp_path):
    code, out = cli(["tune", "--root", str(HOST), "--config-root", str(tmp_path), "--profile", "aerospike"], capsys)
    assert code == 1  # 1.1 GiB is above 5 % of this 7.6 GiB host: refused
    assert "REFUSED" in out and "atomic MiB" in out and "lead MiB" in out and "node 0 Normal" in out


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

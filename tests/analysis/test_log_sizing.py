"""scan sizes reserves as tune does when a report's dump shows enough: the machine read back
from real reports of real kernels (../shared/kernel-failures: 5.10 and 6.1, 1 and 2 GiB, the
module's min_free_kbytes 45056 and watermark_scale_factor 10 captured from /proc/sys/vm), and
the proposal compared with `minfree tune --root` on a capture of the same machine."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from minfree.analysis.log_sizing import machine_from_dump, size_from_log
from minfree.cli import main
from minfree.commands.scan import scan_inputs
from minfree.sources.logfiles import expand_paths

CASES = Path(__file__).resolve().parents[3] / "shared" / "kernel-failures"
pytestmark = pytest.mark.skipif(not CASES.is_dir(), reason="shared kernel-failures not beside the checkout")
NAMES = ["5.10.262-1node-1g", "5.10.262-1node-2g", "6.1.192-1node-1g", "6.1.192-1node-2g"]


def _scan(case: str):
    return scan_inputs(expand_paths([str(CASES / case / "dmesg.txt")]))


@pytest.mark.parametrize("case", NAMES)
def test_every_report_gives_back_the_machines_sysctls(case: str) -> None:
    """Σ of the lowmem zones' min is min_free_kbytes to a page per zone (4 kB each here; 5.10
    prints min with boost and no boost field: estimated from the min/4 gap), and the gap gives
    the scale factor; in all six reports of each case."""
    vm = CASES / case / "boot" / "proc" / "sys" / "vm"
    truth_mfk = int((vm / "min_free_kbytes").read_text())
    truth_wsf = int((vm / "watermark_scale_factor").read_text())
    report = _scan(case)
    assert len(report.events) == 6
    for item in report.events:
        sysctls = machine_from_dump(item).sysctls
        assert abs(sysctls.min_free_kbytes - truth_mfk) <= 4 * len(item.dump.zones), item.event.line
        assert sysctls.watermark_scale_factor == truth_wsf


def test_no_dump_or_no_kernel_gives_no_sizing() -> None:
    corpus = CASES.parent / "corpus" / "logs"
    (path,) = corpus.glob("034-*.log")   # Aerospike KB, 2.6.32: a trace, no Mem-Info
    assert size_from_log(scan_inputs(expand_paths([str(path)])).events) is None


@pytest.mark.parametrize("case", NAMES)
def test_scan_proposes_what_tune_proposes_on_a_capture_of_the_same_machine(case: str, tmp_path: Path, capsys) -> None:
    """tune --root on the case's boot capture with its dmesg as the log, and scan of the dmesg
    alone: the same decision for each key (min_free_kbytes kept, its current being above the
    sqrt-rule default plus the steps; watermark_scale_factor as below)."""
    root = tmp_path / "root"
    shutil.copytree(CASES / case / "boot" / "proc", root / "proc")
    (root / "var" / "log").mkdir(parents=True)
    shutil.copy(CASES / case / "dmesg.txt", root / "var" / "log" / "dmesg")
    main(["tune", "--root", str(root), "--config-root", str(tmp_path / "c"), "--json"])
    tune = {c["key"]: c for c in json.loads(capsys.readouterr().out)["changes"]}
    assert main(["scan", "--json", str(CASES / case / "dmesg.txt")]) == 0
    scan = {c["key"]: c for c in json.loads(capsys.readouterr().out)["sizing"]["changes"]}
    assert tune.keys() == scan.keys() == {"vm.min_free_kbytes", "vm.watermark_scale_factor"}
    for key in tune:
        assert (tune[key]["proposed"] == tune[key]["current"]) == (scan[key]["proposed"] == scan[key]["current"]), key
        assert tune[key]["refused"] is None and scan[key]["refused"] is None
    # 2 GiB: 100 moves the gaps; 1 GiB: min/4 is already above 1 % of each zone, so 100 would
    # change nothing and both keep 10, saying so
    wsf = 100 if case.endswith("2g") else 10
    assert tune["vm.watermark_scale_factor"]["proposed"] == scan["vm.watermark_scale_factor"]["proposed"] == wsf
    assert bool(tune["vm.watermark_scale_factor"]["no_effect"]) == bool(scan["vm.watermark_scale_factor"]["no_effect"]) \
        == (wsf == 10)
    assert abs(scan["vm.min_free_kbytes"]["proposed"] - tune["vm.min_free_kbytes"]["proposed"]) <= 8


def test_scan_text_shows_the_sizing_with_tunes_words(capsys) -> None:
    assert main(["scan", str(CASES / "6.1.192-1node-2g" / "dmesg.txt")]) == 0
    text = capsys.readouterr().out
    section = text[text.index("sizing, as `minfree tune` would"):]
    assert "  vm.watermark_scale_factor: 10 -> 100\n" in section
    assert "atomic failures in the log: kswapd started too late; keep 1 % ahead of min" in section
    assert "  note: a log shows no NIC, THP or MTU" in section


def test_a_file_scanned_by_two_processes_sizes_from_the_report_of_the_second_half(tmp_path: Path, monkeypatch,
                                                                               capsys) -> None:
    """scan streams its events, so the sizing is gathered as they go by: the latest report whose
    dump rebuilds a machine may be explained by the second scanning process, and comes back from
    it. The same file scanned as one stream and as two halves sizes from the same report."""
    import os

    from minfree.sources import logscan

    one = (CASES / NAMES[2] / "dmesg.txt").read_bytes()
    other = (CASES / NAMES[0] / "dmesg.txt").read_bytes()   # another kernel and machine, later in the file
    filler = b"".join(b"[%6d.000000] eth0: link is up, filler line for the split\n" % i for i in range(4000))
    path = tmp_path / "two.log"
    path.write_bytes(one + filler + filler + other)

    quiet = tmp_path / "quiet.log"   # a second input without reports: nothing of it may move the first's
    quiet.write_bytes(filler + filler)

    def sizing() -> dict:
        assert main(["scan", "--json", str(path), str(quiet)]) == 0
        return json.loads(capsys.readouterr().out)["sizing"]

    streamed = sizing()
    monkeypatch.setattr(logscan, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    split = sizing()
    assert split == streamed and streamed["source"] == str(path)
    assert streamed["line"] > one.count(b"\n") + 2 * filler.count(b"\n")   # the second report's

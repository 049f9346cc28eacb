"""What a reader of `minfree doctor` gets on a host in trouble: evidence in words, and the
kernel log's reports judged over a stated span (--since) with the last one dated (text and JSON).
The log is a real 6.1 kernel's (../shared/kernel-failures: six reports, 6.6 s to 71.8 s after boot)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from minfree.cli import main

from doctor_roots import fixture_root  # noqa: F401 (a pytest fixture)

FAILURES = Path(__file__).resolve().parents[3] / "shared" / "kernel-failures" / "6.1.192-1node-1g"
BTIME = 1764686310   # this VM's /proc/stat btime of 2025-12-02, kept in the capture

pytestmark = pytest.mark.skipif(not FAILURES.is_dir(), reason="shared kernel-failures not beside the checkout")


@pytest.fixture
def troubled(fixture_root: Path) -> Path:  # noqa: F811
    (fixture_root / "var" / "log").mkdir(parents=True)
    shutil.copy(FAILURES / "dmesg.txt", fixture_root / "var" / "log" / "dmesg")
    return fixture_root


def _doctor(root: Path, capsys, *extra: str) -> tuple[int, str, dict]:
    code = main(["doctor", "--root", str(root), "--window", "0", *extra])
    text = capsys.readouterr().out
    assert main(["doctor", "--root", str(root), "--window", "0", "--json", *extra]) == code
    return code, text, json.loads(capsys.readouterr().out)


def test_evidence_is_words_not_a_python_dict(troubled: Path, capsys) -> None:
    code, text, doc = _doctor(troubled, capsys)
    evidence = next(line for line in text.splitlines() if line.startswith("  evidence: events 6"))
    assert "{" not in evidence and "'" not in evidence
    assert "orders 1 (1), 2 (2), 3 (2), 4 (1)" in evidence
    assert "verdicts below watermark (3), fragmented (3)" in evidence
    finding = next(f for f in doc["findings"] if f["id"] == "recent_allocation_failures")
    assert finding["evidence"]["orders"] == {"1": 1, "2": 2, "3": 2, "4": 1}   # JSON stays data


def test_a_capture_judges_its_whole_boot_and_dates_the_last_report(troubled: Path, capsys) -> None:
    code, text, doc = _doctor(troubled, capsys)
    assert code == 2 and "kernel log: 6 failure report(s) this boot; the last at uptime 00:01:11" in text
    assert doc["failures_in_log"]["since_s"] is None and doc["failures_in_log"]["last"]["uptime_s"] == 71.837788
    (troubled / "proc" / "stat").write_text(f"cpu  10 0 5 900 0 0 0 0 0 0\nbtime {BTIME}\n")
    code, text, doc = _doctor(troubled, capsys)
    assert "the last at 2025-12-02 14:39:41 UTC" in text
    assert doc["failures_in_log"]["last"]["wall_clock"] == "2025-12-02T14:39:41+00:00"


def test_since_judges_only_the_recent_reports(troubled: Path, capsys) -> None:
    """--since 10s on a capture counts back from its newest report (71.8 s): the one at 71.8 s
    is judged, the five before it (6.6 .. 47.7 s) are counted as earlier and no longer raise the status;
    without the boot time the uptimes of the one boot compare the same way."""
    code, text, doc = _doctor(troubled, capsys, "--since", "10s")
    assert ("kernel log: 1 failure report(s) in the last 10s (--since), 5 earlier this boot (not judged); "
            "the last at uptime 00:01:11") in text
    (troubled / "proc" / "stat").write_text(f"cpu  10 0 5 900 0 0 0 0 0 0\nbtime {BTIME}\n")
    code, text, doc = _doctor(troubled, capsys, "--since", "10s")
    assert ("kernel log: 1 failure report(s) in the last 10s (--since), 5 earlier this boot (not judged); "
            "the last at 2025-12-02 14:39:41 UTC") in text
    log = doc["failures_in_log"]
    assert (log["events"], log["since_s"], log["earlier"], log["undated"]) == (1, 10.0, 5, 0)
    finding = next(f for f in doc["findings"] if f["id"] == "recent_allocation_failures")
    assert finding["evidence"]["events"] == 1
    assert main(["doctor", "--root", str(troubled), "--window", "0", "--since", "boot", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["failures_in_log"]["events"] == 6


def test_since_takes_a_time(troubled: Path, capsys) -> None:
    """--since 2025-12-02T14:39:40Z on the dated capture: the last report (14:39:41) only."""
    (troubled / "proc" / "stat").write_text(f"cpu  10 0 5 900 0 0 0 0 0 0\nbtime {BTIME}\n")
    code, text, doc = _doctor(troubled, capsys, "--since", "2025-12-02T14:39:40+00:00")
    log = doc["failures_in_log"]
    assert (log["events"], log["earlier"]) == (1, 5)
    assert log["start"]["wall_clock"] == "2025-12-02T14:39:40+00:00"
    assert ("kernel log: 1 failure report(s) since 2025-12-02 14:39:40 UTC (--since), 5 earlier this boot "
            "(not judged); the last at 2025-12-02 14:39:41 UTC") in text


def test_since_rejects_what_is_neither_a_span_nor_a_time(troubled: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["doctor", "--root", str(troubled), "--since", "yesterday"])
    assert exit_.value.code == 2 and "not a span or a time: 'yesterday'" in capsys.readouterr().err


def test_doctor_accepts_what_tune_advises(fixture_root: Path, capsys) -> None:  # noqa: F811
    """One rule for both commands: the swappiness aerospike advises draws no doctor warning, the
    value doctor asks for is that one, and the capped aerospike reserve is not "too high" for doctor."""
    sysctl = fixture_root / "proc" / "sys" / "vm"
    (sysctl / "swappiness").write_text("0\n")
    code, text, doc = _doctor(fixture_root, capsys)
    (finding,) = [f for f in doc["findings"] if f["id"] == "swappiness_zero"]
    assert finding["fix"].startswith("Use vm.swappiness=1 ")
    assert main(["tune", "--root", str(fixture_root), "--config-root", str(fixture_root), "--profile",
                 "aerospike", "--json"]) == 0
    tune = json.loads(capsys.readouterr().out)
    assert [a["suggestion"] for a in tune["advice"] if a["key"] == "vm.swappiness"] == ["1"]
    (sysctl / "swappiness").write_text("1\n")
    (sysctl / "min_free_kbytes").write_text(f"{tune['changes'][0]['proposed']}\n")
    code, text, doc = _doctor(fixture_root, capsys)
    assert not {"swappiness_zero", "min_free_too_high"} & {f["id"] for f in doc["findings"]}

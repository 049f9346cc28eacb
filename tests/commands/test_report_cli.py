"""``minfree report``: inputs recognised by content, hostile text escaped, the embedded data
re-readable, one-line errors."""
from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "render"))

import report_inputs  # noqa: E402
from minfree.cli import main  # noqa: E402
from minfree.commands.report import detect  # noqa: E402


class _Page(HTMLParser):
    """Every element and attribute of a page, and the text of the data script."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.scripts: list[tuple[dict, str]] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]
        if tag == "script":
            self._script = dict(attrs)
            self.scripts.append((self._script, ""))

    def handle_data(self, data) -> None:
        if self._script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag) -> None:
        if tag == "script":
            self._script = None


def _render(tmp_path: Path, *sources: str) -> tuple[str, _Page, dict]:
    out = tmp_path / "r.html"
    assert main(["report", "--from", *sources, "-o", str(out)]) == 0
    text = out.read_text()
    page = _Page()
    page.feed(text)
    [(attrs, data)] = page.scripts
    assert attrs == {"type": "application/json", "id": "minfree-data"}
    return text, page, json.loads(data)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("inputs")
    return {"snapshot": report_inputs.snapshot(tmp), "logs": report_inputs.logs(tmp),
            "history": report_inputs.history(tmp, hours=1), "fleet": report_inputs.fleet(tmp)}


def test_inputs_are_recognised_by_their_content(made, tmp_path: Path) -> None:
    renamed = tmp_path / "history.log"   # the name says log; the bytes say SQLite
    renamed.write_bytes(made["history"].read_bytes())
    plain_json = tmp_path / "other.json"
    plain_json.write_text('{"events": []}')
    assert detect(["live"]) == "live"
    assert detect([str(made["snapshot"])]) == "snapshot"
    assert detect([str(renamed)]) == "history"
    assert detect([str(made["fleet"])]) == "fleet"
    assert detect([str(made["logs"])]) == "logs"
    assert detect([str(plain_json)]) == "logs"
    assert detect([str(made["logs"]), str(made["logs"])]) == "logs"


def test_hostile_text_from_a_log_and_a_host_stays_text(made, tmp_path: Path) -> None:
    hostile = tmp_path / "kern<img src=x onerror=alert(2)>.log"
    hostile.write_bytes(made["logs"].read_bytes())
    for source in (hostile, made["fleet"]):
        text, page, data = _render(tmp_path, str(source))
        assert report_inputs.HOSTILE_COMM not in text          # only its escaped form
        assert "&lt;svg/onload=x&gt;" in text
        assert "img" not in page.tags and not any(a.startswith("on") for a in page.attributes)
        assert page.tags.count("script") == 1
        assert report_inputs.HOSTILE_COMM in json.dumps(data, ensure_ascii=False)   # the data keeps it verbatim
    assert "onerror=alert(2)" not in re.sub(r"&lt;img src=x onerror=alert\(2\)&gt;", "", text)


def test_a_snapshot_report_carries_doctor_scan_and_tune(made, tmp_path: Path) -> None:
    text, _, data = _render(tmp_path, str(made["snapshot"]))
    assert data["kind"] == "snapshot" and data["status"] == data["doctor"]["status"] == "CRITICAL"
    assert data["scan"]["events_total"] == 6 == len(data["scan"]["events"])
    assert text.count("<details><summary>[") == 6       # each report explained, collapsible
    assert {c["key"] for c in data["tune"]["changes"]} == {"vm.min_free_kbytes", "vm.watermark_scale_factor"}
    assert "A recording would add" in text and data["history"] is None
    # evidence in doctor's words, as `minfree doctor` prints it, not a JSON dump
    assert "<b>Evidence</b> (recent_allocation_failures): events 6;" in text and '"events": 6' not in text


def test_a_history_report_is_bucketed_and_counts_every_sample(made, tmp_path: Path) -> None:
    text, _, data = _render(tmp_path, str(made["history"]))
    history = data["history"]
    assert data["kind"] == "history" and history["samples"] == 3600 and history["bucket_seconds"] == 5.0
    for zone in history["zones"]:
        assert sum(p[1] for p in zone["points"]) == 3600 and len(zone["points"]) == 720
    assert len(history["failures"]) == 2 and data["status"] == "CRITICAL"
    assert "lowest free memory in a 5 s bucket" in text


def test_history_window_ends_at_the_last_sample(made, tmp_path: Path) -> None:
    out = tmp_path / "w.html"
    assert main(["report", "--from", str(made["history"]), "--window", "10m", "-o", str(out)]) == 0
    data = json.loads(re.search(r'id="minfree-data">(.*)</script>', out.read_text()).group(1))
    assert data["history"]["samples"] == 601   # both ends of the window are inclusive


@pytest.mark.parametrize("argv, message", [
    (["--from", "/nonexistent/x.log"], "/nonexistent/x.log"),
    (["--from", "SNAP", "--history", "/tmp/h.db"], "--history adds a recording to a live report"),
    (["--from", "BADFLEET"], "not a `minfree fleet ... --json` document"),
    (["--from", "EMPTYDB"], "not a minfree history database"),
    (["--profile", "nope"], "--profile 'nope'"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, made, tmp_path: Path, capsys) -> None:
    bad_fleet = tmp_path / "run.json"
    bad_fleet.write_text('{"hosts": 5}')
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"SQLite format 3\x00" + bytes(4080))
    empty.chmod(0o600)
    names = {"SNAP": str(made["snapshot"]), "BADFLEET": str(bad_fleet), "EMPTYDB": str(empty)}
    argv = [names.get(a, a) for a in argv]
    assert main(["report", *argv, "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "r.html").exists()


def test_the_output_is_never_written_through_a_link(made, tmp_path: Path, capsys) -> None:
    target = tmp_path / "victim"
    target.write_text("keep")
    (tmp_path / "r.html").symlink_to(target)
    assert main(["report", "--from", str(made["logs"]), "-o", str(tmp_path / "r.html")]) == 2
    assert target.read_text() == "keep" and "symlink" in capsys.readouterr().err


def test_a_fleet_run_of_odd_shapes_still_renders(tmp_path: Path) -> None:
    odd = tmp_path / "run.json"
    odd.write_text(json.dumps({"command": "<b>doctor</b>", "status": "nonsense",
                               "hosts": [{"name": 1, "error": None, "findings": "x"},
                                         {"name": "h2", "findings": [{"severity": "critical", "title": None}, 3]}],
                               "nodes": [{"name": None, "by_order": [1], "by_origin": {"net-rx": "many"}},
                                         {"name": "h2", "by_order": {"1": 2, "2": True}}],
                               "outliers": [{}, {"host": "h2", "kind": "setting"}]}))
    text, page, data = _render(tmp_path, str(odd))
    assert data["status"] == "UNKNOWN" and "<b>doctor" not in text and "&lt;b&gt;doctor&lt;/b&gt;" in text
    assert '<span class="status UNKNOWN">' in text and "order 1" in text


def test_a_live_report_can_carry_the_recorded_history(made, tmp_path: Path) -> None:
    out = tmp_path / "live.html"
    assert main(["report", "--history", str(made["history"]), "-o", str(out)]) == 0
    text = out.read_text()
    data = json.loads(re.search(r'id="minfree-data">(.*)</script>', text).group(1))
    assert data["kind"] == "live" and data["doctor"]["root"] == "/" and data["history"]["samples"] == 3600
    assert 'id="zones-over-time"' in text and 'id="tune"' in text and "A recording would add" not in text

"""deploy/systemd/minfree-watch.service: systemd accepts it, and its command line records."""
from __future__ import annotations

import configparser
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "minfree-watch.service"


def service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str   # systemd keys are case-sensitive
    parser.read(UNIT)
    return parser["Service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    here = Path(sys.executable).parent / "minfree"   # the unit names /usr/local/bin; verify needs it to exist
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/minfree", str(here)))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.live
def test_its_command_line_records(tmp_path: Path) -> None:
    args = shlex.split(service()["ExecStart"])
    assert args[:4] == ["/usr/local/bin/minfree", "watch", "--record", "--db"]
    assert args[4] == "/var/lib/minfree/history.db" and service()["StateDirectory"] == "minfree"
    state = tmp_path / "minfree"
    state.mkdir(mode=0o700)
    args[4] = str(state / "history.db")
    done = subprocess.run([sys.executable, "-m", "minfree", *args[1:], "--count", "2"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sqlite3.connect(state / "history.db").execute("SELECT count(*) FROM samples").fetchone() == (2,)

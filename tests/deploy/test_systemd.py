"""The systemd units: systemd-analyze verifies them, and their command lines are ones minfree accepts."""
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"


def exec_start(unit: Path) -> list[str]:
    line = next(l for l in unit.read_text().splitlines() if l.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_units_present():
    names = sorted(p.name for p in UNITS.iterdir())
    assert names == ["minfree-exporter-textfile.service", "minfree-exporter-textfile.timer",
                     "minfree-exporter.service", "minfree-watch.service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing (.ci/run installs systemd)")
def test_units_verify(tmp_path):
    minfree = Path(sys.executable).with_name("minfree")
    for unit in UNITS.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace("/usr/local/bin/minfree", str(minfree)))
    done = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_command_lines_parse_and_listen_on_loopback():
    from minfree.cli import _parser

    server = exec_start(UNITS / "minfree-exporter.service")
    args = _parser("exporter").parse_args(server[1:])
    assert args.listen == ("127.0.0.1", 9723) and args.textfile is None
    textfile = exec_start(UNITS / "minfree-exporter-textfile.service")
    args = _parser("exporter").parse_args(textfile[1:])
    assert args.textfile == "/var/lib/prometheus/node-exporter"
    assert "Type=oneshot" in (UNITS / "minfree-exporter-textfile.service").read_text()
    assert "OnUnitActiveSec=" in (UNITS / "minfree-exporter-textfile.timer").read_text()


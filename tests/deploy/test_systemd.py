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


@pytest.mark.live
@pytest.mark.root
@pytest.mark.skipif(shutil.which("setpriv") is None or __import__("os").geteuid() != 0,
                    reason="needs root and setpriv")
def test_the_exporter_unit_capabilities_are_enough_to_count_failures():
    """Root bounded to the unit's CapabilityBoundingSet (setpriv, as systemd bounds it) still
    opens the in-kernel counter of failed allocations."""
    import socket
    import time
    import urllib.request

    unit = (UNITS / "minfree-exporter.service").read_text()
    caps = next(l for l in unit.splitlines() if l.startswith("CapabilityBoundingSet=")).split("=", 1)[1].split()
    bounding = "-all," + ",".join("+" + cap.removeprefix("CAP_").lower() for cap in caps)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["setpriv", f"--bounding-set={bounding}", sys.executable, "-m", "minfree", "exporter",
                             "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert 'minfree_failed_allocations_available{method="ebpf",reason=""} 1.0' in body

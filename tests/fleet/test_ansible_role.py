"""The Ansible role (deploy/ansible) applied to two real sshd hosts and undone, with the
commands `minfree fleet tune` prints: check mode first (nothing changes; the conflict with
Debian's 99-sysctl.conf -> ../sysctl.conf is reported and stops the host), then the real run
(installs minfree from a wheel, applies, keeps the symlink), then undo.yml.

Both hosts are namespaces of this machine, so they share one kernel: the first host's change
is live for the second, which then has nothing to change. The live values are restored in a
finally block whatever happens; each host has its own config root and journal."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from minfree.cli import main

import sshd

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KEYS = ("min_free_kbytes", "watermark_scale_factor")

pytestmark = [pytest.mark.slow, pytest.mark.root,
              pytest.mark.skipif(sshd.available() is not None or shutil.which("ansible-playbook", path=str(BIN)) is None,
                                 reason=sshd.available() or "ansible-core is not installed (pip install -e '.[test]')")]


def live(key: str) -> int:
    return int(Path(f"/proc/sys/vm/{key}").read_text())


@pytest.fixture
def original_sysctls():
    """The values the test starts from: min_free_kbytes at half of this host's value, below the
    kernel's default, so that tune has a change to make whatever the host's state (a healthy
    host's own values need none). The host's real values come back at the end, whatever happens."""
    saved = {key: live(key) for key in KEYS}
    try:
        Path("/proc/sys/vm/min_free_kbytes").write_text(f"{saved['min_free_kbytes'] // 2}\n")
        yield {key: live(key) for key in KEYS}
    finally:
        for key, value in saved.items():
            Path(f"/proc/sys/vm/{key}").write_text(f"{value}\n")


def config_root(path: Path, conflict: bool) -> Path:
    """Debian's layout: /etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf."""
    (path / "etc" / "sysctl.d").mkdir(parents=True)
    (path / "etc" / "sysctl.conf").write_text("# Debian's sysctl.conf\n" + (
        "vm.min_free_kbytes = 16384\n" if conflict else ""))
    (path / "etc" / "sysctl.d" / "99-sysctl.conf").symlink_to("../sysctl.conf")
    return path


def recap(stdout: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP: host -> its non-zero counts (``a : ok=3 changed=2 failed=1 ...``)."""
    lines = stdout.split("PLAY RECAP", 1)[1].splitlines()[1:]
    return {line.split()[0]: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line) if int(v) and k != "ok"}
            for line in lines if ":" in line}


def playbook(argv: list[str], env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    argv = [str(BIN / argv[0]), *argv[1:], *extra]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)


def test_role_checks_applies_in_batches_and_undoes(tmp_path, capsys, original_sysctls) -> None:
    fleet = sshd.Fleet(tmp_path)
    try:
        for name in ("a", "b"):
            fleet.add(name, None)                # each serves this machine's live /
        roots = {"a": config_root(tmp_path / "cr-a", conflict=True), "b": config_root(tmp_path / "cr-b", conflict=False)}
        inventory = tmp_path / "inventory.ini"
        units = {n: tmp_path / f"systemd-{n}" for n in roots}      # not this machine's /etc
        for directory in units.values():
            directory.mkdir()
        inventory.write_text("[db]\n" + "".join(
            f"{n} minfree_config_root={roots[n]} minfree_state_dir={tmp_path / ('state-' + n)} "
            f"minfree_systemd_dir={units[n]}\n" for n in roots)
            + "[db:vars]\nansible_python_interpreter=/usr/bin/python3\n")
        # the hosts' namespaces reach no package index: minfree and its dependencies go as wheels
        wheels = tmp_path / "wheels"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(wheels), str(REPO)],
                       check=True, capture_output=True, timeout=900)
        venv = tmp_path / "venv"

        assert main(["fleet", "tune", "-i", str(inventory), "--ssh-config", str(fleet.ssh_config), "--json"]) == 0
        plan = json.loads(capsys.readouterr().out)
        check, apply = plan["playbook"]
        proposed = {c["key"]: c["proposed"] for c in plan["hosts"][0]["changes"]}
        env = {**os.environ, "ANSIBLE_HOME": str(tmp_path / "ansible"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "atmp"),
               "ANSIBLE_REMOTE_TMP": str(tmp_path / "rtmp"), "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp_path / "cp"), "ANSIBLE_STDOUT_CALLBACK": "default"}
        extra = ("-e", f"minfree_venv={venv} minfree_wheelhouse={wheels}")

        # 1. check mode on hosts without minfree: nothing is installed or changed
        done = playbook(check, env, *extra)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "minfree is not installed yet" in done.stdout and not venv.exists()
        assert {key: live(key) for key in KEYS} == original_sysctls
        assert not any(any(directory.iterdir()) for directory in units.values())    # no unit written
        assert "systemd is not PID 1 on a: the unit would be installed, not enabled" in done.stdout

        # 2. the real run: host a's conflict (sysctl.conf through the 99-sysctl.conf symlink)
        # is reported and stops the rollout before host b
        done = playbook(apply, env, *extra)
        assert done.returncode != 0, done.stdout
        assert "shadowed at boot by /etc/sysctl.d/99-sysctl.conf:2 (-> /etc/sysctl.conf)" in done.stdout
        assert "not applied on a: conflicts" in done.stdout
        counts = recap(done.stdout)
        assert list(counts) == ["a"] and counts["a"]["failed"] == 1     # b's batch never started
        assert {key: live(key) for key in KEYS} == original_sysctls

        # 3. check mode again, minfree installed: each host's plan, nothing changed
        done = playbook(check, env, *extra, "-e", "minfree_resolve_conflicts=true")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "vm.min_free_kbytes:" in done.stdout, done.stdout
        assert {key: live(key) for key in KEYS} == original_sysctls
        assert not (roots["a"] / "etc" / "sysctl.d" / "99-minfree.conf").exists()

        # 4. resolving conflicts: a applies (live, verified, persisted), b then has nothing to change
        done = playbook(apply, env, *extra, "-e", "minfree_resolve_conflicts=true")
        assert done.returncode == 0, done.stdout + done.stderr
        after = {key: live(key) for key in KEYS}
        assert after != original_sysctls
        assert after == {"min_free_kbytes": proposed["vm.min_free_kbytes"],
                         "watermark_scale_factor": proposed["vm.watermark_scale_factor"]}
        dropin = (roots["a"] / "etc" / "sysctl.d" / "99-minfree.conf").read_text()
        assert f"vm.min_free_kbytes = {after['min_free_kbytes']}" in dropin
        link = roots["a"] / "etc" / "sysctl.d" / "99-sysctl.conf"
        assert link.is_symlink() and os.readlink(link) == "../sysctl.conf"
        assert "# disabled by minfree tune" in (roots["a"] / "etc" / "sysctl.conf").read_text()
        assert not (roots["b"] / "etc" / "sysctl.d" / "99-minfree.conf").exists(), done.stdout
        counts = recap(done.stdout)
        assert counts["a"]["changed"] > 0 and "failed" not in counts["b"]
        # the exporter: its unit installed on both, run from the role's venv, verified by
        # systemd-analyze on the host; not enabled, as systemd is not PID 1 in these hosts
        for name, directory in units.items():
            unit = (directory / "minfree-exporter.service").read_text()
            assert f"ExecStart={venv}/bin/minfree exporter --listen 127.0.0.1:9723\n" in unit
            assert f"systemd is not PID 1 on {name}: the unit is installed, not enabled" in done.stdout
            verified = subprocess.run(["systemd-analyze", "verify", str(directory / "minfree-exporter.service")],
                                      capture_output=True, text=True, timeout=60)
            assert verified.returncode == 0 and verified.stderr == "", verified.stderr
        assert done.stdout.count("TASK [minfree : Verify the unit (systemd-analyze verify)]") == 2

        # 5. undo.yml: values and files back
        done = playbook([apply[0], "-i", str(inventory), str(REPO / "deploy" / "ansible" / "undo.yml"),
                         "--ssh-common-args", f"-F {fleet.ssh_config}"], env, *extra)
        assert done.returncode == 0, done.stdout + done.stderr
        assert {key: live(key) for key in KEYS} == original_sysctls
        assert not (roots["a"] / "etc" / "sysctl.d" / "99-minfree.conf").exists()
        assert (roots["a"] / "etc" / "sysctl.conf").read_text().endswith("vm.min_free_kbytes = 16384\n")
        assert link.is_symlink()
    finally:
        fleet.close()

"""`minfree fleet` as a command: usage errors in one line, exit codes, JSON of hosts that did
not answer, the reader going away. (The real sshd hosts are in tests/fleet/.)"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from minfree.cli import main

#: Nothing listens on port 1 of the loopback: ssh is refused at once.
REFUSED = "127.0.0.1:1"


@pytest.mark.parametrize("argv, message", [
    (["fleet", "doctor", "-i", "/nonexistent/inventory"], "-i /nonexistent/inventory: No such file or directory"),
    (["fleet", "doctor", "--hosts", " , "], "--hosts names no host"),
    (["fleet", "doctor", "--hosts=-oProxyCommand=sh"], "--hosts: host '-oProxyCommand=sh' is not usable (empty, a leading '-', whitespace or control characters)"),
    (["fleet", "doctor", "--hosts", "a", "--ssh-config", "/nonexistent"], "--ssh-config /nonexistent: no such file"),
    (["fleet", "tune", "--hosts", "ops@a,dba@b"], "--hosts names different users: write the hosts in an inventory "
                                                  "(ansible_user) so the playbook reaches each as its own user"),
])
def test_usage_errors_are_one_line_and_exit_2(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"minfree: error: {message}\n"


def test_an_inventory_error_names_its_line(tmp_path, capsys) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[db]\ndb1\ndb2 ansible_port=ssh\n")
    assert main(["fleet", "scan", "-i", str(inventory)]) == 2
    assert capsys.readouterr().err == (f"minfree: error: {inventory}:3: port 'ssh' is not a number from 1 to 65535\n")


def test_a_refused_host_is_named_with_ssh_reason_and_doctor_is_unknown(capsys) -> None:
    assert main(["fleet", "doctor", "--hosts", REFUSED, "--json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "UNKNOWN" and doc["nodes"] == [] and doc["outliers"] == []
    (host,) = doc["hosts"]
    assert host["name"] == host["address"] == "127.0.0.1"
    assert host["error"] == "ssh: connect to host 127.0.0.1 port 1: Connection refused"
    assert set(host) == {"name", "address", "error", "seconds"}
    assert doc["summary"] == {"hosts": 1, "answered": 0, "failed": ["127.0.0.1"]}


def test_scan_and_snapshot_exit_1_when_a_host_did_not_answer(tmp_path, capsys) -> None:
    assert main(["fleet", "scan", "--hosts", REFUSED]) == 1
    assert "unreachable 127.0.0.1 (127.0.0.1): ssh: connect to host 127.0.0.1 port 1" in capsys.readouterr().out
    assert main(["fleet", "snapshot", "--hosts", REFUSED, str(tmp_path / "snaps")]) == 1
    assert list((tmp_path / "snaps").iterdir()) == []


def test_trace_names_a_refused_host_and_exits_1(capsys) -> None:
    assert main(["fleet", "trace", "--hosts", REFUSED, "--duration", "1", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "trace" and doc["nodes"] == [] and doc["timeline"] == []
    assert doc["hosts"][0]["error"] == "ssh: connect to host 127.0.0.1 port 1: Connection refused"


@pytest.mark.parametrize("duration", ["0", "-1", "3601", "ten"])
def test_trace_refuses_a_window_it_cannot_run(duration, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["fleet", "trace", "--hosts", "a", "--duration", duration])
    assert stopped.value.code == 2 and "--duration" in capsys.readouterr().err


def test_snapshot_never_writes_into_a_directory_that_holds_files(tmp_path, capsys) -> None:
    (tmp_path / "old.tar.gz").write_text("")
    assert main(["fleet", "snapshot", "--hosts", REFUSED, str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_exit_0_when_the_reader_goes_away() -> None:
    child = subprocess.Popen([sys.executable, "-m", "minfree", "fleet", "doctor", "--hosts", REFUSED],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    child.stdout.close()
    assert child.wait(timeout=60) == 0
    assert child.stderr is not None and child.stderr.read() == b""

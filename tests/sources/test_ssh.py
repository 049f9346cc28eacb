"""The SSH root's client side against peers that misbehave (a compromised or broken host):
every failure is a one-line RemoteError within the deadline, never a hang or a traceback.
The peer stands where ``ssh`` would: a process speaking on the session's stdin/stdout.
(Real sshd sessions: tests/fleet/.)"""
from __future__ import annotations

import sys
import time

import pytest

from minfree.sources.ssh import BOOTSTRAP, RemoteError, SshSource

#: A peer that takes what the client sends first (the modules' sizes, their sources, hello).
HELLO = ('import sys\nr = sys.stdin.buffer\nr.read(sum(int(n) for n in r.readline().split()[1::2]))\n'
         'r.readline()\n')
ANSWER = HELLO + 'sys.stdout.buffer.write(b"ok 0\\n"); sys.stdout.flush(); sys.stdin.buffer.readline()\n'


def peer(script: str) -> list[str]:
    return [sys.executable, "-I", "-c", script]


@pytest.mark.parametrize("script, reason", [
    (HELLO + "sys.stdout.write('Welcome to host\\n')", "the collector's answer is not a protocol line"),
    (HELLO + "sys.stdout.write('ok -1\\n')", "the collector's answer has no size, or more than it may send"),
    (HELLO + "sys.stdout.write('x' * (2 << 20))", "the collector's answer is not a protocol line"),
    (HELLO + "sys.stdout.write('ok 5\\nab')", "ssh exited with status 0"),
    (HELLO + "sys.stderr.write('bash: python3: command not found\\n'); sys.exit(127)",
     "bash: python3: command not found"),
    ("import sys; sys.exit(255)", "ssh exited with status 255"),
])
def test_a_broken_peer_fails_the_session_with_its_reason(script: str, reason: str) -> None:
    with pytest.raises(RemoteError) as caught:
        SshSource(peer(script), timeout=20)
    assert str(caught.value) == reason


def test_a_silent_peer_times_out() -> None:
    started = time.monotonic()
    with pytest.raises(RemoteError, match=r"^timed out after 1 s$"):
        SshSource(peer("import time; time.sleep(60)"), timeout=1)
    assert time.monotonic() - started < 10


def test_a_peer_cannot_make_us_buffer_more_than_a_file_may_hold() -> None:
    source = SshSource(peer(ANSWER + 'sys.stdout.buffer.write(b"ok 99999999999\\n"); sys.stdout.flush()'
                            '\nimport time; time.sleep(60)'), timeout=20)
    with pytest.raises(RemoteError, match="more than it may send"):
        source.read_bytes("proc/zoneinfo", 1 << 20)
    source.close()


def test_an_error_answer_is_the_oserror_a_local_read_raises() -> None:
    source = SshSource(peer(ANSWER + 'sys.stdout.buffer.write(b"err 20\\n13 Permission denied"); '
                            'sys.stdout.flush(); sys.stdin.buffer.readline()'), timeout=20)
    with pytest.raises(PermissionError):
        source.read_bytes("proc/pagetypeinfo", 1 << 20)
    source.close()


def test_the_first_round_is_answered_as_the_session_opens_and_served_again(tmp_path, monkeypatch) -> None:
    """The real collector (what ssh would start on the host) serving a directory: after the
    session opened the peer is gone, and the answers to its first round (a file, a missing
    file, a listing with an odd name, a link, existence) remain, each served to every call
    (doctor and fleet both read the boot time: one instant of the host, as a capture is)."""
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "zoneinfo").write_text("Node 0, zone      DMA\n")
    (tmp_path / "etc" / "sysctl.d").mkdir(parents=True)
    (tmp_path / "etc" / "sysctl.d" / "a b\nc.conf").write_text("vm.swappiness = 1\n")
    (tmp_path / "etc" / "sysctl.d" / "99-sysctl.conf").symlink_to("../sysctl.conf")
    monkeypatch.setenv("MINFREE_COLLECTOR_ROOT", str(tmp_path))
    first = (("read", "proc/zoneinfo"), ("read", "proc/buddyinfo"), ("list", "etc/sysctl.d"),
             ("readlink", "etc/sysctl.d/99-sysctl.conf"), ("readlink", "proc/zoneinfo"), ("exists", "etc"))
    source = SshSource([sys.executable, "-I", "-S", "-c", BOOTSTRAP], timeout=20, requests=first)
    source.process.kill()
    source.process.wait()
    assert source.read_bytes("proc/zoneinfo", 1 << 20) == b"Node 0, zone      DMA\n"
    with pytest.raises(FileNotFoundError):
        source.read_bytes("proc/buddyinfo", 1 << 20)
    assert source.listdir("etc/sysctl.d") == ["99-sysctl.conf", "a b\nc.conf"]
    assert source.readlink("etc/sysctl.d/99-sysctl.conf") == "../sysctl.conf"
    assert source.readlink("proc/zoneinfo") is None and source.lexists("etc") is True
    assert source.read_bytes("proc/zoneinfo", 1 << 20) == b"Node 0, zone      DMA\n"   # again, no round trip
    with pytest.raises(RemoteError):            # anything else asks the host, which is gone
        source.read_bytes("proc/meminfo", 1 << 20)
    source.close()


def test_a_file_larger_than_it_can_be_is_refused_like_a_local_one(tmp_path, monkeypatch) -> None:
    """The spec registry's bound applies over SSH too: EFBIG, and the session stays in step."""
    import errno

    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "meminfo").write_bytes(b"MemTotal: 1 kB\n" * 100)
    (tmp_path / "proc" / "version").write_text("Linux version 6.1.0\n")
    monkeypatch.setenv("MINFREE_COLLECTOR_ROOT", str(tmp_path))
    source = SshSource([sys.executable, "-I", "-S", "-c", BOOTSTRAP], timeout=20)
    with pytest.raises(OSError) as refused:
        source.read_bytes("proc/meminfo", 100)
    assert refused.value.errno == errno.EFBIG
    assert source.read_bytes("proc/version", 100) == b"Linux version 6.1.0\n"
    source.close()

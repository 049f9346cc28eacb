"""Real OpenSSH servers for the fleet tests and the fleet benchmark.

Each host is a network namespace made here (``mf<pid><fleet>h<n>``) joined to this namespace by a
veth pair on a private /30, with its own ``sshd`` (Debian's openssh-server) listening on the
namespace side only, and tracefs mounted in its mount namespace (the hosts share this kernel:
``fleet trace`` on them traces it). Each sshd serves a captured system: its ``sshd_config`` sets
``MINFREE_COLLECTOR_ROOT`` (``SetEnv``) so the collector reads that host's root directory
instead of ``/``. The client side is one ssh config file (``Host`` blocks with ``HostName``,
``Port``, ``User root``, a key made here, a known_hosts file made here and
``StrictHostKeyChecking yes``): ``minfree fleet --ssh-config`` takes it as ``ssh -F``.

Everything is undone by :meth:`Fleet.close` (sshd stopped by its own pid, namespaces and
veths deleted), also when a test fails.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
PRIVSEP_DIR = "/run/sshd"
_FLEETS = itertools.count()
_WITH_TRACEFS = 'mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; exec "$0" "$@"'


def available() -> str | None:
    """Why real sshd hosts cannot run here (None: they can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, sshd)"
    for tool in (SSHD, "ssh", "ssh-keygen", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (.ci/run installs openssh-server)"
    return None


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def _free_subnet() -> int:
    """A 10.X.0.0/16 no interface here uses (other developers make namespaces too)."""
    used = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=True).stdout
    for _ in range(200):
        second = random.randint(100, 249)
        if f" 10.{second}." not in used:
            return second
    raise RuntimeError("no free 10.X.0.0/16 for the test hosts")


@dataclass
class TestHost:
    name: str
    namespace: str
    address: str          # the namespace side of the veth
    root: Path | None     # the captured system this host serves (None: this machine's /)
    host_key: Path        # its ed25519 host key (private)
    process: subprocess.Popen | None = None


class Fleet:
    """Hosts in namespaces, one sshd each; ``ssh_config`` reaches them by name."""

    def __init__(self, workdir: Path, kex: str | None = None) -> None:
        """``kex``: the client's KexAlgorithms (None: OpenSSH's default)."""
        self.workdir = workdir
        self.kex = kex
        # unique per Fleet of this process; veth names stay within IFNAMSIZ (15)
        self.tag = f"mf{os.getpid() % 100000}{next(_FLEETS)}"
        self.subnet = _free_subnet()
        self.hosts: dict[str, TestHost] = {}
        self.client_key = workdir / "client_ed25519"
        self.known_hosts = workdir / "known_hosts"
        self.ssh_config = workdir / "ssh_config"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "minfree-test", "-f", str(self.client_key))
        (workdir / "authorized_keys").write_text(Path(f"{self.client_key}.pub").read_text())
        self.known_hosts.write_text("")
        self.home = workdir / "home"
        self.home.mkdir()
        self._write_config()

    def add(self, name: str, root: Path | None, *, start: bool = True, alias: str | None = None) -> TestHost:
        """A new host serving ``root`` (None: the live ``/``); ``start=False`` leaves it down."""
        index = len(self.hosts) + 1
        namespace = f"{self.tag}h{index}"
        outer, inner = f"10.{self.subnet}.{index // 64}.{(index % 64) * 4 + 1}", \
                       f"10.{self.subnet}.{index // 64}.{(index % 64) * 4 + 2}"
        veth = f"{self.tag}v{index}"
        _run("ip", "netns", "add", namespace)
        host = TestHost(name, namespace, inner, root, self.workdir / f"{namespace}_host_ed25519")
        self.hosts[alias or name] = host
        _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        _run("ip", "addr", "add", f"{outer}/30", "dev", veth)
        _run("ip", "link", "set", veth, "up")
        for argv in (("addr", "add", f"{inner}/30", "dev", "eth0"), ("link", "set", "eth0", "up"),
                     ("link", "set", "lo", "up")):
            _run("ip", "-n", namespace, *argv)
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host.host_key))
        self.trust(host)
        self._write_config()
        if start:
            self.start(host)
        return host

    def trust(self, host: TestHost, key: Path | None = None) -> None:
        """Record ``key`` (default: the host's own) as the host's key in known_hosts."""
        public = Path(f"{key or host.host_key}.pub").read_text().split()
        lines = [line for line in self.known_hosts.read_text().splitlines()
                 if not line.startswith(host.address + " ")]
        lines.append(f"{host.address} {public[0]} {public[1]}")
        self.known_hosts.write_text("\n".join(lines) + "\n")

    def start(self, host: TestHost) -> None:
        # sshd's privilege separation directory, as Debian's ssh.service makes it (RuntimeDirectory)
        os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
        config = self.workdir / f"{host.namespace}_sshd_config"
        config.write_text(
            f"ListenAddress {host.address}:22\n"
            f"HostKey {host.host_key}\n"
            f"PidFile {self.workdir / host.namespace}.pid\n"
            f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "MaxStartups 200\nMaxSessions 50\nLogLevel ERROR\n"
            "Subsystem sftp internal-sftp\n"
            # one SetEnv line (sshd takes the first): HOME is an empty directory, a server
            # account's plain shell (this machine's root dotfiles, pyenv init run by bash for
            # every ssh command, are not part of the simulated hosts); the collector's root
            f"SetEnv HOME={self.home}"
            + (f" MINFREE_COLLECTOR_ROOT={host.root}" if host.root is not None else "") + "\n")
        # ``ip netns exec`` mounts a fresh sysfs for the namespace: tracefs is mounted on it again
        # (in that mount namespace only), as a real host has it, for ``fleet trace``
        process = subprocess.Popen(["ip", "netns", "exec", host.namespace, "sh", "-c", _WITH_TRACEFS,
                                    SSHD, "-D", "-e", "-f", str(config)],
                                   stdout=subprocess.DEVNULL, stderr=open(self.workdir / f"{host.namespace}.log", "wb"))
        host.process = process
        self._wait_listening(host)

    def stall(self, host: TestHost) -> None:
        """Listen on the host's port 22 and never answer (a hung machine): the session times out."""
        listener = ("import socket,sys,time\ns=socket.socket()\ns.bind((sys.argv[1],22))\ns.listen(64)\n"
                    "held=[]\nwhile True: held.append(s.accept())\n")
        host.process = subprocess.Popen(["ip", "netns", "exec", host.namespace, sys.executable, "-c", listener,
                                         host.address], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_listening(host)

    def stop(self, host: TestHost) -> None:
        """Stop the host's sshd (its own pid): the host is down."""
        if host.process is not None:
            host.process.terminate()
            try:
                host.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                host.process.kill()
                host.process.wait()
            host.process = None

    def _wait_listening(self, host: TestHost) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and host.process is not None and host.process.poll() is None:
            out = subprocess.run(["ip", "netns", "exec", host.namespace, "ss", "-Hltn"],
                                 capture_output=True, text=True).stdout
            if f"{host.address}:22" in out:
                return
            time.sleep(0.05)
        log = self.workdir / f"{host.namespace}.log"
        raise RuntimeError(f"port 22 of {host.name} is not listening: " + (log.read_text() if log.exists() else ""))

    def _write_config(self) -> None:
        blocks = [f"Host {alias}\n  HostName {h.address}\n" for alias, h in self.hosts.items()]
        blocks.append("Host *\n  User root\n  Port 22\n"
                      f"  IdentityFile {self.client_key}\n  IdentitiesOnly yes\n"
                      f"  UserKnownHostsFile {self.known_hosts}\n  GlobalKnownHostsFile /dev/null\n"
                      "  StrictHostKeyChecking yes\n  UpdateHostKeys no\n  LogLevel ERROR\n"
                      + (f"  KexAlgorithms {self.kex}\n" if self.kex else ""))
        self.ssh_config.write_text("".join(blocks))

    def inventory(self, names: list[str] | None = None) -> str:
        """A plain host list of ``names`` (default: every host)."""
        return "".join(f"{n}\n" for n in (names or list(self.hosts)))

    def server_cpu_seconds(self) -> float:
        """CPU time of every host's sshd so far, with its finished sessions (sshd reaps them,
        so each session's sshd, shell and collector are in its children's times)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for host in self.hosts.values():
            if host.process is None or host.process.poll() is not None:
                continue
            try:
                fields = Path(f"/proc/{host.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(value) for value in fields[11:15])    # utime stime cutime cstime
        return total / tick

    def close(self) -> None:
        for host in self.hosts.values():
            self.stop(host)
            # sshd's per-connection processes outlive the listener; once the namespace's link is
            # gone no FIN reaches them (an ssh ControlPersist master closes later), and they
            # would wait on their sockets for good
            for pid in subprocess.run(["ip", "netns", "pids", host.namespace], capture_output=True,
                                      text=True).stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
        for index in range(1, len(self.hosts) + 1):
            subprocess.run(["ip", "link", "del", f"{self.tag}v{index}"], capture_output=True)

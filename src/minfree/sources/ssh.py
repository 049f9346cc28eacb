"""An SSH root: another machine's files, read over one OpenSSH session, agentless.

``ssh_root(...)`` starts the OpenSSH client (``ssh``, so ``~/.ssh/config``, ``-F FILE``, jump
hosts, agents and keys work as the user set them up) with ``BatchMode=yes`` (never a password
prompt) and host keys verified as the user's configuration says (never disabled here: an
unknown or changed key ends the session with its reason). The remote command is one constant
string: the target's ``python3 -I -S`` (isolated, no site packages) reads
:mod:`minfree.sources.ssh_collector` (and the :mod:`minfree.sources.kmsg` it uses) from the
session's stdin and serves files on the same session. No word of an inventory, a host name or
a path is ever part of a shell command: host, port and user are separate arguments of ``ssh``
after ``--``/``-p``/``-l``.

The root reads like a capture (``is_live`` false: nothing of this machine is read for it), and
through it the same readers, ``load_system``, ``capture`` and the scan read exactly the files
the spec registry names: the memory files in one batch as the session opens (one instant),
the others one request each. A file the target cannot read is a gap with the
target's reason; a session that fails (refused, timed out, closed) raises :class:`RemoteError`
naming why, so a host is either read or named as failed, never half-read.
"""
from __future__ import annotations

import errno
import json
import os
import select
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from minfree.sources import kmsg, specs, ssh_collector
from minfree.sources.root import SystemRoot, too_large

#: Run by the target's python3: load the modules sent first on stdin, then serve.
BOOTSTRAP = ("import sys,json,types;h=json.loads(sys.stdin.buffer.readline())\n"
             "for n,s in h[\"modules\"]:\n"
             " m=types.ModuleType(n);sys.modules[n]=m;exec(compile(s,n,\"exec\"),m.__dict__)\n"
             "sys.modules[h[\"main\"]].main()")
REMOTE_PYTHON = f"exec python3 -I -S -c '{BOOTSTRAP}'"
#: ``--become``: sudo without a prompt (-n): a password request fails the host with sudo's reason.
REMOTE_PYTHON_BECOME = f"exec sudo -n python3 -I -S -c '{BOOTSTRAP}'"
_MODULES = (kmsg, ssh_collector)


#: Sessions still open, so that an interrupted fleet run ends them all at once (abort_all).
_OPEN: set[SshSource] = set()
_OPEN_LOCK = threading.Lock()


def abort_all() -> None:
    """Kill every open session's ssh (Ctrl-C): each reader then fails at once, none waits out
    its timeout."""
    with _OPEN_LOCK:
        sessions = list(_OPEN)
    for session in sessions:
        session.process.kill()


class RemoteError(Exception):
    """The session failed (not one file): the host is reported failed with this reason."""


@dataclass(frozen=True, slots=True)
class SshOptions:
    """How every host is reached: ``config`` as ``ssh -F``; ``timeout`` bounds one host's whole
    session (connect, hello and every read), ``connect_timeout`` the TCP connect and handshake."""

    config: str | None = None
    become: bool = False
    timeout: float = 60.0
    connect_timeout: int = 10


def ssh_argv(address: str, port: int | None, user: str | None, options: SshOptions) -> list[str]:
    """The ``ssh`` command line for one host: options first, the destination after ``--``.

    >>> argv = ssh_argv("db1;reboot", 2222, "-oProxyCommand=x", SshOptions(config="cfg"))
    >>> argv[argv.index("-F"):-1], argv[-1] == REMOTE_PYTHON
    (['-F', 'cfg', '-p', '2222', '-l', '-oProxyCommand=x', '--', 'db1;reboot'], True)
    """
    argv = ["ssh", "-T", "-x", "-a", "-o", "BatchMode=yes", "-o", "ClearAllForwardings=yes",
            "-o", f"ConnectTimeout={options.connect_timeout}",
            "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
    if options.config:
        argv += ["-F", options.config]
    if port is not None:
        argv += ["-p", str(port)]
    if user:
        argv += ["-l", user]
    return argv + ["--", address, REMOTE_PYTHON_BECOME if options.become else REMOTE_PYTHON]


def ssh_failure(stderr: str, status: int | None) -> str:
    """One line saying why a session failed, from ssh's messages.

    >>> ssh_failure("@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\\nHost key verification failed.", 255)
    'host key changed: refused (known_hosts holds another key for this host)'
    >>> ssh_failure("ssh: connect to host 10.0.0.9 port 22: Connection refused\\n", 255)
    'ssh: connect to host 10.0.0.9 port 22: Connection refused'
    """
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr:
        return "host key changed: refused (known_hosts holds another key for this host)"
    if "Host key verification failed" in stderr:
        return "host key not verified: refused (add the host's key to known_hosts)"
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith(("Warning: Permanently", "**"))]
    if lines:
        return lines[-1][:300]
    return f"ssh exited with status {status}" if status is not None else "ssh ended the session"


class SshSource:
    """The files of one remote machine, read through the collector on one ssh session."""

    __slots__ = ("process", "deadline", "timeout", "stderr", "buffer", "hello", "prefetched")

    def __init__(self, argv: list[str], timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.stderr = tempfile.TemporaryFile()
        self.buffer = b""
        self.prefetched: dict[str, bytes | OSError] = {}
        try:
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=self.stderr, start_new_session=True)
        except OSError as error:
            self.stderr.close()
            raise RemoteError(f"cannot run ssh: {error.strerror or error}") from None
        with _OPEN_LOCK:
            _OPEN.add(self)
        payload = {"modules": [[m.__name__, Path(m.__file__).read_text()] for m in _MODULES],
                   "main": ssh_collector.__name__}
        try:
            self._send(json.dumps(payload).encode() + b"\n")
            self.hello = self._request("hello", specs.KERNEL_LOG.path)
        except BaseException:
            self.close()
            raise

    def _fail(self, what: str | None = None) -> RemoteError:
        if self.process.poll() is None:
            self.process.kill()
        status = self.process.wait()
        self.stderr.seek(0)
        message = ssh_failure(self.stderr.read(65536).decode("utf-8", "replace"), status)
        return RemoteError(what or message)

    def _send(self, data: bytes) -> None:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except (BrokenPipeError, ConnectionResetError):
            raise self._fail() from None

    def _fill(self) -> None:
        left = self.deadline - time.monotonic()
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise self._fail(f"timed out after {self.timeout:g} s")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise self._fail()
        self.buffer += chunk

    def _line(self) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) > 1 << 20:
                raise self._fail("the collector's answer is not a protocol line")
            self._fill()
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def _exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _request(self, op: str, rel: str) -> dict:
        self._send(json.dumps([op, rel]).encode() + b"\n")
        return self._answer(rel)

    def _answer(self, rel: str) -> dict:
        try:
            head = json.loads(self._line())
        except ValueError:
            raise self._fail("the collector's answer is not JSON") from None
        if not isinstance(head, dict):
            raise self._fail("the collector's answer is not a JSON object")
        if "err" in head:
            code = head["err"] if isinstance(head["err"], int) else errno.EIO
            raise OSError(code, str(head.get("msg") or os.strerror(code)), rel)
        return head

    def prefetch(self, rels: tuple[str, ...]) -> None:
        """Ask for every file of ``rels`` at once (one round trip, so that the memory files
        describe nearly one instant, as when read back to back locally); each is answered from
        here by the next :meth:`read_bytes` of it, once."""
        self._send(b"".join(json.dumps(["read", rel]).encode() + b"\n" for rel in rels))
        for rel in rels:
            try:
                self.prefetched[rel] = self._body(self._answer(rel))
            except OSError as error:
                self.prefetched[rel] = error

    def read_bytes(self, rel: str, limit: int) -> bytes:
        """The file's bytes; larger than ``limit`` (what that file can be) is refused as a local
        capture's would be (the body is still read: the session stays in step)."""
        found = self.prefetched.pop(rel, None)
        if isinstance(found, OSError):
            raise found
        data = found if found is not None else self._body(self._request("read", rel))
        if len(data) > limit:
            raise too_large(limit)
        return data

    def _body(self, head: dict) -> bytes:
        size = head.get("n")
        if not isinstance(size, int) or not 0 <= size <= ssh_collector.MAX_FILE:
            # a host is not trusted to size our memory: the collector never sends more
            raise self._fail("the collector's answer has no size, or more than it may send")
        return self._exact(size)

    def listdir(self, rel: str) -> list[str]:
        return [str(name) for name in self._request("list", rel).get("names") or ()]

    def readlink(self, rel: str) -> str | None:
        target = self._request("readlink", rel).get("target")
        return None if target is None else str(target)

    def lexists(self, rel: str) -> bool:
        return bool(self._request("exists", rel).get("exists"))

    def close(self) -> None:
        """End the session: stdin closed, the collector ends; ssh killed if it lingers."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()
        with _OPEN_LOCK:
            _OPEN.discard(self)


def ssh_root(name: str, address: str, port: int | None, user: str | None, options: SshOptions) -> SystemRoot:
    """The root of host ``name`` (reached at ``address``); raises :class:`RemoteError`."""
    source = SshSource(ssh_argv(address, port, user, options), options.timeout)
    try:
        source.prefetch(tuple(path for spec in specs.MEMORY_STATE for path in spec.paths))
    except BaseException:
        source.close()
        raise
    return SystemRoot(f"{name}:", source=source)     # shown as scp names it: db1:/var/log/dmesg

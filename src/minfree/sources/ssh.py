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
import os
import select
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from minfree.model.record import record
from minfree.sources import kmsg, specs, ssh_collector
from minfree.sources.root import SOSREPORT_MARKERS, SystemRoot, too_large

#: Run by the target's python3: load the modules sent first on stdin (a line of names and
#: sizes, then their sources), then serve with the last one.
BOOTSTRAP = ("import sys;r=sys.stdin.buffer;h=r.readline().split()\n"
             "for i in range(0,len(h),2):\n"
             " n=h[i].decode();m=type(sys)(n);sys.modules[n]=m;exec(compile(r.read(int(h[i+1])),n,\"exec\"),m.__dict__)\n"
             "m.main()")
REMOTE_PYTHON = f"exec python3 -I -S -c '{BOOTSTRAP}'"
#: ``--become``: sudo without a prompt (-n): a password request fails the host with sudo's reason.
REMOTE_PYTHON_BECOME = f"exec sudo -n python3 -I -S -c '{BOOTSTRAP}'"
#: The collector (last: the bootstrap runs its ``main``) and the module it uses.
COLLECTOR = (kmsg, ssh_collector)
#: What every session asks for as it opens, in one round trip: the memory files (so that they
#: describe nearly one instant, as when read back to back locally) and what a root checks first.
OPENING = (tuple(("read", path) for spec in specs.MEMORY_STATE for path in spec.paths)
           + tuple(("exists", marker) for marker in SOSREPORT_MARKERS))


def _payload(modules: tuple) -> bytes:
    """The bootstrap's input: ``NAME SIZE ...`` and the modules' sources, the one to run last."""
    sources = [(m.__name__, Path(m.__file__).read_bytes()) for m in modules]
    head = " ".join(f"{name} {len(source)}" for name, source in sources)
    return head.encode() + b"\n" + b"".join(source for _, source in sources)


def request(op: str, rel: str) -> bytes:
    """One protocol line (see :mod:`minfree.sources.ssh_collector`).

    >>> request("read", "proc/meminfo")
    b'read 70726f632f6d656d696e666f\\n'
    """
    return f"{op} {os.fsencode(rel).hex()}\n".encode()


#: Sessions still open, so that an interrupted fleet run ends them all at once (abort_all).
_OPEN: set[SshSession] = set()
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


@record
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


class SshSession:
    """One ssh process running ``modules`` (sent to the target's python3 by :data:`BOOTSTRAP`)
    that answers in frames, ``STATUS N`` and a newline, then N bytes; ``first`` is sent with
    the modules. Every wait is bounded by the session's deadline (``timeout`` from the start);
    a session that fails raises :class:`RemoteError` with ssh's own reason."""

    __slots__ = ("process", "deadline", "timeout", "stderr", "buffer")

    def __init__(self, argv: list[str], timeout: float, modules: tuple, first: bytes) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.stderr = tempfile.TemporaryFile()
        self.buffer = b""
        try:
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=self.stderr, start_new_session=True)
        except OSError as error:
            self.stderr.close()
            raise RemoteError(f"cannot run ssh: {error.strerror or error}") from None
        with _OPEN_LOCK:
            _OPEN.add(self)
        try:
            self._send(_payload(modules) + first)
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
            if len(self.buffer) > 1 << 10:
                raise self._fail("the collector's answer is not a protocol line")
            self._fill()
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def _exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def frame(self, statuses: tuple[bytes, ...]) -> tuple[bytes, bytes]:
        """The next ``(status, body)``; a status not in ``statuses``, or a size over what the
        collector may send, ends the session (a host is not trusted to size our memory)."""
        status, _, size = self._line().partition(b" ")
        if status not in statuses:
            raise self._fail("the collector's answer is not a protocol line")
        if not size.isdigit() or len(size) > 9 or int(size) > ssh_collector.MAX_FILE:
            raise self._fail("the collector's answer has no size, or more than it may send")
        return status, self._exact(int(size))

    def close(self) -> None:
        """End the session: stdin closed, the remote program ends; ssh killed if it lingers."""
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


def remote_error(body: bytes) -> OSError:
    """The ``OSError`` of an ``err`` frame's body, ``ERRNO MESSAGE``.

    >>> remote_error(b"13 Permission denied")
    PermissionError(13, 'Permission denied')
    """
    code, _, message = body.decode("utf-8", "replace").partition(" ")
    number = int(code) if code.isdigit() and len(code) < 6 else errno.EIO
    return OSError(number, message or os.strerror(number))


class SshSource(SshSession):
    """The files of one remote machine, read through the collector on one ssh session.

    ``requests`` (``(op, path)`` pairs, e.g. :data:`OPENING`) are sent with the collector
    as the session opens, and their answers read in the same round trip; each is then served
    from here to every call that asks for it (one instant of the host, as a capture is: doctor
    and fleet both read the boot time). Anything else is asked for when wanted.
    """

    __slots__ = ("hello", "prefetched")

    def __init__(self, argv: list[str], timeout: float, requests: tuple[tuple[str, str], ...] = ()) -> None:
        self.prefetched: dict[tuple[str, str], tuple[bytes, bytes] | OSError] = {}
        super().__init__(argv, timeout, COLLECTOR, request("hello", specs.KERNEL_LOG.path)
                         + b"".join(request(op, rel) for op, rel in requests))
        try:
            self.hello = self._answer("hello", specs.KERNEL_LOG.path)[1]
            for op, rel in requests:
                try:
                    self.prefetched[op, rel] = self._answer(op, rel)
                except OSError as error:
                    self.prefetched[op, rel] = error
        except BaseException:
            self.close()
            raise

    def _answer(self, op: str, rel: str) -> tuple[bytes, bytes]:
        """``(status, body)`` of the next answer; an ``err`` answer raises the ``OSError`` a
        local read would."""
        status, body = self.frame((b"ok", b"err", b"none"))
        if status == b"err":
            error = remote_error(body)
            error.filename = rel
            raise error
        return status, body

    def _ask(self, op: str, rel: str) -> tuple[bytes, bytes]:
        found = self.prefetched.get((op, rel))
        if isinstance(found, OSError):
            raise found
        if found is not None:
            return found
        self._send(request(op, rel))
        return self._answer(op, rel)

    def read_bytes(self, rel: str, limit: int) -> bytes:
        """The file's bytes; larger than ``limit`` (what that file can be) is refused as a local
        capture's would be (the body is still read: the session stays in step)."""
        data = self._ask("read", rel)[1]
        if len(data) > limit:
            raise too_large(limit)
        return data

    def listdir(self, rel: str) -> list[str]:
        body = self._ask("list", rel)[1]
        return [os.fsdecode(name) for name in body.split(b"\0")] if body else []

    def readlink(self, rel: str) -> str | None:
        status, body = self._ask("readlink", rel)
        return os.fsdecode(body) if status == b"ok" else None

    def lexists(self, rel: str) -> bool:
        return self._ask("exists", rel)[1] == b"1"


def ssh_root(name: str, address: str, port: int | None, user: str | None, options: SshOptions,
             requests: tuple[tuple[str, str], ...] = ()) -> SystemRoot:
    """The root of host ``name`` (reached at ``address``); raises :class:`RemoteError`.
    The memory files, then ``requests`` (what the caller will read), come in the first round trip."""
    source = SshSource(ssh_argv(address, port, user, options), options.timeout, OPENING + requests)
    return SystemRoot(f"{name}:", source=source)     # shown as scp names it: db1:/var/log/dmesg

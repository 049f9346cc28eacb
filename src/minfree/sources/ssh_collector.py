"""The remote end of an SSH root: a file server the fleet runs on each target, over one session.

Nothing is installed on the target: ``minfree.sources.ssh`` sends this module's source (and
:mod:`minfree.sources.kmsg`'s, which it uses) through the session's stdin to a constant
bootstrap run by the target's ``python3 -I -S``; only the standard library is needed there,
and only what the interpreter has loaded anyway plus ``errno`` and ``stat`` (no ``json``: its
import, with ``re``, costs as much CPU on the target as the interpreter's own start).

Protocol, one request per line on stdin, ``OP HEXPATH`` (the path's bytes in hexadecimal, so
any name a listing returns travels as it is); every answer is ``STATUS N`` and a newline,
then N bytes of body:

* ``hello KERNEL_LOG``: ``ok``, body ``UID PYTHON_VERSION``. ``KERNEL_LOG`` is the path under
  which the root serves the kernel log of this boot (``specs.KERNEL_LOG``): on the live root
  ``/`` its reads return the ``/dev/kmsg`` records, as ``minfree snapshot`` stores them.
* ``read P``: ``ok``, the file's bytes; ``list P``: ``ok``, the names NUL-separated;
  ``readlink P``: ``ok`` and the target, or ``none`` (not a link); ``exists P``: ``ok``, ``1`` or ``0``.
* A file that cannot be read: ``err``, body ``ERRNO MESSAGE`` (the client turns it into the
  same ``OSError`` a local read raises, so it becomes the same gap). A request that is not
  understood: ``err`` with ``EINVAL``; end of stdin ends the server.

Paths are relative to the served root, ``/`` unless the server's own environment names another
in ``MINFREE_COLLECTOR_ROOT`` (set by the test servers' ``sshd_config`` ``SetEnv``, never sent by
the client), so a test host serves a captured system. ``..`` never leaves the root; only regular
files are read, at most ``MAX_FILE`` bytes each.

>>> import io
>>> out = io.BytesIO()
>>> serve(io.BytesIO(b"exists " + b"proc/../etc".hex().encode() + b"\\nread "
...                  + b"nonexistent-minfree".hex().encode() + b"\\nbogus\\n"), out, "/")
>>> out.getvalue().split(b"\\n")
[b'err 15', b'22 invalid patherr 27', b'2 No such file or directoryerr 20', b'22 malformed request']
"""
from __future__ import annotations

import errno
import os
import stat
import sys

from minfree.sources.kmsg import KMSG_PATH, read_kmsg_snapshot

ROOT_ENV = "MINFREE_COLLECTOR_ROOT"
#: Larger files are refused (EFBIG): the registry names small kernel files and one log.
MAX_FILE = 64 << 20
_CHUNK = 1 << 16
OPS = ("hello", "read", "list", "readlink", "exists")


def _clean(rel: bytes) -> bytes | None:
    parts = [p for p in rel.split(b"/") if p not in (b"", b".")]
    if not parts or b".." in parts or b"\0" in rel:
        return None
    return b"/".join(parts)


def _read(path: bytes) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > MAX_FILE:
                raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
            chunks.append(chunk)
    finally:
        os.close(fd)


def _answer(op: str, path: bytes, kmsg: bool) -> tuple[bytes, bytes]:
    """``(status, body)``; ``kmsg``: ``path`` is the kernel log of the live root, served from
    ``/dev/kmsg``."""
    if op == "read":
        return b"ok", read_kmsg_snapshot(KMSG_PATH) if kmsg else _read(path)
    if op == "list":
        return b"ok", b"\0".join(sorted(os.listdir(path)))
    if op == "readlink":
        return (b"ok", os.readlink(path)) if os.path.islink(path) else (b"none", b"")
    return b"ok", b"1" if kmsg or os.path.lexists(path) else b"0"


def serve(stdin, stdout, root: str) -> None:
    """Answer requests from ``stdin`` (binary, with ``read1``) on ``stdout`` (binary) until end
    of input; the answers to the requests that came together leave together (one flush)."""
    kernel_log = None
    base = os.fsencode(root)
    live = os.path.realpath(root) == "/"
    pending = b""
    while True:
        chunk = stdin.read1(_CHUNK)
        if not chunk:
            return
        *lines, pending = (pending + chunk).split(b"\n")
        if len(pending) > _CHUNK:       # no request is that long: answer it as malformed
            lines.append(pending)
            pending = b""
        for line in lines:
            status, body = b"err", f"{errno.EINVAL} malformed request".encode()
            try:
                op, _, wanted = line.decode("ascii").strip().partition(" ")
                rel = bytes.fromhex(wanted)
                if op == "hello":
                    kernel_log = _clean(rel)
                    status, body = b"ok", f"{os.geteuid()} {sys.version.split()[0]}".encode()
                elif op in OPS:
                    clean = _clean(rel) if op != "list" or rel else b"."
                    if clean is None:
                        raise OSError(errno.EINVAL, "invalid path")
                    status, body = _answer(op, os.path.join(base, clean), live and clean == kernel_log)
            except OSError as error:
                status, body = b"err", f"{error.errno or errno.EIO} {error.strerror or error}".encode()
            except ValueError:
                pass
            stdout.write(status + b" %d\n" % len(body) + body)
        stdout.flush()


def main() -> None:
    serve(sys.stdin.buffer, sys.stdout.buffer, os.environ.get(ROOT_ENV) or "/")

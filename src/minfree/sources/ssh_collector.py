"""The remote end of an SSH root: a file server the fleet runs on each target, over one session.

Nothing is installed on the target: ``minfree.sources.ssh`` sends this module's source (and
:mod:`minfree.sources.kmsg`'s, which it uses) through the session's stdin to a constant
bootstrap run by the target's ``python3 -I -S``; only the standard library is needed there.

Protocol, one request per line on stdin (JSON ``[op, path]``), one answer per request:

* ``["hello", KERNEL_LOG]``: ``{"ok": true, "uid": ..., "python": ...}``. ``KERNEL_LOG`` is the
  path under which the root serves the kernel log of this boot (``specs.KERNEL_LOG``): on the
  live root ``/`` its reads return the ``/dev/kmsg`` records, as ``minfree snapshot`` stores them.
* ``["read", P]``: ``{"ok": true, "n": N}`` then N raw bytes; ``["list", P]``: ``{"ok": true,
  "names": [...]}``; ``["readlink", P]``: ``{"ok": true, "target": T or null}``;
  ``["exists", P]``: ``{"ok": true, "exists": bool}``.
* A file that cannot be read: ``{"err": ERRNO, "msg": "..."}`` (the client turns it into the same
  ``OSError`` a local read raises, so it becomes the same gap). A request that is not understood:
  ``{"err": EINVAL, ...}``; end of stdin ends the server.

Paths are relative to the served root, ``/`` unless the server's own environment names another
in ``MINFREE_COLLECTOR_ROOT`` (set by the test servers' ``sshd_config`` ``SetEnv``, never sent by
the client), so a test host serves a captured system. ``..`` never leaves the root; only regular
files are read, at most ``MAX_FILE`` bytes each.

>>> import io, json
>>> out = io.BytesIO()
>>> serve(io.BytesIO(b'["exists", "proc/../etc"]\\n["read", "nonexistent-minfree"]\\n'), out, "/")
>>> [json.loads(line) for line in out.getvalue().splitlines()]
[{'err': 22, 'msg': 'invalid path'}, {'err': 2, 'msg': 'No such file or directory'}]
"""
from __future__ import annotations

import errno
import json
import os
import stat
import sys

from minfree.sources.kmsg import KMSG_PATH, read_kmsg_snapshot

ROOT_ENV = "MINFREE_COLLECTOR_ROOT"
#: Larger files are refused (EFBIG): the registry names small kernel files and one log.
MAX_FILE = 64 << 20
_CHUNK = 1 << 16


def _clean(rel: str) -> str | None:
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or "\0" in rel:
        return None
    return "/".join(parts)


def _read(path: str) -> bytes:
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


def _answer(op: str, path: str, kmsg: bool) -> tuple[dict, bytes]:
    """``kmsg``: ``path`` is the kernel log of the live root, served from ``/dev/kmsg``."""
    if op == "read":
        data = read_kmsg_snapshot(KMSG_PATH) if kmsg else _read(path)
        return {"ok": True, "n": len(data)}, data
    if op == "list":
        return {"ok": True, "names": sorted(os.listdir(path))}, b""
    if op == "readlink":
        return {"ok": True, "target": os.readlink(path) if os.path.islink(path) else None}, b""
    if op == "exists":
        return {"ok": True, "exists": kmsg or os.path.lexists(path)}, b""
    raise OSError(errno.EINVAL, "unknown request")


def serve(stdin, stdout, root: str) -> None:
    """Answer requests from ``stdin`` (binary) on ``stdout`` (binary) until end of input."""
    kernel_log = None
    live = os.path.realpath(root) == "/"
    for line in stdin:
        body = b""
        try:
            op, rel = json.loads(line)
            if op == "hello":
                kernel_log = _clean(str(rel))
                head = {"ok": True, "uid": os.geteuid(), "python": sys.version.split()[0]}
            else:
                clean = _clean(str(rel)) if op != "list" or rel else "."
                if clean is None:
                    raise OSError(errno.EINVAL, "invalid path")
                head, body = _answer(str(op), os.path.join(root, clean),
                                     live and clean == kernel_log)
        except OSError as error:
            head = {"err": error.errno or errno.EIO, "msg": error.strerror or str(error)}
        except (ValueError, TypeError):
            head = {"err": errno.EINVAL, "msg": "malformed request"}
        stdout.write(json.dumps(head).encode() + b"\n" + body)
        stdout.flush()


def main() -> None:
    serve(sys.stdin.buffer, sys.stdout.buffer, os.environ.get(ROOT_ENV) or "/")

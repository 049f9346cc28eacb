"""``minfree fleet trace`` on one host: the remote tracer (:mod:`minfree.sources.ssh_tracer`) run
for a window over one ssh session, agentless, and what it brought back.

The session is the SSH root's (:mod:`minfree.sources.ssh`: the user's OpenSSH client,
BatchMode, host keys verified, the same constant remote command); only the module sent and the
frames differ. The whole session is bounded by the window plus ``--timeout``; the trace text
by what the tracer may send (a host is not trusted to size our memory).
"""
from __future__ import annotations


from minfree.model.record import record
from minfree.sources import ssh_tracer, tracefs_control
from minfree.sources.ssh import RemoteError, SshOptions, SshSession, remote_error, ssh_argv

#: The tracer (last: the bootstrap runs its ``main``) and the module it uses.
TRACER = (tracefs_control, ssh_tracer)
_FRAMES = (b"format", b"release", b"start", b"data", b"lost", b"end", b"err")


@record
class RemoteTrace:
    """What a host's tracer sent: its kernel, the window on its clocks, the trace text."""

    release: str
    event_format: str | None     # events/kmem/mm_page_alloc/format: the kernel's GFP table
    start: float                 # the window's start on the host's CLOCK_MONOTONIC (trace_clock mono)
    started_at: float            # the same instant on its wall clock, seconds since the epoch
    stacks: bool                 # whether the stacktrace trigger ran (call sites)
    text: str
    lost: int


def _number(body: bytes) -> float:
    try:
        return float(body.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise RemoteError("the tracer's answer is not a number") from None


def trace_host(address: str, port: int | None, user: str | None, options: SshOptions,
               window: float) -> RemoteTrace:
    """Trace the host for ``window`` seconds; raises :class:`RemoteError` (with the tracer's
    reason when tracing cannot run there, e.g. without root: use ``--become``)."""
    session = SshSession(ssh_argv(address, port, user, options), window + options.timeout, TRACER,
                         f"{window!r}\n".encode())
    try:
        seen: dict[bytes, bytes] = {}
        data: list[bytes] = []
        size = 0
        while True:
            status, body = session.frame(_FRAMES)
            if status == b"err":
                raise RemoteError(f"cannot trace there: {remote_error(body).strerror}")
            if status == b"end":
                break
            if status == b"data":
                size += len(body)
                if size > ssh_tracer.MAX_BYTES:
                    raise RemoteError("the tracer sent more than it may")
                data.append(body)
            else:
                seen[status] = body
    finally:
        session.close()
    start = seen.get(b"start", b"").split()
    if len(start) != 3 or not seen.get(b"lost", b"").isdigit() or len(seen[b"lost"]) > 18:
        raise RemoteError("the tracer ended without its window")
    return RemoteTrace(release=seen.get(b"release", b"").decode("utf-8", "replace"),
                       event_format=seen.get(b"format", b"").decode("utf-8", "replace") or None,
                       start=_number(start[0]), started_at=_number(start[1]), stacks=start[2] == b"1",
                       text=b"".join(data).decode("utf-8", "replace"), lost=int(seen[b"lost"]))

"""Input sources of ``minfree scan``: command-line PATHs (or none) as readable byte streams.

:func:`expand_paths` turns PATH arguments into :class:`Input` items, :func:`live_inputs`
picks the running kernel's log when no PATH is given. Every ``Input.open()`` returns a
binary stream of the *decompressed* bytes; the caller reads it in large chunks and closes
it. ``read(n)`` may return fewer than ``n`` bytes (like a raw file); ``b""`` is the end.

Files
    Plain files are opened raw (``open(path, "rb", buffering=0)``): one ``read(2)`` per
    chunk, no copy. Compression is recognised by its magic bytes, never by the name
    (a gzip file called ``kern.log`` is decompressed, a plain ``x.gz`` is read as is):
    gzip ``1f 8b``, xz ``fd 37 7a 58 5a 00``, bzip2 ``BZh1``..``BZh9``, zstd
    ``28 b5 2f fd``. Concatenated streams/members are all read; bytes after the last
    stream that do not start another one are ignored (as ``gzip -d`` does).
    Decompression runs in a forked child on the other core (:mod:`~minfree.sources.chunk_process`:
    its output packed into 6 slots of 4 MiB of shared memory, so memory stays bounded), and in
    this process when no child can be made.

Damaged compressed data
    All the data decompressed before the damage is delivered first; the next ``read()``
    raises :class:`TruncatedInputError` (the stream ends mid-way) or
    :class:`CorruptInputError` (invalid data); both derive from
    :class:`DamagedInputError` and :class:`SourceError`, so a caller can count them.
    Later reads return ``b""``. Deflate blocks carry no checksum of their own: bytes
    decoded from a damaged gzip region can be garbage until inflate trips (at the latest
    on the member's CRC32 at its end); the log parsers skip such junk. For gzip this is
    exactly what ``zcat`` prints before its error: zlib drops the output of the call that
    fails, so that call is replayed from a copy of the decoder, byte by byte near the damage.
    xz, bz2 and zstd decoders cannot be copied: they are called for 32 KiB of output (zstd:
    4 KiB of input) at a time, and lose at most what the failing call decoded.

Directories
    Walked recursively, each directory's entries sorted by :func:`rotation_key` (name,
    and rotated files of one log oldest first: ``syslog.2.gz, syslog.1, syslog``).
    Skipped, each with a :class:`Skipped` note: files mostly of non-text bytes in their first
    4 KiB after decompression and after any leading NUL bytes (binary, not a log: the NUL
    blocks a crash leaves at the start of /var/log/messages do not make it binary), tar
    archives that are not sosreports, unreadable files, non-regular files, directories
    already visited (symlink loops).
    systemd binary journals (magic ``LPKSHHRH``, whatever their name) are read through
    ``journalctl --file F _TRANSPORT=kernel -o json`` when ``journalctl`` exists, else
    skipped. (``-k`` is not used: it implies ``-b``, the *current* boot, which an
    archived journal file usually does not contain.)

sosreports
    A directory holding ``sos_commands/`` or ``sos_reports/``, or ``version.txt`` next to
    ``sos_logs/``, is a sosreport; only its kernel logs are read, chosen by
    :func:`select_sosreport_members` from the layouts of sos' ``kernel`` plugin
    (``dmesg`` -> ``sos_commands/kernel/dmesg``, ``dmesg -T``, copy of ``/var/log/dmesg``)
    and ``logs`` plugin (``journalctl --no-pager`` [whole journal], ``--boot``,
    ``--boot -1``, older ``--catalog --boot`` and ``--all --this-boot``; ``/var/log/messages*``;
    without journald ``/var/log/syslog*`` and ``/var/log/kern.log*``). A sosreport
    tarball (``.tar``, ``.tar.gz``, ``.tar.xz``, ... by magic) is read the same way with
    :mod:`tarfile` in streaming mode: a first pass lists the members, then each member's
    ``open()`` streams the archive again up to that member (tarballs cannot seek).

stdin
    ``-`` is ``sys.stdin.buffer`` (listed once however often it is given), decompressed
    when its first bytes are a compression magic.

Endless or binary streams
    Every stream that is not a plain regular file (stdin, a pipe, a device such as
    ``/dev/zero``, a tar member, decompressed data) is watched: after
    :data:`BINARY_RUN_LIMIT` bytes in a row that look binary (the test of a directory's
    files, on the first 4 KiB of each read) the read raises :class:`BinaryInputError`:
    what came before was scanned, the input ends with a one-line reason.

Errors for the user are :class:`SourceError` with a one-line message, e.g.
``cannot read /var/log/nope: No such file or directory``.
"""

from __future__ import annotations

import codecs
import errno
import functools
import io
import itertools
import os
import re
import stat
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, BinaryIO, Protocol

from minfree.model.record import record
from minfree.sources import specs
from minfree.sources.chunk_process import ChunkProcess
from minfree.sources.kmsg import KMSG_PATH, read_kmsg_snapshot


@record
class Input:
    """One log to scan: what to show the user, its kind, and how to open it."""

    name: str
    kind: str  # "file" | "stdin" | "journald" | "dmesg" | "kmsg"
    open: Callable[[], BinaryIO]


@record
class Skipped:
    """A path left out while expanding a directory, and why."""

    path: str
    reason: str


class SourceError(Exception):
    """A PATH or live source that cannot be read; the message is one line for the user."""


class DamagedInputError(SourceError):
    """Compressed data ended early or is invalid; everything before it was delivered."""

    def __init__(self, name: str, delivered: int, detail: str) -> None:
        super().__init__(f"cannot read {name}: {detail} after {delivered} bytes")
        self.name = name
        self.delivered = delivered
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:   # it crosses from a second scanning process
        return type(self), (self.name, self.delivered, self.detail)


class TruncatedInputError(DamagedInputError):
    """The compressed stream stops before its end marker."""


class CorruptInputError(DamagedInputError):
    """The compressed stream holds invalid data."""


class BinaryInputError(SourceError):
    """A stream turned into binary data (``/dev/zero``, an image on stdin): reading stopped."""


# --- compression -------------------------------------------------------------------

_COMPRESSION_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_MAGIC_LEN = 6
_JOURNAL_MAGIC = b"LPKSHHRH"  # systemd journal file header signature (journal-def.h)
_SNIFF_BYTES = 4096  # the binary test looks at this many decompressed bytes
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r\f")
_CONTROL_SHARE = 0.10   # heuristic: over 10 % control bytes is binary data, not a log with some junk
_HIGH_BYTES = bytes(range(0x80, 0x100))
#: heuristic: a kernel log is mostly ASCII (Latin-1 or UTF-8 text in a few messages); over 30 %
#: bytes >= 0x80 that are not UTF-8 is random, compressed or encrypted data (half of its bytes)
_HIGH_SHARE = 0.30
_NUL_RUN_LIMIT = 16 << 20   # leading NUL bytes a file may have and still be sniffed as a log
#: Bytes of binary-looking data in a row after which a stream is no log (heuristic: a crash's
#: NUL blocks in a real log are pages to a few MiB; 64 MiB bounds the time /dev/zero costs).
BINARY_RUN_LIMIT = 64 << 20
_READ_SIZE = 1 << 20  # compressed bytes per read
#: decompressed bytes asked of the decoder at a time: small enough that malloc reuses the freed
#: output (above its dynamic mmap threshold every new chunk is faulted in afresh: ~0.7 s of system
#: time per GiB at 4 MiB), large enough that calls cost little (4096 per GiB)
_CHUNK_SIZE = 256 << 10


def detect_compression(head: bytes) -> str | None:
    """The compression format named by the magic bytes at the start of ``head``.

    >>> detect_compression(b"\\x1f\\x8b\\x08\\x00\\x00\\x00")
    'gzip'
    >>> detect_compression(b"\\xfd7zXZ\\x00\\x00\\x04")
    'xz'
    >>> detect_compression(b"BZh91AY&SY")
    'bz2'
    >>> detect_compression(b"\\x28\\xb5\\x2f\\xfd\\x04\\x58")
    'zstd'
    >>> detect_compression(b"[    0.000000] Linux version 6.18.44") is None
    True
    """
    for magic, name in _COMPRESSION_MAGIC:
        if head.startswith(magic):
            return name
    if len(head) >= 4 and head.startswith(b"BZh") and 0x31 <= head[3] <= 0x39:
        return "bz2"
    return None


class _Decoder(Protocol):
    eof: bool
    needs_input: bool
    unused_data: bytes

    def decompress(self, data: bytes, max_length: int) -> bytes: ...


class _GzipDecoder:
    """zlib's gzip decoder with the lzma/bz2 ``needs_input`` interface."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._tail = b""

    @property
    def eof(self) -> bool:
        return self._inflate.eof

    @property
    def needs_input(self) -> bool:
        return not self._tail

    @property
    def unused_data(self) -> bytes:
        return self._inflate.unused_data

    def decompress(self, data: bytes, max_length: int) -> bytes:
        feed = self._tail + data if self._tail else data
        saved = self._inflate.copy()
        try:
            out = self._inflate.decompress(feed, max_length)
        except zlib.error as exc:
            raise _Salvaged(_inflate_until_damage(saved, feed), exc) from exc
        self._tail = self._inflate.unconsumed_tail
        return out


class _Salvaged(Exception):
    """Decoding failed; ``readable`` is what the failing call decoded before the damage."""

    def __init__(self, readable: bytes, error: Exception) -> None:
        super().__init__(str(error))
        self.readable = readable


def _inflate_until_damage(inflate: Any, feed: bytes, piece: int = 4096) -> bytes:
    """Everything ``inflate`` (a zlib decoder, consumed) decodes from ``feed`` before it fails:
    piece by piece, then byte by byte through the piece that fails.

    >>> data = zlib.compress(b"kernel: line\\n" * 1000, wbits=31)
    >>> damaged = data[:-8] + bytes([data[-8] ^ 1]) + data[-7:]   # wrong CRC32
    >>> len(_inflate_until_damage(zlib.decompressobj(31), damaged))
    13000
    """
    out: list[bytes] = []
    for start in range(0, len(feed), piece):
        saved = inflate.copy()
        try:
            out.append(inflate.decompress(feed[start:start + piece]))
            continue
        except zlib.error:
            inflate = saved
        for offset in range(start, min(start + piece, len(feed))):
            try:
                out.append(inflate.decompress(feed[offset:offset + 1]))
            except zlib.error:
                break
        break
    return b"".join(out)


class _Piecewise:
    """An xz, bz2 or zstd decoder fed 4 KiB of input at a time, and (xz, bz2) asked for 32 KiB
    of output at a time, so that damage costs only what the failing call decoded: Python's
    decoders drop it (:class:`_Salvaged` carries what the earlier calls gave). zstandard's decoder has no
    output limit: a 4 KiB piece of highly repetitive data can still expand to ~128 MiB (zstd
    RLE blocks), a bound that real logs never approach.
    """

    _PIECE = 4096
    _OUT_PIECE = 32 << 10   # output per call of a limited decoder: what damage can cost at most

    def __init__(self, inner: Any, limited: bool) -> None:
        self._inner = inner
        self._limited = limited   # decompress(data, max_length) and needs_input (lzma, bz2)
        self._pending = b""
        self._offset = 0

    @property
    def eof(self) -> bool:
        return bool(self._inner.eof)

    @property
    def needs_input(self) -> bool:
        return self._offset >= len(self._pending) and (not self._limited or self._inner.needs_input)

    @property
    def unused_data(self) -> bytes:
        return self._inner.unused_data + self._pending[self._offset:]

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if data:
            self._pending, self._offset = self._pending[self._offset:] + data, 0
        out: list[bytes] = []
        size = 0
        try:
            while size < max_length and not self._inner.eof:
                if self._limited and not self._inner.needs_input:
                    piece = b""   # output is waiting inside the decoder
                elif self._offset < len(self._pending):
                    piece = self._pending[self._offset:self._offset + self._PIECE]
                    self._offset += len(piece)
                else:
                    break
                produced = (self._inner.decompress(piece, min(max_length - size, self._OUT_PIECE))
                            if self._limited else self._inner.decompress(piece))
                out.append(produced)
                size += len(produced)
        except _corrupt_errors() as exc:
            raise _Salvaged(b"".join(out), exc) from exc
        return b"".join(out)


def _new_decoder(fmt: str) -> _Decoder:
    if fmt == "gzip":
        return _GzipDecoder()
    if fmt == "xz":
        import lzma

        return _Piecewise(lzma.LZMADecompressor(lzma.FORMAT_XZ), limited=True)
    if fmt == "bz2":
        import bz2

        return _Piecewise(bz2.BZ2Decompressor(), limited=True)
    import zstandard

    return _Piecewise(zstandard.ZstdDecompressor().decompressobj(), limited=False)


class _Truncated(Exception):
    pass


class _Corrupt(Exception):
    pass


def _corrupt_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (zlib.error, OSError)  # bz2: OSError
    if "lzma" in sys.modules:   # imported where an xz input is opened (_new_decoder)
        errors += (sys.modules["lzma"].LZMAError,)
    if "zstandard" in sys.modules:
        errors += (sys.modules["zstandard"].ZstdError,)
    return errors


def _decode(source: BinaryIO, fmt: str, read_size: int, chunk_size: int) -> Iterator[bytes]:
    """Decompressed chunks of every concatenated stream in ``source``, and an empty chunk before
    each read of ``source`` (what came before may be delivered: the read may wait on a pipe).

    Raises ``_Truncated`` when the input ends inside a stream, ``_Corrupt`` on bad data.
    """
    decoder = _new_decoder(fmt)
    pending = b""
    while True:
        if decoder.eof:
            rest = decoder.unused_data + pending
            while len(rest) < _MAGIC_LEN:
                yield b""
                more = source.read(read_size)
                if not more:
                    break
                rest += more
            if detect_compression(rest) != fmt:
                return  # trailing padding or garbage after the last stream
            decoder, pending = _new_decoder(fmt), rest
            continue
        if decoder.needs_input and not pending:
            yield b""
            pending = source.read(read_size)
            if not pending:
                raise _Truncated(f"{fmt} data truncated")
        try:
            out = decoder.decompress(pending, chunk_size)
        except _Salvaged as exc:
            if exc.readable:
                yield exc.readable
            raise _Corrupt(f"corrupt {fmt} data ({exc})") from exc
        except _corrupt_errors() as exc:
            raise _Corrupt(f"corrupt {fmt} data ({exc})") from exc
        pending = b""
        if out:
            yield out


class _RawReader(io.RawIOBase):
    """A readable raw stream defined by its ``readinto(buffer)`` (``read(size)`` is io's)."""

    def readable(self) -> bool:
        return True


class _Reader(_RawReader):
    """A readable raw stream defined by its ``read(size)``."""

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _DecompressingReader(_RawReader):
    """Decompressed bytes of ``source``, decoded by a forked child on the other core
    (:class:`~minfree.sources.chunk_process.ChunkProcess`), or here when no child can be made.

    ``readinto`` copies the chunks that are ready straight from their shared slots, up to the
    size of the buffer; it waits only when it has nothing yet.
    """

    def __init__(self, source: BinaryIO, fmt: str, name: str,
                 resume: tuple[int, Iterator[bytes]] | None = None) -> None:
        """``resume``: the decompressed bytes before this reader's first one, and the chunks
        from there on (a second half, :meth:`second_half`)."""
        super().__init__()
        self._name = name
        self._source = source
        self._fmt = fmt
        self._delivered = 0 if resume is None else resume[0]
        self._chunk: memoryview | None = None
        self._offset = 0
        self._error: Exception | None = None  # _Truncated, _Corrupt or SourceError, raised once
        produce: Callable[[], Iterator[bytes]] = (
            functools.partial(_decode, source, fmt, _READ_SIZE, _CHUNK_SIZE) if resume is None
            else functools.partial(iter, resume[1]))
        self._process: ChunkProcess | None
        try:
            self._process = ChunkProcess(produce)
        except OSError:   # no child (process limit, memory): decode in this process
            self._process = None
        self._chunks: Iterator[Any] | None = self._process.chunks() if self._process is not None else produce()

    def second_half(self, share: Callable[[int], float | None] = lambda decoded: 0.5
                    ) -> tuple[int, BinaryIO] | None:
        """For a second scanning process (forked): the file decoded again from its start, at
        its own offset (``pread``: this reader's decoder reads on), the output dropped until a
        ``share`` of the compressed bytes is read (half by default); the split is the first line
        start from there whose line does not start with a blank. Returns the split and a reader of the bytes from it on (decoded by a
        child of the caller; a damage is reported with the bytes before it counted from the
        start, as here), or None when the input ends or breaks first. ``share(bytes decoded so
        far)`` is asked after each piece: None gives up.

        >>> import gzip, tempfile
        >>> file = tempfile.TemporaryFile()
        >>> _ = file.write(gzip.compress(b"".join(b"%07d\\n" % i for i in range(100000)))); _ = file.seek(0)
        >>> reader = _DecompressingReader(file, "gzip", "demo.gz")
        >>> split, rest = reader.second_half()
        >>> split, rest.read(8), reader.read(8)
        (262144, b'0032768\\n', b'0000000\\n')
        >>> rest.close(); reader.close()
        """
        source = _PositionalReader(self._source.fileno())
        size = os.fstat(source.fileno).st_size
        until = size // 2
        chunks = _decode(source, self._fmt, _READ_SIZE, _CHUNK_SIZE)
        at = 0            # decompressed bytes before ``chunk``
        look_from = -1    # where the newline before the split may be in ``chunk``, once half is read
        pending = None    # a line start at the end of the last chunk: how its line starts is in this one
        try:
            for chunk in chunks:
                if pending is not None and chunk:
                    if chunk[:1] not in _BLANKS:
                        rest = itertools.chain((chunk,), chunks)
                        return pending, _DecompressingReader(source, self._fmt, self._name, (pending, rest))
                    pending = None   # a wrapped piece: look on from this chunk's start
                if look_from < 0 and source.offset >= until and chunk:
                    look_from = len(chunk) - 1   # the split may be right after this chunk
                if look_from >= 0 and pending is None:
                    newline = unwrapped_newline(chunk, chunk.find(b"\n", look_from), len(chunk))
                    if newline != -1 and newline == len(chunk) - 1:
                        pending = at + len(chunk)
                    elif newline != -1:
                        split = at + newline + 1
                        rest = itertools.chain((chunk[newline + 1:],), chunks)
                        return split, _DecompressingReader(source, self._fmt, self._name, (split, rest))
                    look_from = 0
                at += len(chunk)
                wanted = share(at)
                if wanted is None:
                    return None
                until = int(size * wanted)
        except (_Truncated, _Corrupt):
            pass
        return None

    def _next_chunk(self, block: bool) -> bool:
        """Move to the next chunk; False at the end (or, with ``block`` false, if none is ready)."""
        self._chunk, self._offset = None, 0
        if self._chunks is None or not block and self._process is not None and not self._process.ready():
            return False
        try:
            self._chunk = memoryview(next(self._chunks))
            return True
        except StopIteration:
            pass
        except (_Truncated, _Corrupt, SourceError) as exc:
            self._error = exc.with_traceback(None)
        except OSError as exc:
            self._error = SourceError(f"cannot read {self._name}: {exc.strerror or exc}")
        except Exception as exc:  # noqa: BLE001 - e.g. an error of the decoder in the child
            self._error = SourceError(f"cannot read {self._name}: {exc}")
        self._chunks = None
        return False

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("read from closed stream")
        target = memoryview(buffer).cast("B")
        total = 0
        while total < len(target):
            chunk = self._chunk
            if (chunk is None or self._offset >= len(chunk)) and not self._next_chunk(block=not total):
                break
            chunk, start = self._chunk, self._offset
            assert chunk is not None
            take = min(len(target) - total, len(chunk) - start)
            target[total:total + take] = chunk[start:start + take]
            self._offset = start + take
            total += take
        chunk = None   # no frame of a raised error may keep a slot's view
        target.release()
        self._delivered += total
        if total or not len(buffer) or self._error is None:
            return total
        error, self._error = self._error, None
        if isinstance(error, _Truncated):
            raise TruncatedInputError(self._name, self._delivered, str(error))
        if isinstance(error, _Corrupt):
            raise CorruptInputError(self._name, self._delivered, str(error))
        raise error

    def close(self) -> None:
        if self.closed:
            return
        self._chunk = None
        if self._chunks is not None and hasattr(self._chunks, "close"):
            self._chunks.close()   # gives back the slot it holds
        self._chunks = None
        try:
            if self._process is not None:
                self._process.close()
        finally:
            self._source.close()
            super().close()


_BLANKS = (b" ", b"\t")   # first bytes of a wrapped piece of the line before


def unwrapped_newline(data, newline: int, stop: int) -> int:
    """From ``newline`` (a newline's offset in ``data``, or -1) on, the first newline whose next
    line does not start with a blank (a wrapped piece of the line before it, which the joiner
    joins to it: a second scanner must not start there), looking at newlines before ``stop``;
    -1 when no newline follows (the last newline of the data is one: nothing follows it).

    >>> unwrapped_newline(b"a\\n  wrapped\\nb\\n", 1, 100), unwrapped_newline(b"a\\n x\\n", 1, 100)
    (11, 4)
    """
    while newline != -1 and newline < stop and data[newline + 1:newline + 2] in _BLANKS:
        newline = data.find(b"\n", newline + 1)
    return newline


class _PositionalReader:
    """``read`` of an open file at an offset of its own (``pread``): the file's offset, shared
    with every process it was inherited by, is left alone. Closing it leaves the file open."""

    def __init__(self, fileno: int) -> None:
        self.fileno = fileno
        self.offset = 0

    def read(self, size: int) -> bytes:
        data = os.pread(self.fileno, size, self.offset)
        self.offset += len(data)
        return data

    def close(self) -> None:
        pass


class _TextGuard(_RawReader):
    """``inner``'s bytes, until :data:`BINARY_RUN_LIMIT` bytes in a row look binary: then
    :class:`BinaryInputError`, and the end. Costs one :func:`looks_binary` of 4 KiB per read.
    ``delivered``: the bytes of the input before ``inner``'s first (it reads a second half)."""

    def __init__(self, inner: BinaryIO, name: str, delivered: int = 0) -> None:
        super().__init__()
        self._inner = inner
        self._name = name
        self._delivered = delivered
        self._binary_run = 0
        self._stopped = False

    def readinto(self, buffer: Any) -> int:
        if self._stopped:
            return 0
        size = self._inner.readinto(buffer) or 0
        with memoryview(buffer) as view:
            sample = bytes(view[:min(size, _SNIFF_BYTES)])
        if looks_binary(sample):
            self._binary_run += size
            if self._binary_run >= BINARY_RUN_LIMIT:
                self._stopped = True
                raise BinaryInputError(
                    f"cannot read {self._name}: binary data, not a text log (no text in the "
                    f"last {self._binary_run >> 20} MiB); stopped after {self._delivered} bytes")
        else:
            self._binary_run = 0
        self._delivered += size
        return size

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()


class CompressedFile(_TextGuard):
    """A compressed regular file, decompressed (and guarded as every decompressed stream is),
    whose second half a second scanning process can read on its own
    (:func:`minfree.sources.logscan.scan_stream`)."""

    def __init__(self, inner: _DecompressingReader, name: str, compressed_size: int) -> None:
        super().__init__(inner, name)  # type: ignore[arg-type]
        self._reader = inner
        self.compressed_size = compressed_size

    @property
    def started(self) -> bool:
        """Some of it was read already."""
        return self._delivered > 0

    def second_half(self, share: Callable[[int], float | None]) -> tuple[int, BinaryIO] | None:
        """In a forked child: where the second part starts (a line start) and a guarded stream
        of it (:meth:`_DecompressingReader.second_half`)."""
        second = self._reader.second_half(share)
        if second is None:
            return None
        split, rest = second
        return split, _TextGuard(rest, self._name, delivered=split)  # type: ignore[return-value]


def _decompressing(stream: BinaryIO, head: bytes, name: str, size: int | None = None) -> BinaryIO:
    """``stream`` itself when ``head`` is not compressed, else a decompressing reader
    (guarded: a decompression bomb of zeros ends like ``/dev/zero``); ``size``: ``stream`` is a
    regular file of that size (a :class:`CompressedFile`)."""
    fmt = detect_compression(head)
    if fmt is None:
        return stream
    reader = _DecompressingReader(stream, fmt, name)
    if size is not None:
        return CompressedFile(reader, name, size)  # type: ignore[return-value]
    return _TextGuard(reader, name)  # type: ignore[arg-type, return-value]


def _open_regular(path: str) -> io.FileIO:
    """``path`` opened raw if it is still a regular file: without blocking, so a FIFO swapped in
    since it was listed is refused rather than waited on. Raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    return io.FileIO(fd, "rb")


def _open_file(path: str, name: str, regular: bool = False) -> BinaryIO:
    """Open ``path``: raw when plain, decompressed when its magic says so. ``regular``: only a
    regular file (a directory's entry); else a FIFO named on the command line is waited on."""
    try:
        raw = _open_regular(path) if regular else open(path, "rb", buffering=0)  # noqa: SIM115
    except OSError as exc:
        raise SourceError(f"cannot read {name}: {exc.strerror}") from exc
    try:
        info = os.fstat(raw.fileno())
        if stat.S_ISREG(info.st_mode):
            return _decompressing(raw, os.pread(raw.fileno(), _MAGIC_LEN, 0), name, info.st_size)  # type: ignore[arg-type]
        return _open_stream(raw, name)  # type: ignore[arg-type]
    except OSError as exc:
        raw.close()
        raise SourceError(f"cannot read {name}: {exc.strerror}") from exc


def _open_stream(stream: BinaryIO, name: str) -> BinaryIO:
    """A non-seekable stream (pipe, stdin, device, tar member), decompressed if it starts so;
    guarded against endless binary data either way."""
    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream, _READ_SIZE)  # type: ignore[arg-type,assignment]
    opened = _decompressing(stream, stream.peek(_MAGIC_LEN)[:_MAGIC_LEN], name)  # type: ignore[attr-defined]
    return _TextGuard(opened, name) if opened is stream else opened  # type: ignore[return-value]


def looks_binary(sample: bytes) -> bool:
    """Mostly non-text bytes: an executable or image, not a log. A log with some junk in it
    (NUL runs left by a crash in /var/log/messages) is still a log: read it, skip the junk.

    >>> looks_binary(b"[    0.000000] Linux version 6.18.44\\n" * 50), looks_binary(bytes(range(256)) * 16)
    (False, True)
    >>> looks_binary(bytes(4096)), looks_binary(b"")
    (True, False)
    >>> looks_binary(b"kernel: a line\\n" * 70 + bytes(3000) + b"kernel: after the crash\\n")
    False
    >>> looks_binary(bytes(range(1, 32)) * 100)   # no NUL, no newline: control bytes decide
    True

    Random or encrypted bytes hold only ~11 % control bytes (28 of 256): about one 4 KiB sample
    in nine passed the control share alone. Their high bytes (half of them) are not UTF-8, as a
    log's are (a sample may begin inside a character):

    >>> looks_binary(bytes(range(256)[::-1]) * 16), looks_binary(("内核: 页面分配失败\\n" * 300).encode()[1:])
    (True, False)
    """
    if not sample:
        return False
    text = sample.replace(b"\x00", b"")   # NUL runs are judged by what surrounds them
    if not text or (b"\n" not in text and len(text) < len(sample)):
        return True
    control = len(text) - len(text.translate(None, _CONTROL_BYTES))
    if control > _CONTROL_SHARE * len(text):
        return True
    high = len(text) - len(text.translate(None, _HIGH_BYTES))
    return high > _HIGH_SHARE * len(text) and not _utf8(text)


def _utf8(data: bytes) -> bool:
    """UTF-8 but for a character cut at either end (the sample is a window of a stream)."""
    start = 0
    while start < min(3, len(data)) and 0x80 <= data[start] <= 0xBF:   # continuation bytes
        start += 1
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data[start:], final=False)
    except UnicodeDecodeError:
        return False
    return True


@record
class _Sniff:
    """The first decompressed bytes of an input, and what they tell: a journal file, a tar archive."""

    head: bytes  # up to _SNIFF_BYTES decompressed bytes from the start
    text: bytes  # up to _SNIFF_BYTES decompressed bytes after any leading NUL bytes
    journal: bool
    tar: bool

    @property
    def binary(self) -> bool:
        """Binary data (:func:`looks_binary`) where the text should start; nothing but NUL
        bytes for :data:`_NUL_RUN_LIMIT` is binary too."""
        return looks_binary(self.text) or (not self.text and self.head[:1] == b"\x00")


def _sniff(path: str) -> _Sniff:
    """Look at the start of a regular file, decompressed. Raises OSError."""
    with _open_regular(path) as raw:
        magic = raw.read(_MAGIC_LEN)
        raw.seek(0)
        fmt = detect_compression(magic)
        blocks: Iterable[bytes] = (iter(functools.partial(raw.read, 64 << 10), b"") if fmt is None
                                   else _decode(raw, fmt, 64 << 10, 64 << 10))  # type: ignore[arg-type]
        head = text = b""
        skipped = 0   # leading NUL bytes
        try:
            for block in blocks:
                if len(head) < _SNIFF_BYTES:
                    head += block[: _SNIFF_BYTES - len(head)]
                if not text:
                    stripped = block.lstrip(b"\x00")
                    skipped += len(block) - len(stripped)
                    block = stripped
                text += block[: _SNIFF_BYTES - len(text)]
                if len(text) >= _SNIFF_BYTES or skipped >= _NUL_RUN_LIMIT:
                    break
        except (_Truncated, _Corrupt):
            pass  # reported when the file is read
    return _Sniff(head=head, text=text, journal=head.startswith(_JOURNAL_MAGIC), tar=head[257:262] == b"ustar")


# --- ordering ------------------------------------------------------------------------

_ROTATED = re.compile(
    r"^(?P<base>.+?)"
    r"(?:-(?P<date>\d{8}(?:\d{2,6})?)|\.(?P<number>\d+|old))?"
    r"(?P<ext>\.(?:gz|xz|bz2|zst|zstd))?$"
)


def rotation_key(name: str) -> tuple[str, int, str, int, str]:
    """Sort key that puts the rotated files of one log oldest first, the live file last.

    logrotate's ``dateext`` suffixes (``-YYYYMMDD``) sort by date; numbered suffixes
    (``.1``, ``.2.gz``) in decreasing number (``.2`` is older than ``.1``); ``.old``
    (RHEL's ``/var/log/dmesg.old``) counts as ``.1``.

    >>> sorted(["syslog", "kern.log", "syslog.1", "syslog.2.gz", "kern.log.1",
    ...         "messages-20240108", "messages", "messages-20240101.xz"], key=rotation_key)
    ['kern.log.1', 'kern.log', 'messages-20240101.xz', 'messages-20240108', 'messages', 'syslog.2.gz', 'syslog.1', 'syslog']
    """
    match = _ROTATED.match(name)
    if match is None:  # only the empty name
        return (name, 2, "", 0, name)
    base = match["base"]
    if match["date"]:
        return (base, 0, match["date"], 0, name)
    if match["number"]:
        number = match["number"]
        return (base, 1, "", -1 if number == "old" else -int(number), name)
    return (base, 2, "", 0, name)


# --- sosreports ------------------------------------------------------------------------

_SOS_JOURNAL_NOT_LOGS = ("--disk-usage", "--list-boots", "--unit", "--header", "--verify")


def select_sosreport_members(paths: Iterable[str]) -> list[str]:
    """The kernel-log files of a sosreport, from its file paths relative to its root.

    - kernel ring buffer: ``sos_commands/kernel/dmesg`` (the ``dmesg_-T`` copy of the
      same buffer only when plain ``dmesg`` is missing);
    - journal: kernel-only captures (a ``-k``/``--dmesg``/``kernel`` token) if any, else
      the whole journal (``journalctl_--no-pager``), else the per-boot captures
      (``..._--boot``, ``..._--boot_-1``, ``journalctl_--all_--this-boot_--no-pager``);
      never ``--disk-usage``/``--list-boots``/``--unit`` outputs;
    - ``var/log/dmesg*`` (boot-time ring buffer dumps);
    - one syslog family, the narrowest that holds all kernel messages:
      ``var/log/kern.log*``, else ``var/log/messages*``, else ``var/log/syslog*``.
    Each group in this order, rotated files oldest first.

    >>> select_sosreport_members([
    ...     "sos_commands/kernel/dmesg", "sos_commands/kernel/dmesg_-T",
    ...     "sos_commands/kernel/lsmod", "sos_commands/logs/journalctl_--disk-usage",
    ...     "sos_commands/logs/journalctl_--no-pager",
    ...     "sos_commands/logs/journalctl_--no-pager_--boot",
    ...     "var/log/messages", "var/log/messages-20240101", "var/log/secure",
    ...     "var/log/dmesg", "var/log/dmesg.old"])
    ['sos_commands/kernel/dmesg', 'sos_commands/logs/journalctl_--no-pager', 'var/log/dmesg.old', 'var/log/dmesg', 'var/log/messages-20240101', 'var/log/messages']
    """
    dmesg: list[str] = []
    journals: dict[str, list[str]] = {"kernel": [], "whole": [], "boot": []}
    var_log: dict[str, list[str]] = {"dmesg": [], "kern.log": [], "messages": [], "syslog": []}
    for path in paths:
        directory, _, name = path.rpartition("/")
        if directory == "sos_commands/kernel" and name.startswith("dmesg"):
            dmesg.append(path)
        elif directory == "sos_commands/logs" and name.startswith("journalctl"):
            if any(flag in name for flag in _SOS_JOURNAL_NOT_LOGS):
                continue
            tokens = name.split("_")
            if "-k" in tokens or "--dmesg" in tokens or "kernel" in name:
                journals["kernel"].append(path)
            elif {"--boot", "-b", "--this-boot"} & set(tokens):
                journals["boot"].append(path)
            else:
                journals["whole"].append(path)
        elif directory == "var/log":
            base = _ROTATED.match(name)
            family = base["base"] if base else ""
            if family in var_log:
                var_log[family].append(path)

    def ordered(group: list[str]) -> list[str]:
        return sorted(group, key=lambda p: rotation_key(p.rpartition("/")[2]))

    # the ring buffer's own copy (specs.KERNEL_LOG) when the report has it, else its variants
    selected = [p for p in specs.KERNEL_LOG.paths if p in dmesg] or ordered(dmesg)
    selected += ordered(next((g for g in journals.values() if g), []))
    selected += ordered(var_log["dmesg"])
    selected += ordered(next((var_log[f] for f in ("kern.log", "messages", "syslog") if var_log[f]), []))
    return selected


def _is_snapshot_dir(path: str) -> bool:
    """A `minfree snapshot` directory: its manifest, /proc copies and the kernel log."""
    join = os.path.join
    return os.path.isfile(join(path, "manifest.json")) and os.path.isdir(join(path, "proc"))


def _is_sosreport_dir(path: str) -> bool:
    join = os.path.join
    return (
        os.path.isdir(join(path, "sos_commands"))
        or os.path.isdir(join(path, "sos_reports"))
        or (os.path.isfile(join(path, "version.txt")) and os.path.isdir(join(path, "sos_logs")))
    )


def _sosreport_dir_files(root: str) -> list[str]:
    found = []
    for sub in ("sos_commands/kernel", "sos_commands/logs", "var/log"):
        try:
            names = os.listdir(os.path.join(root, sub))
        except OSError:
            continue
        found += [f"{sub}/{n}" for n in names if os.path.isfile(os.path.join(root, sub, n))]
    return found


def _sosreport_tar_roots(names: Iterable[str]) -> dict[str, list[str]]:
    """Members grouped by sosreport root prefix ("" or "sosreport-host-.../")."""
    members = list(names)
    roots = set()
    for name in members:
        parts = name.split("/")
        for depth in range(min(2, len(parts) - 1)):
            if parts[depth] in ("sos_commands", "sos_reports", "sos_logs"):
                roots.add("/".join(parts[:depth]) + "/" if depth else "")
    grouped: dict[str, list[str]] = {root: [] for root in sorted(roots)}
    for name in members:
        for root in grouped:
            if name.startswith(root):
                grouped[root].append(name[len(root) :])
    return grouped


# --- expansion -------------------------------------------------------------------------


class _Expander:
    def __init__(self, skipped: list[Skipped] | None) -> None:
        self._skipped = skipped
        self._visited: set[tuple[int, int]] = set()

    def skip(self, path: str, reason: str) -> None:
        if self._skipped is not None:
            self._skipped.append(Skipped(path, reason))

    def refuse(self, path: str, reason: str, explicit: bool) -> list[Input]:
        if explicit:
            raise SourceError(f"cannot read {path}: {reason}")
        self.skip(path, reason)
        return []

    def file(self, path: str, explicit: bool) -> list[Input]:
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            return self.refuse(path, str(exc.strerror), explicit)
        if not stat.S_ISREG(mode):
            if explicit:  # a pipe such as <(zcat x): read once, detect compression then
                return [Input(path, "file", functools.partial(_open_file, path, path))]
            return self.refuse(path, "not a regular file", explicit)
        try:
            sniff = _sniff(path)
        except OSError as exc:
            return self.refuse(path, str(exc.strerror), explicit)
        if sniff.journal:
            import shutil

            if shutil.which("journalctl") is None:
                return self.refuse(path, "systemd journal file and journalctl is not installed", explicit)
            command = _journalctl_command("--file", path)
            return [Input(path, "journald", functools.partial(_ProcessStream, command, path))]
        if sniff.tar:
            return self.tarball(path, explicit)
        if sniff.binary:
            return self.refuse(path, "binary data (mostly non-text bytes in the first 4 KiB), not a text log", explicit)
        return [Input(path, "file", functools.partial(_open_file, path, path, True))]

    def directory(self, path: str) -> list[Input]:
        try:
            info = os.stat(path)
        except OSError as exc:
            self.skip(path, str(exc.strerror))
            return []
        if (info.st_dev, info.st_ino) in self._visited:
            self.skip(path, "directory already visited")
            return []
        self._visited.add((info.st_dev, info.st_ino))
        if _is_sosreport_dir(path):
            return self.sosreport(path)
        if _is_snapshot_dir(path):
            return self.file(os.path.join(path, specs.KERNEL_LOG.path), explicit=False)
        try:
            with os.scandir(path) as scan:
                entries = sorted(scan, key=lambda e: rotation_key(e.name))
        except OSError as exc:
            self.skip(path, str(exc.strerror))
            return []
        inputs: list[Input] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            inputs += self.directory(entry.path) if is_dir else self.file(entry.path, explicit=False)
        return inputs

    def sosreport(self, root: str) -> list[Input]:
        inputs: list[Input] = []
        for relative in select_sosreport_members(_sosreport_dir_files(root)):
            inputs += self.file(os.path.join(root, relative), explicit=False)
        return inputs

    def tarball(self, path: str, explicit: bool) -> list[Input]:
        import tarfile

        try:
            with _open_file(path, path) as stream, tarfile.open(fileobj=stream, mode="r|", bufsize=_READ_SIZE) as tar:
                names = [member.name for member in tar if member.isfile()]
        except (tarfile.TarError, SourceError) as exc:
            return self.refuse(path, f"unreadable tar archive ({exc})", explicit)
        roots = _sosreport_tar_roots(names)
        if not roots:   # a `minfree snapshot` tarball (its manifest and its kernel log), or nothing
            log = specs.KERNEL_LOG.path   # where a snapshot keeps the kernel log
            snapshot_logs = [n for n in names if n == log or n.endswith("/" + log)]
            if snapshot_logs and any(n.rpartition("/")[2] == "manifest.json" for n in names):
                return [Input(f"{path}/{member}", "file",
                              functools.partial(_open_tar_member, path, member, f"{path}/{member}"))
                        for member in snapshot_logs]
            return self.refuse(path, "tar archive that is not a sosreport (extract it and scan the directory)", explicit)
        inputs = []
        for root, members in roots.items():
            for relative in select_sosreport_members(members):
                member = root + relative
                name = f"{path}/{member}"
                inputs.append(Input(name, "file", functools.partial(_open_tar_member, path, member, name)))
        return inputs


def expand_paths(paths: Sequence[str], skipped: list[Skipped] | None = None) -> list[Input]:
    """The inputs named by command-line PATHs, in order (see the module docstring).

    Raises :class:`SourceError` for a PATH that does not exist or cannot be read, and for
    a file given by name that is not a text log; inside directories such files are left
    out and, when ``skipped`` is a list, noted there.

    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name in ("kern.log", "kern.log.1", "kern.log.2.gz"):
    ...     with open(os.path.join(root, name), "wb") as f:
    ...         _ = f.write(b"[21161.092614] kernel: earlyoom: page allocation failure: order:0\\n")
    >>> [os.path.basename(i.name) for i in expand_paths([root])]
    ['kern.log.2.gz', 'kern.log.1', 'kern.log']
    >>> expand_paths([root + "/nope"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    minfree.sources.logfiles.SourceError: cannot read /tmp/.../nope: No such file or directory
    >>> import shutil; shutil.rmtree(root)
    """
    expander = _Expander(skipped)
    inputs: list[Input] = []
    stdin_listed = False
    for path in paths:
        if path == "-":
            if not stdin_listed:
                inputs.append(Input("-", "stdin", _open_stdin))
                stdin_listed = True
            continue
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror}") from exc
        if stat.S_ISDIR(mode):
            if not os.access(path, os.R_OK | os.X_OK):
                raise SourceError(f"cannot read {path}: Permission denied")
            inputs += expander.directory(path)
        else:
            inputs += expander.file(path, explicit=True)
    return inputs


def _open_stdin() -> BinaryIO:
    return _open_stream(sys.stdin.buffer, "-")


class _ClosingStream(_Reader):
    """Reads ``inner``; closing it also closes ``owners`` (the archive behind a member)."""

    def __init__(self, inner: BinaryIO, owners: Sequence[Any]) -> None:
        super().__init__()
        self._inner = inner
        self._owners = owners

    def read(self, size: int | None = -1) -> bytes:
        return self._inner.read(-1 if size is None else size)

    def close(self) -> None:
        if not self.closed:
            for owner in (self._inner, *self._owners):
                owner.close()
        super().close()


def _open_tar_member(path: str, member: str, name: str) -> BinaryIO:
    import tarfile

    outer = _open_file(path, path)
    try:
        tar = tarfile.open(fileobj=outer, mode="r|", bufsize=_READ_SIZE)
        for info in tar:
            if info.name == member and info.isfile():
                data = tar.extractfile(info)
                assert data is not None  # a regular member always has data
                return _ClosingStream(_open_stream(data, name), (tar, outer))  # type: ignore[arg-type, return-value]
        tar.close()
        raise SourceError(f"cannot read {name}: member not found on second read")
    except tarfile.TarError as exc:
        outer.close()
        raise SourceError(f"cannot read {name}: {exc}") from exc
    except BaseException:
        outer.close()
        raise


# --- live sources ----------------------------------------------------------------------

# journald output for the log parsers (minfree.logs.prefix): JSON, one entry per line, so
# a line-oriented scanner never sees an entry split. _SOURCE_MONOTONIC_TIMESTAMP is the
# kernel's own record time (the dmesg stamp); __REALTIME_TIMESTAMP, __MONOTONIC_TIMESTAMP
# and _BOOT_ID are always printed (journalctl(1) --output-fields=). --all keeps MESSAGE
# fields over 4096 bytes, which journalctl otherwise prints as null.
_JOURNAL_FIELDS = "MESSAGE,PRIORITY,SYSLOG_IDENTIFIER,_TRANSPORT,_HOSTNAME,_SOURCE_MONOTONIC_TIMESTAMP"
_OUTPUT_FIELDS_SINCE = 236  # systemd release that added --output-fields=


@functools.lru_cache(maxsize=1)
def _systemd_version() -> int:
    import subprocess

    try:
        out = subprocess.run(
            ["journalctl", "--version"], capture_output=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    match = re.match(rb"systemd (\d+)", out)
    return int(match.group(1)) if match else 0


# dmesg -r: raw records, "<4>[    0.422719] text", so the parsers get the level too.
_DMESG_COMMAND = ("dmesg", "-r")


def _journalctl_command(*selection: str) -> list[str]:
    """``journalctl`` printing the kernel entries of every boot it holds, as JSON lines."""
    command = ["journalctl", "--no-pager", "-q", "--all", *selection, "-o", "json"]
    if _systemd_version() >= _OUTPUT_FIELDS_SINCE:
        command.append(f"--output-fields={_JOURNAL_FIELDS}")
    return [*command, "_TRANSPORT=kernel"]


class _ProcessStream(_Reader):
    """Standard output of a command; a failed exit is a SourceError at the end."""

    def __init__(self, command: Sequence[str], name: str) -> None:
        super().__init__()
        self._name = name
        import subprocess
        import tempfile

        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(
                list(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr
            )
        except OSError as exc:
            self._stderr.close()
            raise SourceError(f"cannot read {name}: {command[0]}: {exc.strerror}") from exc
        assert self._process.stdout is not None
        self._stdout = io.BufferedReader(self._process.stdout, _READ_SIZE)  # type: ignore[arg-type]
        self._finished = False

    def read(self, size: int | None = -1) -> bytes:
        data = self._stdout.read(-1 if size is None else size)
        if not data and not self._finished and size != 0:
            self._finished = True
            status = self._process.wait()
            if status != 0:
                self._stderr.seek(0)
                message = self._stderr.read(4096).decode(errors="replace").strip().splitlines()
                detail = f": {message[0]}" if message else ""
                raise SourceError(f"cannot read {self._name}: exit status {status}{detail}")
        return data

    def close(self) -> None:
        if not self.closed:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._stdout.close()
            self._stderr.close()
        super().close()


def _first_line(data: bytes) -> str:
    lines = data.decode(errors="replace").strip().splitlines()
    return lines[0] if lines else ""


def _journal_probe() -> str | None:
    """None when journald holds kernel entries, else why not."""
    import shutil
    import subprocess

    if shutil.which("journalctl") is None:
        return "journalctl not installed"
    command = ["journalctl", "--no-pager", "-n", "1", "-o", "export", "_TRANSPORT=kernel"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.stdout.startswith(b"__CURSOR="):  # an export entry, not "-- No entries --"
        return None
    return _first_line(done.stderr) or "no kernel entries"


def _dmesg_probe() -> str | None:
    """None when ``dmesg -r`` prints the kernel ring buffer, else why not."""
    import shutil
    import subprocess

    if shutil.which("dmesg") is None:
        return "dmesg not installed"
    try:
        done = subprocess.run(_DMESG_COMMAND, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0 and done.stdout:
        return None
    return _first_line(done.stderr) or f"exit status {done.returncode}, no output"


def _kmsg_snapshot(path: str) -> BinaryIO:
    try:
        return io.BytesIO(read_kmsg_snapshot(path))
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from exc


def live_inputs(kmsg_path: str = KMSG_PATH) -> list[Input]:
    """The running kernel's log, from the first source that has it.

    1. journald, kernel entries of every boot it keeps, one JSON object per line
       (``journalctl --no-pager -q --all -o json --output-fields=MESSAGE,PRIORITY,...
       _TRANSPORT=kernel``; the match is used instead of ``-k``, which implies ``-b``,
       the current boot only); skipped when it has none, e.g. when journalctl says
       ``No journal files were found.`` (and exits 0);
    2. ``dmesg -r`` (util-linux; lines like ``<4>[    0.422719] text``);
    3. ``/dev/kmsg`` read without blocking until ``EAGAIN``: raw records such as
       ``6,339,5140900,-;text``.

    Raises :class:`SourceError` naming why each one failed when none is readable.
    """
    reasons = []
    journal_problem = _journal_probe()
    if journal_problem is None:
        command = _journalctl_command()
        return [Input("journald", "journald", functools.partial(_ProcessStream, command, "journald"))]
    reasons.append(f"journald: {journal_problem}")
    dmesg_problem = _dmesg_probe()
    if dmesg_problem is None:
        return [Input("dmesg", "dmesg", functools.partial(_ProcessStream, _DMESG_COMMAND, "dmesg"))]
    reasons.append(f"dmesg: {dmesg_problem}")
    try:
        os.close(os.open(kmsg_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC))
    except OSError as exc:
        reasons.append(f"{kmsg_path}: {exc.strerror}")
        raise SourceError("no readable kernel log (" + "; ".join(reasons) + ")") from exc
    return [Input(kmsg_path, "kmsg", functools.partial(_kmsg_snapshot, kmsg_path))]

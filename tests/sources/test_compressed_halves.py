"""sources.logscan: a large compressed file is scanned on two processes (a child decodes it
again to about its middle and scans from the first line start there) and `scan --json` prints,
byte for byte, what one process prints: events, lines, related counts, skipped lines, bytes
and the error of a damaged archive after every event before the damage. Correctness never
depends on timing: a split heard of too late, or never, leaves the scan to one process."""
from __future__ import annotations

import bz2
import gzip
import importlib.util
import lzma
import os
import random
import select
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from minfree.cli import main
from minfree.logs import scanner as scanner_module
from minfree.logs.scanner import LogScanner
from minfree.sources import logfiles, logscan
from minfree.sources.logfiles import CompressedFile, expand_paths

ROOT = Path(__file__).resolve().parents[1]
_GEN = importlib.util.spec_from_file_location("gen_log", ROOT.parent / "bench" / "gen_log.py")
gen_log = sys.modules.setdefault("gen_log", importlib.util.module_from_spec(_GEN))
if not hasattr(gen_log, "generate"):
    _GEN.loader.exec_module(gen_log)

REPORTS = [p.read_bytes().rstrip(b"\n") + b"\n" for p in sorted((ROOT / "corpus" / "logs").glob("*.log"))]
QUIET = b"".join(b"[%6d.000000] eth0: link is up, filler line %d for the split\n" % (i, i * 7919)
                 for i in range(300))
#: the corpus's reports, quiet lines between them (where the split falls depends on the format)
CORPUS = QUIET.join(REPORTS)
#: a line of 1.5 MiB (junk: skipped and counted once) in the second half
JUNK = CORPUS[:len(CORPUS) * 3 // 4] + b"x" * (3 << 19) + b"\n" + CORPUS[len(CORPUS) * 3 // 4:]
_RNG = random.Random(11)
#: full reports of every era (with their memory dumps) back to back and nothing else: the split
#: falls inside one of them
STRADDLE = b"".join(gen_log.stamp(gen_log.render_failure("dmesg", _RNG).data, "dmesg", 1000 + i)
                    for i in range(200))


def _compress(fmt: str, data: bytes) -> bytes:
    half = data.index(b"\n", len(data) // 2) + 1
    if fmt == "gz":
        return gzip.compress(data, mtime=0)
    if fmt == "gz-members":   # the second member starts near the split
        return gzip.compress(data[:half], mtime=0) + gzip.compress(data[half:], mtime=0)
    if fmt == "zst":
        return zstandard.ZstdCompressor(write_checksum=True).compress(data)
    if fmt == "zst-frames":
        compressor = zstandard.ZstdCompressor()
        return b"".join(compressor.compress(data[i:i + 300_000]) for i in range(0, len(data), 300_000))
    if fmt == "xz":
        return lzma.compress(data)
    assert fmt == "bz2"
    return bz2.compress(data, 1)   # blocks of 100 kB: damage costs one of them


FORMATS = ("gz", "gz-members", "zst", "zst-frames", "xz", "bz2")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A dense (a report every ~10 KiB) and a sparse generated log of 2 MiB."""
    out = tmp_path_factory.mktemp("gen")
    logs = {}
    for name, failures in (("dense", 200), ("sparse", 4)):
        gen_log.generate(out / name, 2 << 20, failures, "dmesg", seed=5)
        logs[name] = (out / name).read_bytes()
    return logs


class _Recorder:
    """What the two-process scans did: the heads merged, the splits heard of too late."""

    def __init__(self) -> None:
        self.merged: list = []
        self.passed = 0


@pytest.fixture(autouse=True)
def small_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compressed input read and decoded in pieces of 16 KiB, not 1 MiB and 256 KiB: the middle
    of a small test file is found as precisely as that of a large log."""
    monkeypatch.setattr(logfiles, "_READ_SIZE", 16 << 10)
    monkeypatch.setattr(logfiles, "_CHUNK_SIZE", 16 << 10)


@pytest.fixture()
def halves(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    """Every compressed file on two processes, the first waiting for the split before its first
    block (so that the split is certain, not a race the first process may win)."""
    _split_always(monkeypatch)
    return _record(monkeypatch, lambda tail, looked, split: split(tail, looked, 30.0))


def _split_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child starts at the first block and never finds decoding too dear."""
    monkeypatch.setattr(logscan, "PARALLEL_MIN_COMPRESSED", 0)
    monkeypatch.setattr(logscan, "SCAN_PROBE", 0)
    monkeypatch.setattr(logscan, "SPLIT_RATIO", 0.0)
    monkeypatch.setattr(logscan, "FREE_CORE", 0.0)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)


def _record(monkeypatch: pytest.MonkeyPatch, ask: Callable) -> _Recorder:
    recorder = _Recorder()
    split, merge = logscan._Tail.split, logscan._Tail.merge

    def asked(tail, looked: int, wait: float = 0.0):
        running = tail.running
        answer = ask(tail, looked, split)
        recorder.passed += running and not tail.running and tail._split is not None and tail._split < looked
        return answer

    def merged(tail, scanner, head):
        recorder.merged.append(head)
        return merge(tail, scanner, head)

    monkeypatch.setattr(logscan._Tail, "split", asked)
    monkeypatch.setattr(logscan._Tail, "merge", merged)
    return recorder


def _scan_json(capsys: pytest.CaptureFixture, path: Path) -> str:
    assert main(["scan", "--json", str(path)]) == 0
    return capsys.readouterr().out


def _one_process(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, path: Path) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(logscan, "PARALLEL_MIN_COMPRESSED", 1 << 62)
        return _scan_json(capsys, path)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("log", ["corpus", "junk", "dense", "sparse"])
def test_two_processes_print_what_one_prints(log: str, fmt: str, generated: dict[str, bytes], halves: _Recorder,
                                             tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    data = {"corpus": CORPUS, "junk": JUNK, **generated}[log]
    _check_halves(data, fmt, halves, tmp_path, capsys, monkeypatch)


def test_a_report_across_the_split(halves: _Recorder, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports back to back: the first process runs on past the split to finish the report
    open there (count_before: its related messages are the child's to count)."""
    for fmt in FORMATS:
        _check_halves(STRADDLE, fmt, halves, tmp_path, capsys, monkeypatch)
    assert len(halves.merged) == len(FORMATS)
    assert sum(head.reached_line > head.split_line for head in halves.merged) >= 4


def _check_halves(data: bytes, fmt: str, halves: _Recorder, tmp_path: Path, capsys,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / f"kern.log.{fmt}"
    path.write_bytes(_compress(fmt, data))
    merged = len(halves.merged)
    one = _one_process(capsys, monkeypatch, path)
    assert len(halves.merged) == merged
    two = _scan_json(capsys, path)
    assert two == one
    assert len(halves.merged) == merged + 1 and '"line":' in two
    head = halves.merged[-1]
    assert 0 < head.split < len(data) and data[head.split - 1:head.split] == b"\n"
    assert head.split_line == data.count(b"\n", 0, head.split) + 1


@pytest.mark.parametrize("fmt", ["gz", "zst", "xz", "bz2"])
@pytest.mark.parametrize("where", [0.3, 0.8])
@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_damaged_archive_ends_as_in_one_process(damage: str, where: float, fmt: str, halves: _Recorder,
                                                  tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's error comes after every event both processes found before the damage; damage
    it meets before the middle leaves the first process to scan alone. A truncated file's middle
    is always before the cut; zstd and bzip2 find corruption where it is (a block's check),
    gzip and xz may decode garbage past the middle until their checksum fails."""
    packed = _compress(fmt, CORPUS)
    at = int(len(packed) * where)
    if damage == "truncated":
        packed = packed[:at]
    else:
        packed = packed[:at] + bytes(b ^ 0x55 for b in packed[at:at + 64]) + packed[at + 64:]
    path = tmp_path / f"kern.log.{fmt}"
    path.write_bytes(packed)
    one = _one_process(capsys, monkeypatch, path)
    two = _scan_json(capsys, path)
    assert two == one
    assert '"errors":["' in two and '"line":' in two
    assert len(halves.merged) == (damage == "truncated" or where > 0.5 or fmt in ("gz", "xz"))


def test_a_split_heard_of_too_late_leaves_it_to_one_process(tmp_path: Path, capsys,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The first process has looked past the split when it hears of it (forced: it asks only
    from 90 % of the input on): it stops the child and scans on alone."""
    _split_always(monkeypatch)
    monkeypatch.setattr(scanner_module, "BLOCK", 64 << 10)
    path = tmp_path / "kern.log.zst"
    path.write_bytes(_compress("zst", STRADDLE))
    one = _one_process(capsys, monkeypatch, path)

    def late(tail, looked: int, split):
        return None if looked < 0.9 * len(STRADDLE) else split(tail, looked, 30.0)

    recorder = _record(monkeypatch, late)
    assert _scan_json(capsys, path) == one
    assert recorder.passed == 1 and not recorder.merged
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)   # the child was stopped and reaped


def test_a_failing_first_process_stops_the_child(halves: _Recorder, tmp_path: Path) -> None:
    """Our output went away mid-scan (``scan --json | head``): the error reaches the caller,
    and the child scanning the second half is killed and reaped, not left running."""
    path = tmp_path / "kern.log.gz"
    path.write_bytes(_compress("gz", CORPUS))
    emitted = []

    def emit(event) -> None:
        emitted.append(event)
        raise BrokenPipeError

    with pytest.raises(BrokenPipeError):
        with expand_paths([str(path)])[0].open() as stream:
            assert isinstance(stream, CompressedFile)
            logscan.scan_stream(LogScanner(str(path), emit), stream)
    assert len(emitted) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)   # no child of ours is left, running or not reaped


def test_a_child_started_mid_scan_brings_back_only_what_it_found(halves: _Recorder, tmp_path: Path, capsys,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The child is forked once this process has scanned SCAN_PROBE bytes, with what this process
    kept so far (scan's sizing: the latest report whose dump rebuilds a machine). Reports in
    the first part only: the child must not bring that back as its own, shifted into its part."""
    monkeypatch.setattr(logscan, "SCAN_PROBE", 256 << 10)
    rng = random.Random(3)
    quiet = b"".join(b"[%6d.%06d] eth0: rx %016x\n" % (5000 + i // 1000, i, rng.getrandbits(64))
                     for i in range(60000))
    path = tmp_path / "kern.log.gz"
    path.write_bytes(_compress("gz", STRADDLE[:len(STRADDLE) // 3] + quiet))
    one = _one_process(capsys, monkeypatch, path)
    assert '"sizing":{' in one
    assert _scan_json(capsys, path) == one
    assert len(halves.merged) == 1 and halves.merged[0].split > len(STRADDLE) // 3


def test_the_child_gives_up_when_decoding_costs_more_than_scanning(tmp_path: Path, capsys,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Scanning must cost SPLIT_RATIO times decoding for the child to go on (here never): it
    ends without a split once it has decoded DECODE_PROBE bytes, and this process scans alone."""
    _split_always(monkeypatch)
    monkeypatch.setattr(logscan, "SPLIT_RATIO", 1e9)
    monkeypatch.setattr(logscan, "DECODE_PROBE", 64 << 10)
    share = logscan._share

    def judged(scan_cost: float):
        judge = share(scan_cost)

        def recorded(decoded: int) -> float | None:
            wanted = judge(decoded)
            if wanted is None:
                os.write(seen_write, b"x")   # from the child
            return wanted
        return recorded

    seen_read, seen_write = os.pipe()
    monkeypatch.setattr(logscan, "_share", judged)
    recorder = _record(monkeypatch, lambda tail, looked, split: split(tail, looked, 30.0))
    path = tmp_path / "kern.log.gz"
    path.write_bytes(_compress("gz", STRADDLE))
    one = _one_process(capsys, monkeypatch, path)
    assert _scan_json(capsys, path) == one
    gave_up = select.select([seen_read], [], [], 0)[0]
    os.close(seen_read)
    os.close(seen_write)
    assert gave_up and not recorder.merged and recorder.passed == 0


def test_the_child_tells_the_split_before_it_scans(tmp_path: Path) -> None:
    """The split reaches the first process while the child still scans: it can stop at it."""
    path = tmp_path / "kern.log.zst"
    path.write_bytes(_compress("zst", STRADDLE * 4))
    gate_read, gate_write = os.pipe()
    with expand_paths([str(path)])[0].open() as stream:
        def tail(spill, tell_split):
            split, rest = stream.second_half(lambda decoded: 0.5)
            tell_split(split)
            os.read(gate_read, 1)   # the test lets it scan once the split was heard
            with rest:
                return LogScanner(str(path), lambda _e: None).scan_tail_stream(rest, spill)

        child = logscan._Tail(tail)
        try:
            assert child.start()
            assert select.select([child._pipe], [], [], 30)[0]
            split = child.split(0)
            assert split is not None and 0 < split < 4 * len(STRADDLE)
            os.write(gate_write, b"x")
        finally:
            child.close()
    os.close(gate_read)
    os.close(gate_write)


def test_the_child_never_splits_before_a_wrapped_piece(tmp_path: Path) -> None:
    """As for a plain file (logscan._split_point): lines that start with a blank after the
    middle stay with the first process, which joins them to the line before."""
    head = b"".join(b"[%d.0] line %07d\n" % (i, i) for i in range(40000))
    wrapped = b"".join(b" wrapped piece %07d\n\tand another\n" % i for i in range(4000))
    path = tmp_path / "kern.log.gz"
    path.write_bytes(gzip.compress(head + wrapped + b"[9.0] stamped\n" + head))
    with expand_paths([str(path)])[0].open() as stream:
        split, rest = stream.second_half(lambda decoded: 0.5)
        with rest:
            assert split == len(head) + len(wrapped) and rest.read(14) == b"[9.0] stamped\n"


@pytest.mark.parametrize("second", [b" wrapped piece\n[2.0] stamped\n", b"[2.0] stamped\n"])
def test_a_line_start_at_a_chunk_end_is_judged_by_the_next_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  second: bytes) -> None:
    """The half is reached in a chunk that ends with a newline: the next chunk's first byte says
    whether the line there is a wrapped piece (look on) or may start the second half."""
    path = tmp_path / "kern.log.gz"
    path.write_bytes(b"x" * 100)
    first = b"[1.0] first\n"

    def decode(source, _fmt, _read_size, _chunk_size):
        for chunk in (first, second):
            source.read(50)   # each chunk as if decoded from half of the compressed bytes
            yield chunk

    monkeypatch.setattr(logfiles, "_decode", decode)
    with open(path, "rb") as raw:
        split, rest = logfiles._DecompressingReader(raw, "gzip", "kern.log.gz").second_half()
        with rest:
            assert rest.read() == b"[2.0] stamped\n"
    assert split == len(first) + len(second) - len(b"[2.0] stamped\n")

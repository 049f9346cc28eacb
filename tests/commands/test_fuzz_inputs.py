"""Fuzz the two commands that read other people's data (issue 8): ``doctor --root`` on mutated
snapshots and ``scan`` on mutated logs (plain and gzip). Whatever the damage: no traceback
(the command returns an exit status), no hang (an alarm per case), bounded memory."""
from __future__ import annotations

import contextlib
import gzip
import io
import random
import resource
import shutil
import signal
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doctor_roots import make_root
from minfree.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "logs"
LOGS = sorted(CORPUS.glob("*.log"))[:12]
CASE_SECONDS = 60          # one doctor or scan of a small capture takes well under a second
MEMORY_GROWTH_MIB = 512    # peak RSS of this process may grow at most this much over a fuzz run
MAX_INFLATED = 32 << 20    # what a damaged gzip log may inflate to
#: The files of a capture that doctor reads, each a target for damage.
TARGETS = ("proc/zoneinfo", "proc/buddyinfo", "proc/pagetypeinfo", "proc/meminfo", "proc/vmstat",
           "proc/version", "proc/pressure/memory", "proc/sys/vm/min_free_kbytes",
           "proc/sys/vm/watermark_scale_factor", "proc/sys/vm/lowmem_reserve_ratio",
           "sys/kernel/debug/extfrag/unusable_index", "sys/kernel/mm/transparent_hugepage/enabled",
           "etc/sysctl.conf", "var/log/dmesg")
JUNK = (b"\x00" * 300, b"\xff\xfe", b"99999999999999999999999999", b"-1", b"9" * 5000, b"\n" * 50,
        b" >100000", b"Node 0, zone   Normal", b"Page block order: 4000000", b"order:99999 ",
        b"mode:0xffffffffffffffffffff", b"\r", b"\x1b[31m", "\u2028".encode())


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three damages of the kinds real captures and logs suffer, at random places."""
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(data))
        kind = rng.randrange(7)
        if kind == 0:       # flipped bytes
            data = data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + data[at + 16:]
        elif kind == 1:     # cut short
            data = data[:at]
        elif kind == 2:     # junk inserted
            data = data[:at] + rng.choice(JUNK) + data[at:]
        elif kind == 3:     # a line repeated many times
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            line = data[start:end + 1 if end >= 0 else len(data)]
            times = min(rng.randint(2, 2000), (4 << 20) // max(1, len(line)))   # the test's own memory
            data = data[:start] + line * times + data[start:]
        elif kind == 4:     # a number made absurd
            digits = [i for i in range(at, min(len(data), at + 400)) if data[i:i + 1].isdigit()]
            if digits:
                i = digits[0]
                data = data[:i] + rng.choice((b"18446744073709551616", b"0", b"-7", b"4000000")) + data[i:]
        elif kind == 5:     # lines shuffled
            lines = data.splitlines(keepends=True)
            rng.shuffle(lines)
            data = b"".join(lines)
        else:               # emptied
            data = b""
    return data


class Hang(BaseException):
    """A case ran past its time (not an OSError, which scan would report as the input's error
    and go on: TimeoutError is one)."""


@contextlib.contextmanager
def bounded(seconds: int = CASE_SECONDS) -> Iterator[None]:
    """Fail the case (not hang the suite) when it runs longer than ``seconds``."""
    def expired(signum, frame):
        raise Hang(f"no result after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


class _Discard(io.TextIOBase):
    """Standard output that keeps nothing: a damaged log can make thousands of reports, whose
    output is not what the fuzz looks at (the test process's peak memory is)."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


def run_quietly(*argv: str) -> tuple[int, str]:
    out, err = _Discard(), io.StringIO()
    with bounded(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, err.getvalue()


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_root(tmp_path_factory.mktemp("pristine"))
    (root / "var" / "log").mkdir(parents=True, exist_ok=True)
    shutil.copy(LOGS[0], root / "var" / "log" / "dmesg")
    (root / "manifest.json").write_text('{"schema": 1}\n')
    return root


def damaged_copy(pristine: Path, target: Path, rng: random.Random) -> Path:
    if target.exists():
        shutil.rmtree(target)
    target.with_name(target.name + ".tar.gz").unlink(missing_ok=True)
    shutil.copytree(pristine, target, symlinks=True)
    every = sorted(p for p in target.rglob("*") if p.is_file() and not p.is_symlink())
    chosen = [target / rel for rel in rng.sample(TARGETS, rng.randint(1, 3))]
    for path in chosen + rng.sample(every, rng.randint(0, 4)):   # the main files, and any others
        if path.is_file():
            path.write_bytes(mutate(path.read_bytes(), rng))
    if rng.random() < 0.25:   # the same capture as a tarball, maybe damaged itself
        archive = target.with_name(target.name + ".tar.gz")
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(target, arcname="snapshot")
        if rng.random() < 0.5:
            packed = archive.read_bytes()
            archive.write_bytes(packed[:10] + mutate(packed[10:], rng))
        return archive
    return target


def check_doctor(root: Path) -> None:
    for json_output in ((), ("--json",)):
        status, err = run_quietly("doctor", "--root", str(root), "--window", "0", *json_output)
        assert status in (0, 1, 2, 3), err
        assert err == "" or err.startswith("minfree: error: --root ") and err.count("\n") == 1, err


def check_scan(log: Path) -> None:
    for json_output in ((), ("--json",)):
        status, err = run_quietly("scan", "--events", str(log), *json_output)
        assert status in (0, 2) and "Traceback" not in err
        assert status == 0 or err.startswith("minfree: error: ") and err.count("\n") == 1


def damaged_log(directory: Path, rng: random.Random) -> Path:
    """A corpus log, damaged; half of them gzipped, and then the compressed bytes damaged too."""
    data = mutate(rng.choice(LOGS).read_bytes(), rng)
    if rng.random() < 0.5:
        log = directory / "kern.log"
        log.write_bytes(data)
        return log
    log = directory / "kern.log.gz"
    packed = gzip.compress(data)
    damaged = packed[:10] + mutate(packed[10:], rng) if rng.random() < 0.5 else packed
    # a piece of a stream this repetitive, repeated, can inflate to 100 MB of failure headers
    # (seed 7152: 1.27 million reports, minutes to scan): a benchmark's size, not a fuzz case's
    log.write_bytes(damaged if _inflates_to(damaged) <= MAX_INFLATED else packed)
    return log


def _inflates_to(packed: bytes) -> int:
    """The bytes a gzip stream inflates to (its first member, as far as it is readable), up to
    one past MAX_INFLATED."""
    inflater = zlib.decompressobj(31)
    try:
        return len(inflater.decompress(packed, MAX_INFLATED + 1))
    except zlib.error:
        return 0


FUZZ = settings(max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# hypothesis draws the seed of the damage: a failing case replays exactly from its seed
@FUZZ
@given(st.integers(min_value=0, max_value=2**32))
def test_doctor_root_on_mutated_snapshots(pristine: Path, tmp_path: Path, seed: int) -> None:
    before = peak_mib()
    check_doctor(damaged_copy(pristine, tmp_path / "capture", random.Random(seed)))
    assert peak_mib() - before < MEMORY_GROWTH_MIB


@FUZZ
@given(st.integers(min_value=0, max_value=2**32))
def test_scan_on_mutated_logs(tmp_path: Path, seed: int) -> None:
    before = peak_mib()
    check_scan(damaged_log(tmp_path, random.Random(seed)))
    assert peak_mib() - before < MEMORY_GROWTH_MIB


@pytest.mark.slow
def test_a_few_hundred_random_mutations(pristine: Path, tmp_path: Path) -> None:
    rng = random.Random(20261202)
    before = peak_mib()
    for case in range(300):
        check_doctor(damaged_copy(pristine, tmp_path / "capture", rng))
        log_dir = tmp_path / f"logs{case % 2}"
        log_dir.mkdir(exist_ok=True)
        check_scan(damaged_log(log_dir, rng))
    assert peak_mib() - before < MEMORY_GROWTH_MIB

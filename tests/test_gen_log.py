"""Fast checks of the benchmark log generator (bench/gen_log.py)."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

GEN_PATH = Path(__file__).resolve().parents[1] / "bench" / "gen_log.py"
SIZE = 2 * 1024 * 1024
FAILURES = 5
DMESG_TS = re.compile(rb"\[ *(\d+)\.(\d{6})\]")


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_log", GEN_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_log"] = module
    spec.loader.exec_module(module)
    return module


gen_log = load_generator()


def uptimes(data: bytes, fmt: str) -> list[int]:
    """Every line's uptime in microseconds, in file order."""
    if fmt == "journal-json":
        return [int(json.loads(line)["__MONOTONIC_TIMESTAMP"]) for line in data.splitlines()]
    return [int(m.group(1)) * 1_000_000 + int(m.group(2)) for m in DMESG_TS.finditer(data)]


@pytest.mark.parametrize("fmt", gen_log.FORMATS)
def test_generated_log_matches_its_sidecar(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "kern.log"
    result = gen_log.generate(out, SIZE, FAILURES, fmt, seed=7)
    data = out.read_bytes()
    truth = json.loads(Path(f"{out}.truth.json").read_text())
    lines = data.split(b"\n")

    assert SIZE - 1024 < len(data) <= SIZE
    assert result.bytes_written == len(data) == truth["size"]
    assert data.endswith(b"\n") and data.count(b"\n") == truth["lines"]

    stamps = uptimes(data, fmt)
    assert len(stamps) == truth["lines"]
    assert all(a <= b for a, b in zip(stamps, stamps[1:]))

    grep = subprocess.run(["grep", "-c", "page allocation failure", str(out)],
                          capture_output=True, text=True, check=True)
    assert int(grep.stdout) == len(truth["events"]) == FAILURES

    for event in truth["events"]:
        line = lines[event["line"] - 1].decode()
        if fmt == "journal-json":
            line = json.loads(line)["MESSAGE"]
        assert f"{event['process']}: page allocation failure" in line
        assert f"order:{event['order']}, mode:{event['mode']}" in line
        assert line.endswith(event["mode"])

    related_headers = {
        "oom_kill": "invoked oom-killer", "slab_failure": "SLUB: Unable to allocate memory",
        "tcp_out_of_memory": "TCP: out of memory", "suppressed_reports": "warn_alloc:",
        "alloc_stall": "page allocation stalls",
    }
    suppressed = 0
    for kind, numbers in truth["related"].items():
        assert numbers, kind
        for number in numbers:
            assert related_headers[kind].encode() in lines[number - 1]
            if kind == "suppressed_reports":
                suppressed += int(re.search(rb"warn_alloc: (\d+) callbacks", lines[number - 1])[1])
    assert suppressed == truth["suppressed_callbacks"]


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    gen_log.generate(first, 256 * 1024, 2, "dmesg", seed=3)
    gen_log.generate(second, 256 * 1024, 2, "dmesg", seed=3)
    assert first.read_bytes() == second.read_bytes()


def test_size_too_small_for_reports_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too small"):
        gen_log.generate(tmp_path / "x.log", 4096, 10, "dmesg", seed=1)

"""`minfree scan` streams: its peak memory does not grow with the number of reports.

Two generated logs of one size, one with a few failure reports and one with a thousand full
ones (call trace, whole Mem-Info), scanned as a file (mapped) and gzipped (streamed), with
--json and as text with --events. Before events were written (JSON) or digested (text) as
they were explained, each report kept ~50 KiB alive until the end: 76 vs 50 MiB (plain) and
94 vs 78 MiB (gzip) here."""
from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from test_hostile_input import run_measured

GEN_PATH = Path(__file__).resolve().parents[2] / "bench" / "gen_log.py"
SIZE = 24 << 20
SPARSE, DENSE = 10, 1000
FLAT = 1.15   # the dense log's peak over the sparse one's: allocator noise, not reports


def _generator():
    spec = importlib.util.spec_from_file_location("gen_log", GEN_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_log", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    gen_log = _generator()
    out = tmp_path_factory.mktemp("density")
    paths = {}
    for failures in (SPARSE, DENSE):
        paths[failures] = out / f"{failures}.log"
        gen_log.generate(paths[failures], SIZE, failures, "dmesg", seed=5)
        with gzip.open(f"{paths[failures]}.gz", "wb", compresslevel=1) as packed:
            packed.write(paths[failures].read_bytes())
    return paths


@pytest.mark.slow
@pytest.mark.parametrize(("output", "suffix"), [("--json", ""), ("--json", ".gz"), ("--events", "")])
def test_peak_memory_does_not_grow_with_the_number_of_reports(logs: dict[int, Path], output: str,
                                                              suffix: str) -> None:
    peaks = {}
    for failures, path in logs.items():
        done, peaks[failures] = run_measured("scan", output, f"{path}{suffix}", timeout=300)
        assert done.returncode == 0, done.stderr.decode()[-500:]
        if output == "--json":
            assert len(json.loads(done.stdout)["events"]) == failures   # every report, none dropped
        else:
            assert f"{failures} page allocation failure report(s)" in done.stdout.decode()
    assert peaks[DENSE] <= peaks[SPARSE] * FLAT, peaks

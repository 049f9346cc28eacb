"""Damaged, endless and hostile input through the real command line (issue 8, part B): one-line
errors, no traceback, no hang, exit 0 when the reader of our output goes away."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from doctor_roots import fixture_root  # noqa: F401 (a pytest fixture)

MINFREE = [sys.executable, "-m", "minfree"]
REPORT = b"[2.000000] asd: page allocation failure: order:1, mode:0x20(GFP_ATOMIC)\n"


def first_line_then_close(*argv: str) -> tuple[int, bytes, bytes]:
    """Run minfree, read one line of its output and close the pipe (``minfree ... | head -1``)."""
    process = subprocess.Popen([*MINFREE, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    process.stdout.close()
    error = process.stderr.read()
    return process.wait(timeout=120), line, error


@pytest.mark.parametrize("json_output", [False, True])
def test_doctor_into_head_exits_0(fixture_root: Path, json_output: bool) -> None:  # noqa: F811
    argv = ["doctor", "--root", str(fixture_root), "--window", "0"] + (["--json"] if json_output else [])
    status, line, error = first_line_then_close(*argv)
    assert line and status == 0 and error == b""


@pytest.mark.parametrize("json_output", [False, True])
def test_scan_into_head_exits_0(tmp_path: Path, json_output: bool) -> None:
    log = tmp_path / "kern.log.gz"
    log.write_bytes(gzip.compress(REPORT * 3000))
    argv = ["scan", "--events", str(log)] + (["--json"] if json_output else [])
    status, line, error = first_line_then_close(*argv)
    assert line and status == 0 and error == b""

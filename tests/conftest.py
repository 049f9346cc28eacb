"""The shared corpus (../shared beside the checkout) holds the published reports and their
ground truth. CI requires it (.ci/run stops without it); a checkout without it still runs
every test that does not read it, and says which modules it left out."""
from __future__ import annotations

import signal
from pathlib import Path

# Tests press Ctrl-C on minfree processes they start. A test run started in the background of a
# shell without job control (`pytest &`, CI wrappers) inherits SIGINT ignored, and so would every
# process it starts (an ignored signal stays ignored across exec): catching it here makes their
# SIGINT the default again, as at a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
READS_SHARED_CORPUS = [
    "logs/test_memdump.py", "logs/test_prefix.py", "logs/test_trace.py", "logs/test_scanner_cuts.py",
    "analysis/test_origin.py",
    "model/test_gfp.py", "model/test_kversion.py",
    # minfree report's inputs are captures and reports of ../shared/kernel-failures
    "commands/test_report_cli.py", "render/test_report_chromium.py", "analysis/test_report.py",
]
collect_ignore = [] if (SHARED_CORPUS / "truth.json").is_file() else READS_SHARED_CORPUS


def pytest_report_header(config) -> str:
    if collect_ignore:
        return f"shared corpus not found at {SHARED_CORPUS}: left out {', '.join(collect_ignore)}"
    return f"shared corpus: {SHARED_CORPUS}"

"""Where the tests' data lives: fixtures beside the tests, the shared corpus beside the checkout."""
from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
SHARED_CORPUS = TESTS.parents[1] / "shared" / "corpus"
CORPUS_LOGS = SHARED_CORPUS / "logs"

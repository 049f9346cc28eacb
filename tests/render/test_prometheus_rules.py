"""The shipped alert rules: generated from the thresholds, valid, and their promtool unit tests pass."""
import shutil
import subprocess
from pathlib import Path

import pytest

from minfree.render.prometheus_rules import rules_yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: .ci/run installs Debian's prometheus")


def test_shipped_rules_are_the_generated_ones():
    assert (DEPLOY / "minfree-rules.yml").read_text() == rules_yaml(), \
        "regenerate: minfree exporter --rules > deploy/prometheus/minfree-rules.yml"


@needs_promtool
def test_rules_check():
    done = subprocess.run([PROMTOOL, "check", "rules", str(DEPLOY / "minfree-rules.yml")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout


@needs_promtool
def test_rules_unit_tests_pass():
    done = subprocess.run([PROMTOOL, "test", "rules", str(DEPLOY / "tests" / "minfree-rules.test.yml")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout

"""Every kind of ``minfree report`` opened in a real headless Chromium: no console message, no
request beyond the file itself, every plot drawn with a text alternative, pixels that vary.
Screenshots are kept under /tmp/report-shots/ for a human to look at."""
from __future__ import annotations

from pathlib import Path

import pytest

import report_inputs
from chromium import CHROMIUM, Browser, png_variance, save_shot
from minfree.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")]


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, list[str]]:
    tmp = tmp_path_factory.mktemp("report-inputs")
    return {"live": ["live"], "snapshot": [str(report_inputs.snapshot(tmp))],
            "history": [str(report_inputs.history(tmp))], "scan": [str(report_inputs.logs(tmp))],
            "fleet": [str(report_inputs.fleet(tmp))]}


#: Plots each kind must draw, at least (a history: three zones x line, heatmap and index plots).
MIN_PLOTS = {"live": 4, "snapshot": 4, "history": 9, "scan": 2, "fleet": 1}


@pytest.mark.parametrize("kind", ["live", "snapshot", "history", "scan", "fleet"])
def test_the_report_renders_offline_in_chromium(kind, inputs, browser, tmp_path: Path) -> None:
    out = tmp_path / f"{kind}.html"
    assert main(["report", "--from", *inputs[kind], "-o", str(out)]) == 0
    run = browser.open(out)
    save_shot(run, kind)
    assert run.console == [], run.console
    assert run.requests == [run.url] and run.foreign_requests == []
    drawn = [p for p in run.plots if p["width"] > 0 and p["height"] > 0 and p["shapes"] > 0]
    assert len(drawn) >= MIN_PLOTS[kind], run.plots
    assert all(p["title"] and p["desc"] for p in run.plots)   # every plot says what it shows in words
    assert png_variance(run.plot_shot) > 100   # a plot of marks and lines, not a blank box
    assert run.hidden_in_print == 0             # printed, every collapsed part unfolds

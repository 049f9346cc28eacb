"""`minfree --help` is as wide as argparse would make it ($COLUMNS, else the terminal, else 80),
though the parser finds the width itself (cli._Parser: no ``shutil`` at start)."""
from __future__ import annotations

import argparse
import contextlib
import io

import pytest

import minfree.cli
from minfree.cli import COMMANDS, main


def _help(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(argv)
    return out.getvalue()


@pytest.mark.parametrize("columns", ["50", "120", None])
@pytest.mark.parametrize("command", [*COMMANDS, None])
def test_help_is_argparses_own(monkeypatch, columns, command) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)   # stdout is not a terminal here: 80
    else:
        monkeypatch.setenv("COLUMNS", columns)
    argv = [command, "--help"] if command else ["--help"]
    ours = _help(argv)
    monkeypatch.setattr(minfree.cli, "_Parser", argparse.ArgumentParser)   # argparse's width: shutil's
    assert ours == _help(argv)
    assert ours.startswith("usage: minfree")

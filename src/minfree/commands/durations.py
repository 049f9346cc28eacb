"""``--interval 5m``, ``--retention 7d``, ``--history-window 1h``: the one argparse type for a
duration, shared by watch and doctor (light: doctor imports it on every start)."""
from __future__ import annotations

import argparse

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``30m``, ``12h``, ``7d`` or ``2w`` (argparse type).

    >>> duration("7d"), duration("90"), duration("1.5h")
    (604800.0, 90.0, 5400.0)
    >>> duration("7 days")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: not a duration: '7 days' (e.g. 90s, 30m, 12h, 7d, 2w)
    """
    number, unit = (text[:-1], text[-1]) if text[-1:] in UNITS else (text, "s")
    try:
        value = float(number) * UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 12h, 7d, 2w)") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: a duration must be positive")
    return value

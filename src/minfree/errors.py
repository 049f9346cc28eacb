"""The one error type commands raise for the user: a one-line message, exit status 2."""
from __future__ import annotations

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or an unreadable input: ``minfree: error: <message>`` and exit 2."""

"""History (SQLite, one file): written by ``minfree watch --record``, read by ``doctor --history``
and ``report``. The schema is :mod:`minfree.store.schema`, documented in ``store/README.md``."""

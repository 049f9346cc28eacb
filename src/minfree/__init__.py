"""minfree: find, explain and prevent Linux page allocation failures."""

__version__ = "0.1.0"

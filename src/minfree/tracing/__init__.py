"""Parsers of tracefs text: event format files (the kernel's own GFP table)."""

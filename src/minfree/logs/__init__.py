"""Parsers of kernel logs: line prefixes, joining, failure report headers, call traces,
memory dumps, events, and the scanner that feeds them."""

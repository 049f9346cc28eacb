from hypothesis import given, strategies as st
from minfree.proc.version import parse_osrelease, parse_version



def test_garbage():
    assert parse_version("") is None and parse_version("Linux version ") is None
    assert parse_osrelease("two words") is None


@given(st.text())
def test_never_raises(text):
    parse_version(text)
    parse_osrelease(text)


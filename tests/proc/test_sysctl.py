from hypothesis import given, strategies as st
from minfree.proc.sysctl import parse_sysctl_int, parse_sysctl_ints



def test_parsers():
    assert parse_sysctl_int("  42 \n") == 42 and parse_sysctl_int("1\t2") is None
    assert parse_sysctl_ints("4096\t87380\t6291456\n") == (4096, 87380, 6291456)


@given(st.text())
def test_never_raises(text):
    parse_sysctl_int(text)
    parse_sysctl_ints(text)


from hypothesis import given, strategies as st
from minfree.proc.netdev import parse_mtu, parse_speed



def test_parsers():
    assert parse_speed("4294967295") is None and parse_speed("400000") == 400000
    assert parse_mtu("-1") is None


@given(st.text())
def test_never_raises(text):
    parse_speed(text)
    parse_mtu(text)


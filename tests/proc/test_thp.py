from hypothesis import given, strategies as st
from minfree.proc.thp import parse_khugepaged_flag, parse_thp_choice



def test_parsers_on_garbage():
    assert parse_thp_choice("[] always") is None and parse_thp_choice("") is None
    assert parse_khugepaged_flag("[maybe] no") is None


@given(st.text())
def test_never_raises(text):
    parse_thp_choice(text)
    parse_khugepaged_flag(text)


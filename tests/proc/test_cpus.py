from hypothesis import given, strategies as st
from minfree.proc.cpus import parse_cpu_online, parse_cpuinfo, parse_id_list



def test_parsers():
    assert parse_id_list("0-1,1-2") == (0, 1, 2)
    assert parse_cpu_online("") is None and parse_cpuinfo("nothing") is None


@given(st.text())
def test_never_raises(text):
    parse_id_list(text)
    parse_cpuinfo(text)


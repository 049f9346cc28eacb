from hypothesis import given, strategies as st
from minfree.proc.psi import parse_psi



def test_some_only_and_garbage():
    psi = parse_psi("some avg10=0.10 avg60=0.00 avg300=0.00 total=5\njunk\n")
    assert psi.some.total_us == 5 and psi.full is None
    assert parse_psi("some avg10=x avg60=0 avg300=0 total=1").some is None


@given(st.text())
def test_never_raises(text):
    parse_psi(text)


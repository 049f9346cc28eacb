

def test_an_order_no_kernel_has_is_damage_not_a_report() -> None:
    """A fuzzed or corrupted order (1 << order would not fit a machine word) is no header."""
    from minfree.logs.header import find_headers

    assert find_headers("swapper/0: page allocation failure: order:" + "9" * 20 + ", mode:0x20") == []
    assert [h.order for h in find_headers("swapper/0: page allocation failure: order:63, mode:0x20")] == [63]

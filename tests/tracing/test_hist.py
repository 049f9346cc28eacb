"""tracing.hist: the ``hist`` file of a hist trigger, on verbatim samples of the kernel's
Documentation/trace/histogram.rst (section 6.2, as stored at commit 037dd1308c6d) and on tables
built for ``kmem:mm_page_alloc`` in the format kernel/trace/trace_events_hist.c prints."""
from __future__ import annotations

from minfree.tracing.hist import HistEntry, failures_by_order, parse_hist

# histogram.rst 6.2, the ``call_site.sym`` run (first and last entries of the verbatim table)
SYM = """# cat /sys/kernel/tracing/events/kmem/kmalloc/hist
# trigger info: hist:keys=call_site.sym:vals=bytes_req:sort=hitcount:size=2048 [active]

{ call_site: [ffffffff810adcb9] syslog_print_all                              } hitcount:          1  bytes_req:       1024
{ call_site: [ffffffffa00bf6fe] hidraw_send_report [hid]                      } hitcount:          1  bytes_req:          7
{ call_site: [ffffffff8125847d] ext4_htree_store_dirent                       } hitcount:      55759  bytes_req:    5074265

Totals:
    Hits: 109928
    Entries: 71
    Dropped: 0
"""
# histogram.rst 6.2, two values (bytes_req, bytes_alloc), decimal call_site keys elided as above
TWO_VALUES = """# trigger info: hist:keys=call_site.sym:vals=bytes_req,bytes_alloc:sort=bytes_alloc.descending:size=2048 [active]

{ call_site: [ffffffffa046041c] i915_gem_execbuffer2 [i915]                   } hitcount:       7403  bytes_req:    4084360  bytes_alloc:    5958016
{ call_site: [ffffffff811e2a1b] seq_buf_alloc                                 } hitcount:        541  bytes_req:    2213968  bytes_alloc:    2228224
"""


def _ours(rows: dict[int, int], dropped: int = 0, header: bool = True) -> str:
    """A table as hist_trigger_show prints minfree's trigger (``{ order: %10llu }``)."""
    lines = ["# event histogram", "#",
             "# trigger info: hist:keys=order:vals=hitcount:sort=order:size=2048 "
             "if pfn == 0xffffffffffffffff [active]", "#", ""] if header else []
    lines += [f"{{ order: {order:10d} }} hitcount: {n:10d}" for order, n in sorted(rows.items())]
    lines += ["", "Totals:", f"    Hits: {sum(rows.values())}", f"    Entries: {len(rows)}",
              f"    Dropped: {dropped}"]
    return "\n".join(lines) + "\n"


def test_documented_symbol_keys_and_totals() -> None:
    [table] = parse_hist(SYM)
    assert table.trigger == "hist:keys=call_site.sym:vals=bytes_req:sort=hitcount:size=2048 [active]"
    assert table.entries[1] == HistEntry((("call_site", "[ffffffffa00bf6fe] hidraw_send_report [hid]"),),
                                         {"hitcount": 1, "bytes_req": 7})
    assert table.entries[2].values == {"hitcount": 55759, "bytes_req": 5074265}
    assert (table.hits, table.entries_total, table.dropped, table.skipped) == (109928, 71, 0, 0)
    assert table.failed_total() == 109928


def test_documented_two_values_without_totals_sum_the_hitcounts() -> None:
    [table] = parse_hist(TWO_VALUES)
    assert table.entries[0].values == {"hitcount": 7403, "bytes_req": 4084360, "bytes_alloc": 5958016}
    assert table.hits is None and table.failed_total() == 7403 + 541
    assert failures_by_order(table) == {}   # keyed on call_site, not order


def test_page_alloc_orders_and_dropped_events_count() -> None:
    [table] = parse_hist(_ours({0: 7, 3: 120, 9: 1}, dropped=2))
    assert failures_by_order(table) == {0: 7, 3: 120, 9: 1}
    assert table.failed_total() == 130   # Hits 128 + Dropped 2: a full table still saw them


def test_each_trigger_is_a_table_of_its_own() -> None:
    text = SYM + "\n\n" + _ours({2: 4})
    first, second = parse_hist(text)
    assert first.trigger.startswith("hist:keys=call_site.sym") and second.trigger.startswith("hist:keys=order")
    assert failures_by_order(second) == {2: 4} and second.hits == 4


def test_compound_keys_split_on_their_names() -> None:
    [table] = parse_hist(_ours({}, header=True).replace(
        "\nTotals", "{ order:          1, migratetype:          0 } hitcount:          3\n\nTotals"))
    assert table.entries[0].keys == (("order", "1"), ("migratetype", "0"))
    assert failures_by_order(table) == {}   # not keyed on the order alone


def test_malformed_lines_are_skipped_and_counted() -> None:
    text = _ours({1: 2}).replace("Totals:", "{ order:          4 } hitcount: lots\n{ order 5 } hitcount: 1\n"
                                            "garbage\nTotals:")
    [table] = parse_hist(text)
    assert failures_by_order(table) == {1: 2} and table.skipped == 3
    assert parse_hist("") == [] and parse_hist("#\n\n") == []

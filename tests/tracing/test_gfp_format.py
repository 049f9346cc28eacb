"""tracing.gfp_format: the kernel's own GFP table, parsed and compared with ours."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, strategies as st

from minfree.model.gfp import GfpConfig, layout_for
from minfree.model.kversion import parse_release
from minfree.sources.kconfig import read_running_config
from minfree.sources.root import SystemRoot
from minfree.sources.tracefs import read_event_format
from minfree.tracing.gfp_format import parse_format

# Print fmt of a 3.x kernel's mm_page_alloc (gfpflags.h era: hex literals with
# suffixes, short names, "GFP_NOTRACK" evaluating to 0 without CONFIG_KMEMCHECK).
OLD_FORMAT = (
    'print fmt: "page=%p pfn=%lu order=%d migratetype=%d gfp_flags=%s", REC->page, '
    "page_to_pfn(REC->page), REC->order, REC->migratetype, (REC->gfp_flags) ? "
    '__print_flags(REC->gfp_flags, "|", {(unsigned long)((( gfp_t)0x20u)), "GFP_ATOMIC"}, '
    '{(unsigned long)((( gfp_t)0x10u)), "GFP_NOIO"}, {(unsigned long)(( gfp_t)0x20u), "GFP_HIGH"}, '
    '{(unsigned long)(( gfp_t)0), "GFP_NOTRACK"}, {(unsigned long)(( gfp_t)0x400000u), "GFP_NO_KSWAPD"}) '
    ': "GFP_NOWAIT"'
)


def test_parse_old_style_format() -> None:
    assert parse_format(OLD_FORMAT) == (
        ("GFP_ATOMIC", 0x20), ("GFP_NOIO", 0x10), ("GFP_HIGH", 0x20), ("GFP_NOTRACK", 0), ("GFP_NO_KSWAPD", 0x400000),
    )


def test_unresolved_enum_entries_are_skipped() -> None:
    """6.10-6.12 before the TRACE_DEFINE_ENUM fix printed enum names; those entries are unreadable."""
    text = ('__print_flags(REC->gfp_flags, "|", {( unsigned long)(( gfp_t)((((1UL))) << (___GFP_IO_BIT))), '
            '"__GFP_IO"}, {( unsigned long)(( gfp_t)((((1UL))) << (7))), "__GFP_FS"}, { 0, ((void *)0) } )')
    assert parse_format(text) == (("__GFP_FS", 0x80),)


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("~(( gfp_t)0x1u) & 0xff", 0xFE),
        ("(1UL << 3) | 0x10 ^ 0x1", 0x19),
        ("((8 >> 1) + 2 - 1)", 5),
        ("-1UL", (1 << 64) - 1),
        ("(__force unsigned long)(0x400u|0x800u)", 0xC00),
    ],
)
def test_evaluator_subset(expr: str, value: int) -> None:
    text = f'__print_flags(REC->gfp_flags, "|", {{{expr}, "X"}})'
    assert parse_format(text) == (("X", value),)


@pytest.mark.parametrize("expr", ["1 << 99", "foo", "(1", "1 1", "1 ? 2 : 3", "((((" * 400 + "1" + "))))" * 400])
def test_evaluator_rejects_outside_subset(expr: str) -> None:
    assert parse_format(f'__print_flags(REC->gfp_flags, "|", {{{expr}, "X"}})') == ()


@given(st.text(max_size=400))
def test_parse_format_never_raises(text: str) -> None:
    for name, value in parse_format('__print_flags(REC->gfp_flags, "|", ' + text):
        assert isinstance(name, str) and 0 <= value < 1 << 64


@pytest.mark.live
def test_builtin_table_equals_running_kernel() -> None:
    """Truth bar: our table for `uname -r` is the kernel's own, pair for pair and in order.

    Config-dependent bits: the default table assumes a distribution config
    (no KASAN_HW_TAGS, no LOCKDEP, SLAB_OBJ_EXT); when /proc/config.gz exists the
    table built from the running kernel's real config must match as well.
    """
    text = read_event_format(SystemRoot("/"))
    if text is None:
        pytest.skip("tracefs mm_page_alloc format not readable")
    running = parse_format(text)
    kernel = parse_release(os.uname().release)
    assert kernel is not None
    assert layout_for(kernel).flags == running
    config = read_running_config(SystemRoot("/"))
    if config is not None:
        assert layout_for(kernel, GfpConfig.from_kconfig(config)).flags == running

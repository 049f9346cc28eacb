"""gfp: era tables, %pGg names, corpus truth, reference spot checks, fuzzing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from minfree.model.gfp import (
    DISTRO_CONFIG,
    TRACEFS_LAYOUT,
    GfpConfig,
    decode,
    explain,
    format_names,
    layout_for,
    layout_from_table,
)
from minfree.model.kversion import KernelVersion, parse_release

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"

# Kernel of each corpus file, as given in /work/shared/corpus/README.md.
CORPUS_KERNELS = {
    "001-lkml-centos7-3.10-nvme-xfs-kworker-order1.log": "3.10.0-327.el7.x86_64",
    "002-lkml-2.6.18-swapper-order1-tg3-tcp_collapse.log": "2.6.18.2",
    "004-lkml-2.6.9-e1000-swapper-order0-symbolic-trace.log": "2.6.9",
    "006-ceph-devel-5.4.26-kworker-virtio_net-gfp_atomic.log": "5.4.26",
    "009-linux-mm-4.12-ppc64-gcc-order4-notrack-slub.log": "4.12.0-rc2",
    "010-linux-mm-5.2-next-printk-caller-id-interleaved-kworker.log": "5.2.0-next-20190711",
    "014-gh-earlyoom-220-5.9-gfp_nowait-journal-prefix.log": "5.9.0-0.rc4.5.fc34.x86_64+debug",
    "015-gh-sof-5000-6.9-perf-order4-task-markers.log": "6.9.0-rc7",
    "018-gh-baytrail-12-4.12-android-x86-renderthread-wrapped-header.log": "4.12.0-rc3-android-x86",
    "022-gh-openzfs-spl-217-3.8-splat-no-timestamps.log": "3.8.0-1-mainline",
    "024-gh-openzfs-zfs-465-3.1-z_rd_int-colon-format.log": "3.1.1-2.fc16.x86_64",
    "025-gh-dcache-3787-4.9-debian-interleaved-pr_cont.log": "4.9.0-5-amd64 #1 Debian 4.9.65-3+deb9u2",
    "028-gh-coreos-489-4.3-mode0x120-no-trace.log": "4.3.0",
    "030-gh-raspberrypi-3288-4.19-arm-swapper-cpuset-line.log": "4.19.75-v7l+",
    "034-web-aerospike-kb-cld-asd-2.6.32-bonding-trace.log": "2.6.32",
    "036-linux-mm-4.4-sles-vmalloc-boot-swapper0-decoded-flags.log": "4.4.49-hotplug19-default",
}
MODE = re.compile(r"(0x[0-9a-fA-F]+)(?:\(([^)]*)\))?")


def _corpus_events() -> list[tuple[str, str, int, str | None, str]]:
    truth = json.loads((CORPUS / "truth.json").read_text())
    events = []
    for name, entry in truth.items():
        for event in entry["events"]:
            match = MODE.match(event["mode"])
            assert match, event
            flags = event["flags"].split(" (")[0]
            events.append((name, CORPUS_KERNELS[name], int(match.group(1), 16), match.group(2), flags))
    return events


EVENTS = _corpus_events()


def test_every_corpus_file_with_events_has_a_kernel() -> None:
    assert {e[0] for e in EVENTS} == set(CORPUS_KERNELS)
    truth = json.loads((CORPUS / "truth.json").read_text())
    assert len(EVENTS) == sum(entry["event_count"] for entry in truth.values()) > 0


@pytest.mark.parametrize(("name", "release", "mask", "printed", "flags"), EVENTS)
def test_corpus_truth_from_tables(name: str, release: str, mask: int, printed: str | None, flags: str) -> None:
    """Our table for the file's kernel alone reproduces the truth (no printed names used)."""
    kernel = parse_release(release)
    assert kernel is not None
    assert format_names(mask, layout_for(kernel)) == flags
    assert "|".join(decode(mask, kernel).names) == flags


@pytest.mark.parametrize(("name", "release", "mask", "printed", "flags"), EVENTS)
def test_corpus_truth_with_printed_names(name: str, release: str, mask: int, printed: str | None, flags: str) -> None:
    kernel = parse_release(release)
    dec = decode(mask, kernel, printed)
    assert "|".join(dec.names) == flags
    assert dec.exact


@pytest.mark.parametrize(("name", "release", "mask", "printed", "flags"), EVENTS)
def test_corpus_guess_without_version(name: str, release: str, mask: int, printed: str | None, flags: str) -> None:
    """Even without the kernel version every corpus mode decodes to its truth."""
    dec = decode(mask, None, printed)
    assert "|".join(dec.names) == flags
    if printed is None:
        assert not dec.exact


@pytest.mark.parametrize(
    ("release", "mask", "names", "request_class"),
    [
        ("4.4.178", 0x2080020, "GFP_ATOMIC", "GFP_ATOMIC"),
        ("4.19.108", 0x480020, "GFP_ATOMIC", "GFP_ATOMIC"),
        ("5.4.286", 0xA20, "GFP_ATOMIC", "GFP_ATOMIC"),
        ("6.6.87", 0x820, "GFP_ATOMIC", "GFP_ATOMIC"),
        ("3.10.108", 0x204020, "GFP_ATOMIC|__GFP_COMP|__GFP_NOTRACK", "GFP_ATOMIC"),
        ("3.8.0", 0x10D0, "GFP_KERNEL|__GFP_NORETRY", "blocking"),
        ("4.3.0", 0x120, "GFP_ATOMIC|__GFP_COLD", "GFP_ATOMIC"),
        ("2.6.32", 0x0, "GFP_NOWAIT", "GFP_NOWAIT"),
        ("4.14.67", 0x15080C0, "GFP_KERNEL_ACCOUNT|__GFP_ZERO", "blocking"),  # reference stall line
        ("4.18.0-305.el8.x86_64", 0x484020, "GFP_ATOMIC|__GFP_COMP", "GFP_ATOMIC"),  # RHEL8, log 026
        ("5.9.0", 0x800, "GFP_NOWAIT", "GFP_NOWAIT"),
        ("6.18.44", 0x2800, "GFP_NOWAIT", "GFP_NOWAIT"),  # 6.8+: GFP_NOWAIT includes __GFP_NOWARN
        ("6.18.44", 0x800, "__GFP_KSWAPD_RECLAIM", "GFP_NOWAIT"),
        ("6.6.87", 0x0, "", "GFP_NOWAIT"),  # %pGg of 0 prints nothing: "mode:0x0()"
    ],
)
def test_reference_spot_checks(release: str, mask: int, names: str, request_class: str) -> None:
    dec = decode(mask, parse_release(release))
    assert "|".join(dec.names) == names
    assert dec.request_class == request_class


@pytest.mark.parametrize(
    ("release", "composite", "value"),
    [  # composite masks of /work/shared/reference/gfp-flags-by-version.md
        ("2.6.32", "GFP_KERNEL", 0xD0), ("2.6.32", "GFP_HIGHUSER_MOVABLE", 0x200DA),
        ("2.6.32-642.6.2.el6.x86_64", "GFP_TRANSHUGE", 0x4352DA),
        ("3.10.0-1160.el7.x86_64", "GFP_KERNEL_ACCOUNT", 0x1000D0),
        ("4.4.178", "GFP_KERNEL", 0x24000C0), ("4.4.178", "GFP_TRANSHUGE", 0x4352CA),
        ("4.6.2", "GFP_TRANSHUGE", 0x352CA), ("4.9.154", "GFP_TRANSHUGE_LIGHT", 0x342CA),
        ("4.9.154", "GFP_TEMPORARY", 0x24000D0), ("4.14.67", "GFP_ATOMIC", 0x1080020),
        ("4.14.67", "GFP_USER", 0x14200C0), ("4.19.108", "GFP_TRANSHUGE", 0x2342CA),
        ("5.0.1", "GFP_KERNEL_ACCOUNT", 0x7000C0), ("5.4.286", "GFP_TRANSHUGE", 0x1C24CA),
        ("5.15.135", "GFP_HIGHUSER_MOVABLE", 0x1100CCA), ("6.1.119", "GFP_HIGHUSER_MOVABLE", 0x100CCA),
        ("6.6.87", "GFP_TRANSHUGE_LIGHT", 0x1C20CA), ("6.6.87", "GFP_NOWAIT", 0x800),
    ],
)
def test_reference_composites(release: str, composite: str, value: int) -> None:
    assert dict(layout_for(parse_release(release)).flags)[composite] == value


def test_kasan_and_lockdep_bits_follow_config() -> None:
    v61 = parse_release("6.1.119")
    kasan = GfpConfig(kasan_hw_tags=True, lockdep=True)
    assert dict(layout_for(v61, kasan).flags)["GFP_HIGHUSER_MOVABLE"] == 0x6100CCA
    assert dict(layout_for(v61, kasan).bits)["__GFP_NOLOCKDEP"] == 0x8000000
    assert dict(layout_for(parse_release("6.6.9"), kasan).bits)["__GFP_NOLOCKDEP"] == 0x4000000
    # 6.10+: enum bits, each optional member shifts the next
    v618 = parse_release("6.18.1")
    assert dict(layout_for(v618).bits)["__GFP_NO_OBJ_EXT"] == 1 << 24
    assert dict(layout_for(v618, GfpConfig(lockdep=True)).bits)["__GFP_NO_OBJ_EXT"] == 1 << 25
    assert dict(layout_for(v618, kasan).bits)["__GFP_NO_OBJ_EXT"] == 1 << 27
    assert "__GFP_NO_OBJ_EXT" not in dict(layout_for(v618, GfpConfig(slab_obj_ext=False)).bits)
    # before 6.15 mmflags.h has no name for __GFP_NO_OBJ_EXT: leftover hex
    assert format_names(0xCC0 | 1 << 24, layout_for(parse_release("6.12.0"))) == "GFP_KERNEL|0x1000000"
    assert format_names(0xCC0 | 1 << 24, layout_for(v618)) == "GFP_KERNEL|__GFP_NO_OBJ_EXT"


def test_layout_eras() -> None:
    names = {r: layout_for(parse_release(r)).name for r in (
        "2.6.9", "3.10.0-1160.el7.x86_64", "4.4.0", "4.9.0", "4.12.0", "4.19.0", "5.0.1", "5.1.0",
        "6.2.0", "6.3.0", "6.8.0", "6.12.0", "6.15.0", "7.1.0")}
    assert names == {
        "2.6.9": "2.6.32-4.3", "3.10.0-1160.el7.x86_64": "2.6.32-4.3+rhel7", "4.4.0": "4.4",
        "4.9.0": "4.5-4.9", "4.12.0": "4.10-4.14", "4.19.0": "4.15-5.0", "5.0.1": "4.15-5.0",
        "5.1.0": "5.1-6.2", "6.2.0": "5.1-6.2", "6.3.0": "6.3-6.7", "6.8.0": "6.8-6.9",
        "6.12.0": "6.10-6.14", "6.15.0": "6.15+", "7.1.0": "6.15+",
    }
    assert layout_for(None) == layout_for(parse_release("6.18.0"))
    assert layout_for(None, DISTRO_CONFIG).name == "6.15+"


def test_decoding_fields() -> None:
    dec = decode(0x2080020, parse_release("4.9.0-5-amd64"))
    assert dec.bits == {"__GFP_HIGH", "__GFP_ATOMIC", "__GFP_KSWAPD_RECLAIM"}
    assert (dec.can_sleep, dec.high, dec.harder, dec.zone) == (False, True, True, "Normal")
    dec = decode(0x16040C0, parse_release("4.12.0-rc2"))
    assert dec.can_sleep and dec.comp and dec.request_class == "blocking"
    assert decode(0x24000C1, parse_release("4.4.0")).zone == "DMA"
    assert decode(0x100CCA, parse_release("5.4.0")).zone == "Movable"
    assert decode(0x100CCE, parse_release("5.4.0")).zone == "invalid"
    assert decode(0x20A20, parse_release("5.4.0")).request_class == "memalloc"
    assert decode(0x2A20, parse_release("5.4.0")).nowarn
    # legacy !wait requests all try harder; 6.3+ only with __GFP_HIGH
    assert decode(0x0, parse_release("2.6.32")).harder
    assert not decode(0x800, parse_release("6.6.0")).harder
    assert decode(0x820, parse_release("6.6.0")).harder


def test_printed_names_win_and_unknown_printed_text() -> None:
    kernel = parse_release("4.4.49-hotplug19-default")
    assert decode(0x2080020, kernel, "GFP_ATOMIC").names == ("GFP_ATOMIC",)
    dec = decode(0x20, None, "(SOME_VENDOR_NAME)")
    assert dec.layout == "printed" and dec.names == ("SOME_VENDOR_NAME",) and not dec.exact
    assert decode(0, None, "").names == ()


def test_explain_words() -> None:
    text = explain(decode(0x20, parse_release("2.6.32")), 1)
    assert text.startswith("order:1, mode:0x20 on 2.6.32-4.3 kernels is GFP_ATOMIC: a request for 2 contiguous pages (8 KiB)")
    assert "may not sleep" in text and "order >= 1" in text
    text = explain(decode(0xDC0, parse_release("6.9.0-rc7")), 4)
    assert "16 contiguous pages (64 KiB)" in text and "may sleep" in text and "compact" in text
    text = explain(decode(0x2800, None), 0)
    assert "unknown kernel" in text and "no share of the min reserve" in text and "__GFP_NOWARN" in text
    assert "1 MiB" in explain(decode(0xCC0), 8)


versions = st.builds(
    KernelVersion,
    st.integers(min_value=-5, max_value=1000),
    st.integers(min_value=-5, max_value=1000),
    st.integers(min_value=-5, max_value=10**6),
    st.text(max_size=20),
    st.sampled_from([None, "rhel6", "rhel7", "rhel8", "suse", "android"]),
)


@given(st.integers(), st.one_of(st.none(), versions), st.one_of(st.none(), st.text(max_size=40)))
def test_decode_never_raises(mask: int, kernel: KernelVersion | None, printed: str | None) -> None:
    dec = decode(mask, kernel, printed)
    assert 0 <= dec.mask < 1 << 64
    assert dec.zone in {"Normal", "DMA", "DMA32", "HighMem", "Movable", "invalid"}
    assert isinstance(explain(dec, 3), str)


@given(st.integers(min_value=0, max_value=(1 << 32) - 1), versions)
def test_format_names_roundtrip(mask: int, kernel: KernelVersion) -> None:
    """Printed names account for every bit: named values OR'ed with the hex rest give the mask."""
    layout = layout_for(kernel)
    values = dict(layout.flags)
    total = 0
    for name in format_names(mask, layout).split("|"):
        if name:
            total |= int(name, 16) if name.startswith("0x") else values.get(name, 0)
    assert total == mask


# --- a kernel's own table (tracefs) --------------------------------------------------------

OWN_6_6 = tuple((name, value) for name, value in layout_for(KernelVersion(6, 6, 87)).flags) + (("__GFP_NOTRACK", 0),)


def test_layout_from_table_keeps_print_order_and_single_bits() -> None:
    layout = layout_from_table(OWN_6_6)
    assert layout is not None and layout.name == TRACEFS_LAYOUT
    assert layout.flags == layout_for(KernelVersion(6, 6, 87)).flags            # the zero entry dropped
    assert all(name.startswith("__GFP_") and value & (value - 1) == 0 for name, value in layout.bits)
    assert "__GFP_RECLAIM" not in dict(layout.bits) and dict(layout.bits)["__GFP_HIGH"] == 0x20


def test_own_table_decodes_as_its_era_and_wins_over_the_kernel_argument() -> None:
    layout = layout_from_table(OWN_6_6)
    for mask in (0x820, 0xcc0, 0xa20, 0x2800, 0x140cca, 0x1100cca):
        own, era = decode(mask, KernelVersion(3, 10, 0), layout=layout), decode(mask, KernelVersion(6, 6, 87))
        assert (own.names, own.bits, own.request_class, own.harder, own.can_sleep) == \
               (era.names, era.bits, era.request_class, era.harder, era.can_sleep), hex(mask)
        assert own.layout == TRACEFS_LAYOUT and own.exact


def test_own_table_decoding_is_explained_as_this_kernels() -> None:
    decoding = decode(0x820, layout=layout_from_table(OWN_6_6))
    assert "on this kernel (its own table, from tracefs) is GFP_ATOMIC" in explain(decoding, 0)


def test_tables_without_reclaim_bit_names_are_left_to_the_eras() -> None:
    """3.x tracepoints printed short names (GFP_HIGH, GFP_WAIT): nothing says which bit sleeps."""
    assert layout_from_table((("GFP_ATOMIC", 0x20), ("GFP_WAIT", 0x10), ("GFP_HIGH", 0x20))) is None
    assert layout_from_table(()) is None

"""zoneinfo parser: real capture (6.18) + era fixtures + fuzz."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from minfree.proc.zoneinfo import model_zones, parse_zoneinfo

FIXTURES = Path(__file__).parent.parent / "fixtures" / "proc"


def test_live_capture_6_18():
    zones = parse_zoneinfo((FIXTURES / "6.18-live" / "zoneinfo").read_text())
    assert [z.zone for z in zones] == ["DMA", "DMA32", "Normal", "Movable", "Device"]
    dma = zones[0]
    assert (dma.free, dma.boost, dma.managed, dma.spanned, dma.present, dma.cma) == (3840, 0, 3840, 4095, 3998, 0)
    assert dma.promo is not None and len(dma.protection) == 5
    assert "nr_inactive_anon" in dma.node_stats and dma.stats["nr_free_pages"] == dma.free
    assert dma.stat_threshold == 4 and dma.start_pfn == 1
    assert zones[3].managed == 0 and zones[3].min == 32
    assert [z.index for z in model_zones(zones)] == [0, 1, 2, 3, 4]


def test_eras_fields():
    old = parse_zoneinfo((FIXTURES / "2.6.32-rhel6" / "zoneinfo").read_text())
    assert [z.zone for z in old] == ["DMA", "DMA32", "Normal"]
    assert all(z.managed is None and z.boost is None and z.promo is None and z.scanned == 0 for z in old)
    assert old[0].protection == (0, 2910, 8030, 8030) and old[0].stats["nr_free_pages"] == old[0].free
    assert old[0].pcp_count == 8
    assert [z.index for z in model_zones(old)] == [0, 1, 2]
    z310 = parse_zoneinfo((FIXTURES / "3.10" / "zoneinfo").read_text())
    assert {(z.node, z.zone) for z in z310} == {(0, "DMA"), (0, "DMA32"), (0, "Normal"), (1, "Normal")}
    assert all(z.managed for z in z310)
    z510 = parse_zoneinfo((FIXTURES / "5.10" / "zoneinfo").read_text())
    assert z510[0].boost is None and z510[0].node_stats and z510[-1].zone == "Device" and z510[-1].stats == {}
    z61 = parse_zoneinfo((FIXTURES / "6.1" / "zoneinfo").read_text())
    assert z61[2].boost == 512 and z61[2].promo is None and z61[2].cma == 0
    z612 = parse_zoneinfo((FIXTURES / "6.12.0" / "zoneinfo").read_text())
    assert all(z.promo is not None for z in z612)


def test_truncated_zone_is_dropped():
    text = "Node 0, zone   Normal\n  pages free     12\n        min      3\n"
    assert parse_zoneinfo(text) == []


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_on_garbage(text):
    parse_zoneinfo(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([
    "Node 0, zone   Normal", "Node 1, zone DMA", "  pages free     12", "  pages free x", "        min      3",
    "        low      4", "        high     5", "        protection: (0, 1, x)", "        protection: (0, 1, 2)",
    "  per-node stats", "      nr_free_pages 9", "  pagesets", "              count:    7", "garbage 1 2",
    "        boost    -1", "  vm stats threshold: 4",
]), max_size=40))
def test_never_raises_on_shuffled_lines(lines):
    for zone in parse_zoneinfo("\n".join(lines)):
        assert zone.free >= 0

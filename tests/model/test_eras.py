"""Era fixtures (tests/fixtures/proc/<era>/zoneinfo + params.json): parse, predict, compare.

The fixtures were written by an independent generator from the §2 formulas; the hand
arithmetic below checks the generator on the values that differ between eras.
"""

import json
import math
from pathlib import Path

import pytest

from minfree.model.kversion import KernelVersion
from minfree.model import protection, watermarks
from minfree.model.min_free import predict_min_free_kbytes
from minfree.model.rules import KernelRules
from minfree.proc.zoneinfo import ZoneInfo, model_zones, parse_zoneinfo

FIXTURES = Path(__file__).parent.parent / "fixtures" / "proc"
ERAS = ["2.6.32-rhel6", "3.10", "4.6", "5.10", "6.1", "6.6", "6.12.0", "6.18-live"]


def load(era: str) -> tuple[list[ZoneInfo], dict, KernelRules]:
    folder = FIXTURES / era
    zones = parse_zoneinfo((folder / "zoneinfo").read_text())
    if (folder / "params.json").exists():
        params = json.loads((folder / "params.json").read_text())
        major, minor, patch, release, vendor = params["version"]
        version = KernelVersion(major, minor, patch, release, vendor)
    else:  # captured on this machine
        params = {
            "min_free_kbytes": int((folder / "min_free_kbytes").read_text()),
            "watermark_scale_factor": int((folder / "watermark_scale_factor").read_text()),
            "lowmem_reserve_ratio": [int(x) for x in (folder / "lowmem_reserve_ratio").read_text().split()],
            "thp_enabled": True,
            "pageblock_order": 9,
            "nr_zones": len(zones[0].protection),
            "default_min_free_kbytes": 67584,
        }
        version = KernelVersion(6, 18, 44)
    return zones, params, KernelRules.for_version(version)


@pytest.mark.parametrize("era", ERAS)
def test_watermarks_and_protection_exact(era):
    zones, params, rules = load(era)
    sizes = model_zones(zones)
    boosts = {(z.node, z.zone): z.boost or 0 for z in zones}
    predicted = watermarks.predict_watermarks(
        sizes, params["min_free_kbytes"], rules,
        watermark_scale_factor=params["watermark_scale_factor"], boosts=boosts,
    )
    prot = protection.predict_protection(sizes, params["lowmem_reserve_ratio"], rules, nr_zones=params["nr_zones"])
    for z in zones:
        key = (z.node, z.zone)
        shown = z.watermarks()
        if not rules.zoneinfo_prints_promo:
            assert shown.promo is None
        cmp = watermarks.compare(predicted[key], shown)
        assert cmp.exact, cmp.explain(f"{era} node {z.node} {z.zone}")
        pcmp = protection.compare(prot[key], z.protection)
        assert pcmp.exact, pcmp.explain(f"{era} node {z.node} {z.zone}")


@pytest.mark.parametrize("era", ERAS)
def test_default_min_free_kbytes(era):
    zones, params, rules = load(era)
    result = predict_min_free_kbytes(
        model_zones(zones), rules, thp_enabled=params["thp_enabled"],
        pageblock_nr_pages=1 << params["pageblock_order"],
        watermark_scale_factor=params["watermark_scale_factor"],
    )
    assert result.kbytes == params["default_min_free_kbytes"], result.explanation


def by_key(zones):
    return {(z.node, z.zone): z for z in zones}


def test_rhel6_present_based_quarter_half_gaps():
    zones, _, _ = load("2.6.32-rhel6")
    z = by_key(zones)
    lowmem = 3924 + 745000 + 1310720  # present_pages, not managed
    share = 16896 * 1310720 // lowmem
    assert (z[(0, "Normal")].min, z[(0, "Normal")].low, z[(0, "Normal")].high) == (
        share, share + (share >> 2), share + (share >> 1)) == (10752, 13440, 16128)
    # protection from present_pages (2.6.32), ratios 256/256/32
    assert z[(0, "DMA")].protection == (0, 745000 // 256, (745000 + 1310720) // 256, (745000 + 1310720) // 256)
    # THP (RHEL6 backport) counts all populated zones: 3 * 11 * 512 pages = 67584 kB
    assert 3 * 11 * 512 * 4 == 67584


def test_multi_node_thp_counts_all_zones_before_5_0():
    zones, params, _ = load("4.6")
    assert params["default_min_free_kbytes"] == 6 * 11 * 512 * 4 == 135168  # 4 nodes, 6 zones
    z = by_key(zones)
    lowmem = 3976 + 750000 + 3000000 + 3 * 4000000
    share = (135168 >> 2) * 4000000 // lowmem
    delta = max(share >> 2, 4000000 * 10 // 10000)
    assert (z[(2, "Normal")].min, z[(2, "Normal")].low, z[(2, "Normal")].high) == (share, share + delta, share + 2 * delta)
    zones310, params310, _ = load("3.10")
    assert params310["default_min_free_kbytes"] == 4 * 11 * 512 * 4 == 90112  # 2 nodes, 4 zones
    assert len({z.node for z in zones310}) == 2


def test_thp_off_uses_sqrt_rule_with_262144_cap():
    _, params, _ = load("5.10")
    assert params["default_min_free_kbytes"] == math.isqrt((3976 + 750000 + 2500000) * 4 * 16) == 14431


def test_movable_zone_6_1_proportional_vs_6_6_clamped():
    z61, z66 = by_key(load("6.1")[0]), by_key(load("6.6")[0])
    lowmem_61 = 3976 + 750000 + 2500000 + 1000000  # Movable counted (<=6.5)
    share_61 = 16896 * 1000000 // lowmem_61
    assert z61[(0, "Movable")].min == share_61 == 3971
    lowmem_66 = 3976 + 750000 + 2500000  # Movable excluded (6.6+)
    share_66 = 16896 * 1000000 // lowmem_66
    delta_66 = max(share_66 >> 2, 1000000 * 10 // 10000)
    mov = z66[(0, "Movable")]
    assert (mov.min, mov.low, mov.high) == (128, 128 + delta_66, 128 + 2 * delta_66)  # clamp(976, 32, 128)
    # 6.1 prints boost; the Normal zone is boosted by one pageblock: every mark is +512
    n61 = z61[(0, "Normal")]
    share_n = 16896 * 2500000 // lowmem_61
    assert n61.boost == 512 and n61.min == share_n + 512 and n61.promo is None


def test_empty_zone_protection_rule_6_12_0_vs_fixed():
    zones, params, _ = load("6.12.0")
    dma = by_key(zones)[(0, "DMA")]
    assert dma.protection == (0, 772917 // 256, (772917 + 819200) // 256, 0, 0)
    fixed = KernelRules.for_version(KernelVersion(6, 12, 19))
    prot = protection.predict_protection(model_zones(zones), params["lowmem_reserve_ratio"], fixed, nr_zones=5)
    assert prot[(0, "DMA")] == (0, 3019, 6219, 6219, 6219)

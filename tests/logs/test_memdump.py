"""Tests for minfree.logs.memdump: the Mem-Info dump after a page allocation failure."""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minfree.logs.memdump import MemDump, MemDumpBuilder, ZoneDump, dump_line_kind

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "logs"
# "[  659.540067][ T3124] " dmesg stamp with optional printk caller id; only the one space
# after it belongs to the prefix (summary continuation lines keep their leading space).
STAMP = re.compile(r"^\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])? ?")


@functools.cache
def corpus_lines(prefix: str) -> tuple[str, ...]:
    (path,) = CORPUS.glob(f"{prefix}-*.log")
    return tuple(STAMP.sub("", raw, count=1) for raw in path.read_text(encoding="utf-8").splitlines())


def feed_all(lines: Sequence[str]) -> tuple[MemDump, list[int]]:
    """Feed every line; return the dump and the 1-based numbers of the consumed lines."""
    builder = MemDumpBuilder()
    consumed = [number for number, line in enumerate(lines, 1) if builder.feed(line)]
    return builder.result(), consumed


def zone(dump: MemDump, node: int | None, name: str) -> ZoneDump:
    (found,) = [z for z in dump.zones if z.node == node and z.zone == name]
    return found


# --- corpus 001: CentOS 7 3.10.0-327, mail-wrapped, dump starts mid-block -------------------


def test_001_rhel7_wrapped_dump() -> None:
    dump, consumed = feed_all(corpus_lines("001"))
    # lines 1-52 are the tail of a Mem-Info dump; line 53 is "SLUB: Unable to allocate ..."
    assert consumed == list(range(1, 53))
    assert [(z.node, z.zone) for z in dump.zones] == [(0, "DMA"), (0, "DMA32"), (0, "Normal")]
    # "active_anon:9106553 inactive_anon:594546 isolated_anon:0" ... " free:194503 slab_reclaimable:581050 ..."
    assert dump.summary["active_anon"] == 9106553
    assert dump.summary["free"] == 194503
    assert dump.summary["free_cma"] == 0  # " free_cma:0" on its own line (3.10)
    normal = zone(dump, 0, "Normal")
    # "Node 0 Normal free:258680kB min:66844kB low:83552kB" / "high:100264kB active_anon:36101708kB ..."
    assert (normal.free_kb, normal.min_kb, normal.low_kb, normal.high_kb) == (258680, 66844, 83552, 100264)
    # "isolated(anon):0kB isolated(file):0kB present:132120576kB" / "managed:130018612kB mlocked:0kB ..."
    assert (normal.present_kb, normal.managed_kb) == (132120576, 130018612)
    assert normal.fields["slab_unreclaimable"] == 410844  # "slab_unreclaimable:410844kB kernel_stack:34640kB ..."
    assert normal.fields["isolated(anon)"] == 0
    assert "pages_scanned" not in normal.fields  # pages, not kB
    assert normal.lowmem_reserve == [0, 0, 0, 0]  # "lowmem_reserve[]: 0 0 0 0"
    # "Node 0 Normal: 53981*4kB (UEM) 4002*8kB (UEM) 363*16kB" / "(UEM) 84*32kB (UEMR) 13*64kB (MR) 7*128kB (R) ..."
    assert normal.buddy[:5] == [(53981, 4, "UEM"), (4002, 8, "UEM"), (363, 16, "UEM"), (84, 32, "UEMR"), (13, 64, "MR")]
    assert normal.buddy[-1] == (0, 4096, "")  # "0*1024kB 0*2048kB 0*4096kB = 259188kB"
    assert normal.buddy_total_kb == 259188
    dma32 = zone(dump, 0, "DMA32")
    assert dma32.lowmem_reserve == [0, 0, 126971, 126971]  # "lowmem_reserve[]: 0 0 126971 126971"
    # "181*256kB (EMR) 110*512kB (UEM) 65*1024kB (UM) 2*2048kB (M) 2*4096kB" / "(M) = 508636kB"
    assert dma32.buddy[-1] == (2, 4096, "M")
    assert dma32.buddy_total_kb == 508636
    assert dump.page_kb == 4 and dump.complete and dump.skipped == 0


# --- corpus 002: 2.6.18 i386 HIGHMEM ---------------------------------------------------------


def test_002_linux_2_6_18_dump() -> None:
    lines = corpus_lines("002")
    dump, consumed = feed_all(lines)
    assert lines[consumed[0] - 1] == "Mem-info:" and lines[consumed[-1] - 1] == "612 pages pagetables"
    assert consumed == list(range(consumed[0], consumed[-1] + 1))
    assert dump_line_kind("DMA32 per-cpu: empty") == "percpu"
    assert dump_line_kind("cpu 3 cold: high 62, batch 15 used:11") == "percpu"
    assert dump_line_kind("Free pages:     1258784kB (1251916kB HighMem)") == "summary"
    assert dump_line_kind("786426 pages of RAM") == "trailer"
    assert dump_line_kind("Swap cache: add 13, delete 13, find 1/2, race 0+0") == "trailer"
    # "Active:258255 inactive:107913 dirty:2421 writeback:0 unstable:0 free:314696 slab:94492 mapped:2747 pagetables:612"
    assert dump.summary == {
        "active": 258255, "inactive": 107913, "dirty": 2421, "writeback": 0, "unstable": 0,
        "free": 314696, "slab": 94492, "mapped": 2747, "pagetables": 612,
    }
    assert [(z.node, z.zone) for z in dump.zones] == [(None, "DMA"), (None, "DMA32"), (None, "Normal"), (None, "HighMem")]
    # "Normal free:3316kB min:3756kB low:4692kB high:5632kB active:187336kB inactive:308292kB present:901120kB ..."
    normal = zone(dump, None, "Normal")
    assert (normal.free_kb, normal.min_kb, normal.low_kb, normal.high_kb, normal.present_kb) == (3316, 3756, 4692, 5632, 901120)
    assert normal.managed_kb is None and normal.boost_kb is None
    assert normal.fields == {"active": 187336, "inactive": 308292}
    assert normal.lowmem_reserve == [0, 0, 0, 17407]  # "lowmem_reserve[]: 0 0 0 17407"
    # "Normal: 653*4kB 0*8kB 0*16kB 0*32kB 1*64kB 1*128kB 0*256kB 1*512kB 0*1024kB 0*2048kB 0*4096kB = 3316kB"
    assert normal.buddy == [(653, 4, ""), (0, 8, ""), (0, 16, ""), (0, 32, ""), (1, 64, ""), (1, 128, ""),
                            (0, 256, ""), (1, 512, ""), (0, 1024, ""), (0, 2048, ""), (0, 4096, "")]
    assert normal.buddy_total_kb == 3316
    dma32 = zone(dump, None, "DMA32")  # "DMA32 free:0kB ... present:0kB" and "DMA32: empty"
    assert (dma32.present_kb, dma32.buddy, dma32.buddy_total_kb) == (0, [], 0)
    # "HighMem: 1*4kB 1*8kB 0*16kB 6902*32kB ... = 1251916kB"
    assert zone(dump, None, "HighMem").buddy_total_kb == 1251916
    assert dump.nodes == {} and dump.page_kb == 4 and dump.complete and dump.skipped == 0


# --- corpus 006: 5.4.26, every long line wrapped by a mail client ---------------------------


def test_006_mail_wrapped_dump() -> None:
    lines = corpus_lines("006")
    dump, consumed = feed_all(lines)
    assert lines[consumed[0] - 1] == "Mem-Info:" and lines[consumed[-1] - 1] == "0 pages hwpoisoned"
    assert consumed == list(range(consumed[0], consumed[-1] + 1))
    # the summary was truncated to "active_anon:5599 inactive_anon:7153 isolated_anon:0"
    assert dump.summary == {"active_anon": 5599, "inactive_anon": 7153, "isolated_anon": 0}
    node0 = dump.nodes[0]
    # "writeback:0kB shmem:2384kB shmem_thp: 0kB shmem_pmdmapped: 0kB anon_thp:" / "0kB writeback_tmp:0kB ..."
    assert node0["shmem"] == 2384 and node0["anon_thp"] == 0 and node0["writeback_tmp"] == 0
    assert node0["inactive_file"] == 7673984  # "active_file:31252kB inactive_file:7673984kB unevictable:0kB"
    assert node0["isolated(file)"] == 64
    dma32 = zone(dump, 0, "DMA32")
    # "Node 0 DMA32 free:31476kB min:37680kB low:45052kB" / "high:52424kB active_anon:792kB ..."
    assert (dma32.free_kb, dma32.min_kb, dma32.low_kb, dma32.high_kb) == (31476, 37680, 45052, 52424)
    # "managed:3588072kB mlocked:0kB ..." / "free_pcp:808kB local_pcp:696kB free_cma:0kB"
    assert (dma32.managed_kb, dma32.free_pcp_kb, dma32.free_cma_kb) == (3588072, 808, 0)
    assert dma32.fields["local_pcp"] == 696
    assert dma32.lowmem_reserve == [0, 0, 4433, 4433, 4433]  # "lowmem_reserve[]: 0 0 4433 4433 4433"
    # "Node 0 DMA32: 35*4kB (UMEH) 109*8kB (UMEH) 372*16kB (UMEH)" / "144*32kB (MEH) ..." / "0*2048kB 0*4096kB = 32180kB"
    assert dma32.buddy[:4] == [(35, 4, "UMEH"), (109, 8, "UMEH"), (372, 16, "UMEH"), (144, 32, "MEH")]
    assert dma32.buddy_total_kb == 32180
    normal = zone(dump, 0, "Normal")
    # "Node 0 Normal: 347*4kB (UMEH) 250*8kB (UMEH) 655*16kB" / "(UMEH) 80*32kB (UMEH) ..." / "... = 20716kB"
    assert normal.buddy[2] == (655, 16, "UMEH")
    assert normal.buddy_total_kb == 20716 and normal.free_kb == 20672
    # "Node 0 DMA: ... 3*4096kB (M) =" / "15908kB": the total alone on the last piece
    assert zone(dump, 0, "DMA").buddy_total_kb == 15908
    assert dump.page_kb == 4 and dump.complete and dump.skipped == 0


# --- corpus 010: 5.2-next, wrapped and interleaved with another CPU's trace ------------------


def test_010_wrapped_and_interleaved_dump() -> None:
    lines = corpus_lines("010")
    dump, consumed = feed_all(lines)
    start = lines.index("Mem-Info:") + 1
    end = lines.index("16384 pages cma reserved") + 1
    assert consumed[0] == start and consumed[-1] == end
    # every line in between that was not consumed is the other CPU's trace ("[ T1598]") or its wrap
    skipped_lines = [lines[n - 1] for n in range(start, end) if n not in consumed]
    assert "Hardware name: HPE ProLiant DL385 Gen10/ProLiant DL385" in skipped_lines
    assert "[smartpqi]" in skipped_lines
    assert all(not line.startswith(("Node", "lowmem")) for line in skipped_lines)
    # "active_anon:4662210 inactive_anon:359358" / "isolated_anon:2005" ... " free:54096 free_pcp:5994 free_cma:84"
    assert dump.summary["isolated_anon"] == 2005
    assert (dump.summary["free"], dump.summary["free_pcp"], dump.summary["free_cma"]) == (54096, 5994, 84)
    assert sorted(dump.nodes) == list(range(8))
    # "shmem_thp: 0kB shmem_pmdmapped: 0kB anon_thp: 15167488kB writeback_tmp:0kB" (Node 4)
    assert dump.nodes[4]["anon_thp"] == 15167488
    assert dump.nodes[4]["active_anon"] == 16402112  # "Node 4 active_anon:16402112kB inactive_anon:865180kB"
    assert [(z.node, z.zone) for z in dump.zones] == [(0, "DMA"), (0, "DMA32"), (0, "Normal"), (4, "Normal")]
    node4 = zone(dump, 4, "Normal")
    # "Node 4 Normal free:72728kB min:234904kB low:267232kB" / ... / "bounce:0kB free_pcp:12956kB local_pcp:24kB free_cma:336kB"
    assert (node4.free_kb, node4.min_kb, node4.free_cma_kb, node4.free_pcp_kb) == (72728, 234904, 336, 12956)
    assert node4.lowmem_reserve == [0, 0, 0, 0, 0]
    # "Node 4 Normal: 0*4kB 0*8kB 211*16kB (UME) 441*32kB (UME)" / ... "0*4096kB =" / "71184kB"
    assert node4.buddy[2] == (211, 16, "UME") and node4.buddy_total_kb == 71184
    normal0 = zone(dump, 0, "Normal")
    assert normal0.lowmem_reserve == [0, 0, 0, 0, 0]
    assert zone(dump, 0, "DMA32").lowmem_reserve == [0, 0, 18450, 18450, 18450]
    assert normal0.buddy_total_kb == 47648  # "... 0*4096kB =" / "47648kB"
    assert dump.page_kb == 4 and dump.complete and dump.skipped == 0


# --- corpus 022: 3.8, dump cut after the per-cpu lines -----------------------------------------


def test_022_truncated_after_percpu_lines() -> None:
    lines = corpus_lines("022")
    dump, consumed = feed_all(lines)
    # "Node 0 DMA per-cpu:" / "CPU    0: hi:    0, btch:   1 usd:   0"
    assert dump_line_kind("Node 0 DMA per-cpu:") == "percpu"
    assert dump_line_kind("CPU    0: hi:    0, btch:   1 usd:   0") == "percpu"
    assert [lines[n - 1] for n in consumed][:2] == ["Mem-Info:", "Node 0 DMA per-cpu:"]
    assert dump == MemDump(zones=[], summary={}, nodes={}, page_kb=None, complete=False, skipped=0)


CORPUS_WITHOUT_DUMP = ["004", "009", "014", "015", "018", "024", "025", "028", "030", "034", "036", "042"]


@pytest.mark.parametrize("prefix", CORPUS_WITHOUT_DUMP)
def test_corpus_logs_without_dump_consume_nothing(prefix: str) -> None:
    lines = corpus_lines(prefix)
    assert [line for line in lines if dump_line_kind(line) is not None] == []
    assert feed_all(lines)[1] == []


# --- formats from kernel source, not in the corpus ---------------------------------------------

# 6.18 mm/show_mem.c: boost (6.1+), reserved_highatomic/free_highatomic with a capital K (§3.9),
# zspages (zsmalloc counter, 6.x), then lowmem_reserve and the buddy line.
LINE_6_18 = (
    "Node 0 Normal free:6001484kB boost:0kB min:45100kB low:56372kB high:67644kB "
    "reserved_highatomic:4096KB free_highatomic:2048KB active_anon:1172kB inactive_anon:61232kB "
    "active_file:152224kB inactive_file:1106228kB unevictable:0kB writepending:12kB zspages:0kB "
    "present:7864320kB managed:7707160kB mlocked:0kB bounce:0kB free_pcp:3524kB local_pcp:648kB "
    "free_cma:0kB"
)


def test_6_18_zone_line() -> None:
    builder = MemDumpBuilder()
    assert dump_line_kind(LINE_6_18) == "zone"
    assert builder.feed(LINE_6_18)
    assert builder.feed("lowmem_reserve[]: 0 0 0 0 0")
    assert builder.feed("Node 0 Normal: 39*4kB (UME) 12*8kB (M) 0*16kB 2*32kB (H) 1*64kB (M) 0*128kB 0*256kB "
                        "0*512kB 0*1024kB 1*2048kB (M) 1465*4096kB (M) = 6003024kB")
    (z,) = builder.result().zones
    assert (z.free_kb, z.boost_kb, z.min_kb, z.low_kb, z.high_kb) == (6001484, 0, 45100, 56372, 67644)
    assert (z.reserved_highatomic_kb, z.free_highatomic_kb) == (4096, 2048)
    assert (z.present_kb, z.managed_kb, z.free_pcp_kb, z.free_cma_kb) == (7864320, 7707160, 3524, 0)
    assert z.fields["zspages"] == 0 and z.fields["local_pcp"] == 648 and z.fields["writepending"] == 12
    assert z.buddy[3] == (2, 32, "H") and z.buddy_total_kb == 6003024


def test_5_10_reserved_highatomic_without_boost() -> None:
    builder = MemDumpBuilder()
    builder.feed("Node 0 DMA32 free:12000kB min:100kB low:125kB high:150kB reserved_highatomic:2048KB "
                 "active_anon:0kB present:3653608kB managed:3588072kB free_pcp:8kB local_pcp:0kB free_cma:0kB")
    (z,) = builder.result().zones
    assert (z.boost_kb, z.reserved_highatomic_kb, z.free_highatomic_kb) == (None, 2048, None)


def test_older_percpu_and_trailer_formats() -> None:
    # 2.6.24 "CPU %4d: Hot: hi:%5d, btch:%4d usd:%4d   Cold: hi:%5d, btch:%4d usd:%4d"
    assert dump_line_kind("CPU    1: Hot: hi:  186, btch:  31 usd: 153   Cold: hi:   62, btch:  15 usd:  60") == "percpu"
    # 2.6.28 summary continuation " inactive_file:%lu unevictable:%lu dirty:%lu writeback:%lu unstable:%lu"
    assert dump_line_kind(" inactive_file:10 unevictable:0 dirty:1 writeback:0 unstable:0") == "summary"
    # 6.1+ summary lines
    assert dump_line_kind(" sec_pagetables:0 bounce:0") == "summary"
    assert dump_line_kind(" kernel_misc_reclaimable:0") == "summary"
    for line in ("0 pages HighMem/MovableOnly", "59006 pages reserved", "0 pages cma reserved",
                 "0 pages in pagetable cache", "170344 pages shared", "12 pages non-shared"):
        assert dump_line_kind(line) == "trailer", line
    assert dump_line_kind("Total swap = 0kB") == "trailer"
    assert dump_line_kind("Swap cache stats: add 994, delete 956, find 81/89") == "trailer"


def test_64k_pages_give_page_kb_64() -> None:
    builder = MemDumpBuilder()
    builder.feed("Node 0 DMA free:1024kB min:64kB low:128kB high:192kB present:4194304kB managed:4100000kB")
    builder.feed("Node 0 DMA: 2*64kB (M) 1*128kB (U) 0*256kB 3*512kB (M) = 1792kB")
    dump = builder.result()
    assert dump.page_kb == 64 and dump.zones[0].buddy[1] == (1, 128, "U")


# --- 4.9 KERN_CONT records left unmerged by the syslog daemon ----------------------------------


def kern_cont_pieces(lines: list[str]) -> list[str]:
    """Split dump lines the way 4.9's printk calls do: show_node(), "%s: ", each order, each " %ld"."""
    pieces: list[str] = []
    for line in lines:
        node = re.match(r"(Node \d+ )(.*)", line)
        if node and dump_line_kind(line) in ("zone", "buddy"):
            pieces.append(node.group(1))
            line = node.group(2)
        if line.startswith("lowmem_reserve[]:"):
            pieces.append("lowmem_reserve[]:")
            pieces.extend(f" {n}" for n in line.split()[1:])
        elif dump_line_kind(line) == "buddy":
            head, body = line.split(": ", 1)
            pieces.append(f"{head}: ")
            pieces.extend(f"{token} " for token in body.split(" = ")[0].split())
            pieces.append("= " + body.split(" = ")[1])
        else:
            pieces.append(line)
    return pieces


def test_kern_cont_fragments_give_the_merged_result() -> None:
    merged = [
        "Mem-Info:",
        "Node 0 DMA free:15908kB min:132kB low:164kB high:196kB active_anon:0kB present:15992kB managed:15908kB",
        "lowmem_reserve[]: 0 3444 7878 7878 7878",
        "Node 0 Normal free:20672kB min:56392kB low:65880kB high:75368kB present:4718592kB managed:4548188kB",
        "lowmem_reserve[]: 0 0 0 0 0",
        "Node 0 DMA: 1*4kB (U) 0*8kB 0*16kB 1*32kB (U) 2*64kB (U) 1*128kB (U) 1*256kB (U) 0*512kB "
        "1*1024kB (U) 1*2048kB (M) 3*4096kB (M) = 15908kB",
        "Node 0 Normal: 347*4kB (UMEH) 250*8kB (UMEH) 655*16kB (UMEH) 80*32kB (UMEH) 29*64kB (ME) "
        "7*128kB (MEH) 6*256kB (MEH) 0*512kB 0*1024kB 0*2048kB 0*4096kB = 20716kB",
        "0 pages hwpoisoned",
    ]
    pieces = kern_cont_pieces(merged)
    assert "Node 0 " in pieces and "DMA: " in pieces and "(UMEH) " in pieces and " 3444" in pieces
    dump, consumed = feed_all(pieces)
    assert len(consumed) == len(pieces)
    assert dump == feed_all(merged)[0]
    assert zone(dump, 0, "Normal").lowmem_reserve == [0, 0, 0, 0, 0]
    assert zone(dump, 0, "DMA").buddy_total_kb == 15908


def test_kern_cont_node_and_zone_merged_but_orders_split() -> None:
    builder = MemDumpBuilder()
    pieces = ["Mem-Info:", "Node 1 Normal free:8kB min:1kB low:2kB high:3kB", "Node 1 Normal: ",
              "1*4kB ", "(M) ", "0*8kB ", "1*16kB ", "(UE) ", "= 20kB"]
    assert all(builder.feed(piece) for piece in pieces)
    (z,) = builder.result().zones
    assert (z.node, z.buddy, z.buddy_total_kb) == (1, [(1, 4, "M"), (0, 8, ""), (1, 16, "UE")], 20)


# --- properties: wrapping and interleaving do not change the result ----------------------------

WRAPPABLE = ("zone", "node", "buddy", "reserve", "hugepages", "summary")


@functools.cache
def dump_lines(prefix: str) -> tuple[str, ...]:
    """The logical dump lines of a corpus file (wrapped pieces joined back), in order."""
    logical: list[str] = []
    builder = MemDumpBuilder()
    for line in corpus_lines(prefix):
        if not builder.feed(line):
            continue
        if dump_line_kind(line) is None and logical:
            logical[-1] = f"{logical[-1]} {line.strip()}"
        else:
            logical.append(line)
    return tuple(logical)


@settings(max_examples=60, deadline=None)
@given(prefix=st.sampled_from(["001", "002", "006", "010"]), data=st.data())
def test_wrapping_at_any_space_keeps_the_result(prefix: str, data: st.DataObject) -> None:
    logical = dump_lines(prefix)
    wrapped: list[str] = []
    for line in logical:
        spaces = [i for i, c in enumerate(line) if c == " " and i > 32]
        if dump_line_kind(line) in WRAPPABLE and not line.startswith("Free pages:") and spaces:
            cuts = sorted(data.draw(st.sets(st.sampled_from(spaces), max_size=6)))
            bounds = [0, *cuts, len(line)]
            wrapped.extend(line[a:b].strip() for a, b in zip(bounds, bounds[1:]) if line[a:b].strip())
        else:
            wrapped.append(line)
    wrapped_dump, consumed = feed_all(wrapped)
    assert len(consumed) == len(wrapped)
    assert wrapped_dump == feed_all(logical)[0]


ORDINARY = [
    " ? stack_trace_save+0x87/0xb0",
    "Hardware name: HPE ProLiant DL385 Gen10/ProLiant DL385",
    "[smartpqi]",
    "Call Trace:",
    "CPU: 10 PID: 1598 Comm: kworker/10:1H Tainted:",
    "tg3: eth0: Link is up at 1000 Mbps, full duplex.",
    "SLUB: Unable to allocate memory on node -1 (gfp=0x20)",
    "  node 0: slabs: 219, objs: 867, free: 13",
    "Normal: 3 packets dropped",
]


@settings(max_examples=40, deadline=None)
@given(prefix=st.sampled_from(["001", "006", "010"]), data=st.data())
def test_interleaved_ordinary_lines_change_nothing(prefix: str, data: st.DataObject) -> None:
    lines = corpus_lines(prefix)
    dump, consumed = feed_all(lines)
    kept = [lines[n - 1] for n in consumed]
    mixed: list[str] = []
    for line in kept:
        mixed.extend(data.draw(st.lists(st.sampled_from(ORDINARY), max_size=2)))
        mixed.append(line)
    mixed_dump, mixed_consumed = feed_all(mixed)
    assert len(mixed_consumed) == len(kept)
    assert mixed_dump == dump


# --- fuzz: bad input never raises ---------------------------------------------------------------

DUMP_ALPHABET = st.sampled_from(list("0123456789 *:=()kKBUMEHRCI[]?_-") + ["Node ", "DMA", "Normal", "free:",
                                                                          "lowmem_reserve[]:", "kB", "\t"])


REAL_DUMP_LINES = [line for prefix in ("001", "002", "006", "010") for line in dump_lines(prefix)]
# a slice of a real dump line: cut anywhere, not only at spaces
SLICED = st.tuples(st.sampled_from(REAL_DUMP_LINES), st.integers(0, 300), st.integers(0, 300)).map(
    lambda cut: cut[0][cut[1]:cut[2]]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=120), st.lists(DUMP_ALPHABET, max_size=40).map("".join), SLICED), max_size=40))
def test_feed_never_raises(lines: list[str]) -> None:
    builder = MemDumpBuilder()
    for line in lines:
        dump_line_kind(line)
        assert builder.feed(line) in (True, False)
    dump = builder.result()
    assert dump.skipped >= 0


def test_huge_numbers_and_lines_do_not_raise() -> None:
    builder = MemDumpBuilder()
    assert not builder.feed("Normal free:" + "9" * 5000 + "kB")
    assert not builder.feed("Node 0 DMA: " + "1*4kB " * 2000)
    assert builder.feed("Normal free:" + "9" * 20 + "kB")
    assert builder.result().zones[0].free_kb == 99999999999999999999


# --- negatives and malformed dump lines ---------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Normal: 3 packets",
        "DMA: something happened",
        "Node 0 is online",
        "Node 0 DMA: foo",
        "free: 3",
        "free:3 total:5",
        "CPU 0: hi there",
        "cpu 1 hot: very",
        "lowmem_reserve[]: abc",
        "12 pages",
        "1234 packets dropped",
        "Mem-Info: nothing",
        "Free swap is low",
        "e1000: eth0: NIC Link is Up 1000 Mbps Full Duplex",
        "Normal free: lots",
        "",
        "   ",
    ],
)
def test_ordinary_lines_are_not_dump_lines(line: str) -> None:
    assert dump_line_kind(line) is None
    assert MemDumpBuilder().feed(line) is False


def test_bare_fragments_count_only_inside_a_dump() -> None:
    fresh = MemDumpBuilder()
    assert not fresh.feed("Node 0")
    assert not fresh.feed("DMA:")
    assert not fresh.feed("0kB writeback_tmp:0kB")
    assert not fresh.feed("(M) = 15908kB")
    inside = MemDumpBuilder()
    assert inside.feed("Mem-Info:")
    assert inside.feed("Node 0") and inside.feed("DMA:")
    # after a finished buddy line nothing is open: a later stray piece is not taken
    assert inside.feed("1*4kB (U) = 4kB")
    assert not inside.feed("(M)")
    assert not inside.feed("no")


def test_malformed_dump_lines_are_counted_as_skipped() -> None:
    builder = MemDumpBuilder()
    assert builder.feed("lowmem_reserve[]: 0 0 0")  # no zone line before it
    assert builder.feed("Node 0 DMA: 1*4kB 1*16kB = 20kB")  # order 1 is not 8kB
    assert builder.feed("Node 0 Normal free:10kB min:1kB high:x2kB")  # junk inside a zone line
    assert builder.feed("Node 0 DMA: 1*4kB (U) (M) 0*8kB = 4kB")  # two letter groups for one order
    dump = builder.result()
    assert dump.zones == [] and dump.skipped == 4 and not dump.complete


def test_buddy_lines_match_zones_by_node_and_zone() -> None:
    builder = MemDumpBuilder()
    builder.feed("Node 0 Normal free:8kB min:1kB low:2kB high:3kB")
    builder.feed("Node 1 Normal free:4kB min:1kB low:2kB high:3kB")
    builder.feed("Node 1 Normal: 1*4kB (M) 0*8kB = 4kB")
    builder.feed("Node 0 Normal: 0*4kB 1*8kB (U) = 8kB")
    builder.feed("Node 2 Normal: 0*4kB 0*8kB = 0kB")  # its zone line is not in the excerpt
    dump = builder.result()
    assert [(z.node, z.buddy_total_kb) for z in dump.zones] == [(0, 8), (1, 4), (2, 0)]
    assert dump.zones[2].free_kb is None
    assert dump.complete


def test_truncated_buddy_line_is_incomplete() -> None:
    builder = MemDumpBuilder()
    builder.feed("Node 0 DMA free:16kB min:1kB low:2kB high:3kB")
    builder.feed("Node 0 DMA: 4*4kB (U) 0*8kB =")  # cut before the total
    dump = builder.result()
    assert dump.zones[0].buddy == [(4, 4, "U"), (0, 8, "")]
    assert dump.zones[0].buddy_total_kb is None and not dump.complete and dump.skipped == 0


def test_result_is_a_copy_and_feeding_may_go_on() -> None:
    lines = corpus_lines("010")
    builder = MemDumpBuilder()
    snapshots = []
    for line in lines:
        if builder.feed(line):
            snapshots.append(builder.result())
    final = builder.result()
    assert final == feed_all(lines)[0]
    # the dump grows line by line; an earlier result is not changed by later lines
    first_zone = next(s for s in snapshots if s.zones)
    assert first_zone.zones[0].buddy is None and final.zones[0].buddy is not None
    first_zone.zones[0].fields.clear()
    first_zone.summary.clear()
    assert builder.result() == final


def test_complete_after_the_last_buddy_line() -> None:
    lines = corpus_lines("006")
    builder = MemDumpBuilder()
    became_complete = None
    for number, line in enumerate(lines, 1):
        builder.feed(line)
        if became_complete is None and builder.result().complete:
            became_complete = number
    # "0*1024kB 0*2048kB 0*4096kB = 20716kB" (line 85) ends the last zone's buddy line
    assert lines[became_complete - 1] == "0*1024kB 0*2048kB 0*4096kB = 20716kB"


def test_buddy_lines_alone_do_not_make_a_dump_complete() -> None:
    builder = MemDumpBuilder()
    builder.feed("Node 0 DMA: 1*4kB (U) 0*8kB = 4kB")  # the excerpt starts here
    assert not builder.result().complete
    builder.feed("Node 0 DMA32: 0*4kB 1*8kB (M) = 8kB")
    builder.feed("0 pages hwpoisoned")
    assert builder.result().complete

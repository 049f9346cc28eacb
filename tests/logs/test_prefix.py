"""Tests for minfree.logs.prefix: one real sample per log shape, edge cases, fuzzing.

Sources of the quoted lines:
* corpus NNN = ../shared/corpus/logs/NNN-*.log or tests/corpus/logs/NNN-*.log (100+),
  verbatim published reports;
* "this machine" = Linux 6.18 VM of the project (dmesg -r/-T/-x/--time-format iso, /dev/kmsg);
* "public" = lines found verbatim in public repositories/issues (quoted where used);
* "format" = built from the printf format of the producer (kernel printk.c, journald,
  util-linux dmesg, systemd JOURNAL_EXPORT_FORMATS) around corpus kernel text, for shapes the
  corpus and this machine do not hold.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minfree.logs.prefix import MAX_LINE_CHARS, LineNormalizer, LogLine

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "logs"
MORE_CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "logs"  # tests/corpus: files 100+


def one(raw: str, normalizer: LineNormalizer | None = None) -> LogLine:
    lines = (normalizer or LineNormalizer()).normalize(raw)
    assert len(lines) == 1, lines
    return lines[0]


# ---- console / dmesg -------------------------------------------------------------------


def test_raw_dmesg_corpus_002() -> None:
    line = one("[69774.700393] swapper: page allocation failure. order:1, mode:0x20\n")
    assert line == LogLine(
        "swapper: page allocation failure. order:1, mode:0x20", time="69774.700393", mono=69774.700393
    )


def test_trace_frame_keeps_its_indent_corpus_006() -> None:
    assert one("[  785.581255]  <IRQ>").text == " <IRQ>"
    assert one("[  785.581282]  ? dev_gro_receive+0x626/0x690").text == " ? dev_gro_receive+0x626/0x690"


def test_trailing_space_of_pr_cont_piece_kept_corpus_025() -> None:
    assert one("[73797.116745] swapper/8: \n").text == "swapper/8: "


def test_printk_caller_ids_corpus_010() -> None:
    line = one("[  656.352100][  T829] kmemleak: Automatic memory scanning thread ended")
    assert (line.time, line.mono, line.caller, line.text) == (
        "656.352100",
        656.3521,
        "T829",
        "kmemleak: Automatic memory scanning thread ended",
    )


@pytest.mark.parametrize(
    ("raw", "caller", "text"),
    [
        ("[   12.300000][    C2] hrtimer: interrupt took 1 ns", "C2", "hrtimer: interrupt took 1 ns"),
        ("[    0.000000] [    T0] Linux version 6.18.44", "T0", "Linux version 6.18.44"),  # util-linux
        ("[T123] swapper/0: page allocation failure: order:0", "T123", "swapper/0: page allocation failure: order:0"),
        ("[ T3124] kworker/2:1H: page allocation failure", "T3124", "kworker/2:1H: page allocation failure"),
    ],
)
def test_caller_id_forms_format(raw: str, caller: str, text: str) -> None:
    line = one(raw)
    assert (line.caller, line.text) == (caller, text)


def test_bracketed_text_is_not_a_stamp() -> None:
    # this machine, dmesg: "[    0.000000] [Firmware Bug]: TSC doesn't count with P0 frequency!"
    assert one("[    0.000000] [Firmware Bug]: TSC doesn't count with P0 frequency!").text.startswith("[Firmware")
    # corpus 034 (no stamps) and 009 (ppc64 stack frames)
    raw = "[<ffffffff8112c207>] ? __alloc_pages_nodemask+0x757/0x8d0"
    assert one(raw) == LogLine(raw)
    raw = "[c00000000090b5c0] [c0000000004f8478] .dump_stack+0xa0/0xcc (unreliable)"
    assert one(raw) == LogLine(raw)


def test_dmesg_raw_with_pri_this_machine() -> None:
    line = one("<4>[    0.000000] [Firmware Bug]: TSC doesn't count with P0 frequency!")
    assert (line.level, line.time, line.mono) == (4, "0.000000", 0.0)
    assert line.text == "[Firmware Bug]: TSC doesn't count with P0 frequency!"


def test_pri_without_stamp_format() -> None:
    # console with printk.time=0: "<4>" + text; a trace frame keeps its space
    assert one("<4>swapper: page allocation failure. order:1, mode:0x20").level == 4
    assert one("<4> [<c1004f7f>] show_trace+0x12/0x14").text == " [<c1004f7f>] show_trace+0x12/0x14"


def test_oops_code_bytes_are_not_a_pri_corpus_006() -> None:
    raw = "<41> 5f 5d c3 65 8b 05 ff 40 09 5b 89 c0 48 0f a3 05 05 2f ec 00 73"
    assert one(raw) == LogLine(raw)
    assert one("<IRQ>") == LogLine("<IRQ>")


def test_dmesg_ctime_this_machine() -> None:
    line = one("[Wed Nov 25 22:49:21 2026] Command line: console=ttyS0 quiet")
    assert (line.time, line.mono, line.text) == ("Wed Nov 25 22:49:21 2026", None, "Command line: console=ttyS0 quiet")
    assert one("[Thu Nov  5 01:02:03 2026] x").time == "Thu Nov  5 01:02:03 2026"  # %e pads with a space


def test_dmesg_iso_this_machine() -> None:
    line = one("2026-11-25T22:49:21,000000+00:00 [Firmware Bug]: TSC doesn't count with P0 frequency!")
    assert (line.time, line.host, line.tag) == ("2026-11-25T22:49:21,000000+00:00", None, None)
    assert line.text == "[Firmware Bug]: TSC doesn't count with P0 frequency!"
    # with caller id, util-linux style
    assert one("2026-11-25T22:49:21,000000+00:00 [  T1] Run /init").caller == "T1"


def test_dmesg_decode_this_machine() -> None:
    line = one("kern  :warn  : [    0.000000] [Firmware Bug]: TSC doesn't count with P0 frequency!")
    assert (line.level, line.mono, line.text) == (4, 0.0, "[Firmware Bug]: TSC doesn't count with P0 frequency!")
    assert one("local0:info  : hello").level == 6


def test_dmesg_continuation_indent_format() -> None:
    # util-linux dmesg prints the next lines of a multi-line record under the text column
    n = LineNormalizer()
    head = one("kern  :warn  : [    2.307473] active_anon:1 inactive_anon:2", n)
    cont = one(" " * len("kern  :warn  : [    2.307473] ") + " active_file:3", n)
    assert (cont.text, cont.mono, cont.level) == (" active_file:3", head.mono, 4)


# ---- journalctl short-monotonic (stamp then tag) ---------------------------------------


def test_journal_short_monotonic_corpus_014() -> None:
    n = LineNormalizer()
    user = one("[21160.626351] earlyoom[84786]: low memory! at or below SIGTERM limits: mem  4.00%, swap 10.00%", n)
    assert (user.tag, user.mono, user.text[:11]) == ("earlyoom", 21160.626351, "low memory!")
    kernel = one("[21161.092868] kernel:  dump_stack+0x8b/0xb8", n)
    assert (kernel.tag, kernel.text) == ("kernel", " dump_stack+0x8b/0xb8")


def test_journal_short_monotonic_with_host_format() -> None:
    line = one("[21161.092614] fedora kernel: earlyoom: page allocation failure: order:0")
    assert (line.host, line.tag, line.text) == ("fedora", "kernel", "earlyoom: page allocation failure: order:0")


def test_kernel_text_looking_like_a_tag_stays_text() -> None:
    # corpus 006 / 015: a "word:" after the stamp is kernel text, not a syslog tag
    assert one("[  785.581251] Workqueue: ceph-msgr ceph_con_workfn [libceph]").tag is None
    line = one("[ 1976.217652] perf: page allocation failure: order:4, mode:0xdc0(GFP_KERNEL|__GFP_ZERO)")
    assert (line.tag, line.text[:5]) == (None, "perf:")


# ---- syslog ----------------------------------------------------------------------------


def test_bsd_syslog_public() -> None:
    # public: a syslog excerpt quoted in a public repository
    line = one("Jan 16 21:55:03 Coretana kernel: [   21.980056] eth0: no IPv6 routers present")
    assert line == LogLine(
        "eth0: no IPv6 routers present",
        host="Coretana",
        time="Jan 16 21:55:03",
        mono=21.980056,
        tag="kernel",
    )


def test_bsd_syslog_trace_frame_keeps_indent_public() -> None:
    line = one("Mar 10 10:59:48 oneiric kernel: [13017.119594]  [<ffffffff8117af00>] ? __pollwait+0xf0/0xf0")
    assert line.text == " [<ffffffff8117af00>] ? __pollwait+0xf0/0xf0"


def test_bsd_syslog_fqdn_and_no_host_format() -> None:
    fqdn = one("Nov  6 11:44:53 www.charite.de kernel: swapper: page allocation failure. order:1, mode:0x20")
    assert (fqdn.host, fqdn.tag, fqdn.text[:8]) == ("www.charite.de", "kernel", "swapper:")
    bare = one("Nov  6 11:44:53 kernel: Node 0 DMA: 1*4kB (U) 0*8kB")
    assert (bare.host, bare.tag, bare.text) == (None, "kernel", "Node 0 DMA: 1*4kB (U) 0*8kB")
    other = one("Jan 16 21:55:00 Coretana anacron[1129]: Will run job `cron.daily' in 5 min.")  # public
    assert (other.host, other.tag) == ("Coretana", "anacron")


def test_bsd_syslog_unpadded_day_corpus_123() -> None:
    line = one("Sep 4 11:37:45 server01 kernel: httpd: page allocation failure. order:2, mode:0x20")
    assert (line.time, line.host, line.tag, line.text) == (
        "Sep 4 11:37:45",
        "server01",
        "kernel",
        "httpd: page allocation failure. order:2, mode:0x20",
    )


def test_journal_localized_month_and_continuation_corpus_130() -> None:
    n = LineNormalizer()
    head = one("Mai 18 21:40:47 vaio kernel: Large kmem_alloc(42672, 0x1000), please file an issue at:\n", n)
    assert (head.time, head.host, head.tag) == ("Mai 18 21:40:47", "vaio", "kernel")
    cont = one("                             https://github.com/zfsonlinux/zfs/issues/new\n", n)
    assert cont == LogLine(
        "https://github.com/zfsonlinux/zfs/issues/new", host="vaio", time="Mai 18 21:40:47", tag="kernel"
    )
    frame = one("Mai 18 21:40:50 vaio kernel:  [<ffffffff81571bd3>] dump_stack+0x4c/0x6e", n)
    assert frame.text == " [<ffffffff81571bd3>] dump_stack+0x4c/0x6e"


def test_syslog_cut_to_kernel_tag_corpus_122() -> None:
    # a KB article quoting /var/log/messages without date and host, indented
    line = one("    kernel: swapper: page allocation failure. order:2, mode:0x20")
    assert (line.tag, line.host, line.text) == ("kernel", None, "swapper: page allocation failure. order:2, mode:0x20")
    assert one("    kernel: <IRQ>  [<ffffffff81123daf>] ? __alloc_pages_nodemask+0x77f/0x940").text.startswith("<IRQ>")
    # public (a bug report quoting syslog): "kernel: BUG: dst underflow 0: fffffff802cde24"
    assert one("kernel: BUG: dst underflow 0: fffffff802cde24").tag == "kernel"
    # prose mentioning the kernel is left alone
    assert one("Linux kernel: 4.4 and later").tag is None


def test_mail_quoted_syslog_corpus_137() -> None:
    n = LineNormalizer()
    head = one(
        "> Mar 26 12:32:15 monitoring-pi kernel: [126742.472373] python3: page allocation stalls for 10060ms, order:1,\n",
        n,
    )
    assert (head.host, head.mono, head.text) == (
        "monitoring-pi",
        126742.472373,
        "python3: page allocation stalls for 10060ms, order:1,",
    )
    # once the source is known to be quoted, wrapped lines lose their marker too
    assert one(">  mode:0x15080c0(GFP_KERNEL_ACCOUNT|__GFP_ZERO), nodemask=(null)\n", n) == LogLine(
        " mode:0x15080c0(GFP_KERNEL_ACCOUNT|__GFP_ZERO), nodemask=(null)"
    )
    # public (LKML reply): quoted syslog with date cut off, host kept, quoted-printable soft break
    line = one("> eeepc kernel: [ 1495.466975] uvcvideo: Failed to resubmit video URB (-27)=", LineNormalizer())
    assert (line.host, line.tag, line.mono) == ("eeepc", "kernel", 1495.466975)


def test_quote_markers_go_before_the_prefix_only() -> None:
    # an xtensa stack dump marks its first line with "> " after the stamp: kernel text (corpus 101)
    assert one("[86554.235243] > 00000100 00000000 3dbfbc00 423b8f69").text == "> 00000100 00000000 3dbfbc00 423b8f69"
    # quoted without any prefix (corpus 145, 147): the markers are never part of the comm
    assert one("> kswapd0: page allocation failure. order:3, mode:0x20").text == (
        "kswapd0: page allocation failure. order:3, mode:0x20")
    assert one(">>>> kswapd0: page allocation failure: order:0, mode:0x820(GFP_ATOMIC)").text.startswith("kswapd0:")
    assert one("> > kswapd0: page allocation failure. order:0, mode:0x20").text.startswith("kswapd0:")
    assert one(">\tkswapd0: page allocation failure. order:0, mode:0x20").text.startswith("kswapd0:")


def test_decoration_before_a_prefix_is_removed() -> None:
    # quoted and indented dmesg (corpus 146, LKML): "  [   64.242499] systemd-udevd: ..."
    line = one(">>   [   64.242499] systemd-udevd: vmalloc error: size 327680, vm_struct allocation failed")
    assert (line.mono, line.text[:14]) == (64.242499, "systemd-udevd:")
    # a TAB or a backtick (inline code) before a syslog prefix
    for raw in ("\tNov  6 11:44:53 www kernel: swapper: page allocation failure. order:1, mode:0x20",
                "`Nov  6 11:44:53 www kernel: swapper: page allocation failure. order:1, mode:0x20"):
        line = one(raw)
        assert (line.host, line.tag, line.text[:8]) == ("www", "kernel", "swapper:")
    # inline code closes with a backtick too: it is not part of the mode
    line = one("`Nov  6 11:44:53 www kernel: swapper: page allocation failure. order:1, mode:0x20`")
    assert line.text == "swapper: page allocation failure. order:1, mode:0x20"
    # indentation that no prefix follows is the kernel's own (trace frames keep it)
    assert one("  [<ffffffff8112457c>] warn_alloc_failed+0xec/0x140").text == "  [<ffffffff8112457c>] warn_alloc_failed+0xec/0x140"


def test_bsd_syslog_with_pri_format() -> None:
    line = one("<4>Nov  6 11:44:53 www kernel: [69774.700393] swapper: page allocation failure. order:1")
    assert (line.level, line.host, line.tag, line.mono) == (4, "www", "kernel", 69774.700393)


def test_journalctl_short_precise_format() -> None:
    line = one("Nov 06 11:44:53.123456 www kernel: swapper: page allocation failure. order:1")
    assert (line.time, line.host) == ("Nov 06 11:44:53.123456", "www")


def test_rfc3339_syslog_with_caller_public() -> None:
    # public: rsyslog RFC3339 file, kernel with CONFIG_PRINTK_CALLER and no printk time; the
    # excerpt cut this line's time and the host's first 2 letters, taken from the next line
    raw = (
        "2025-08-14T06:30:22.460986+00:00 cc02v019206 kernel: [T92772] nfs: server "
        "ms-cis-clmam-eu-de-2-prod-private-01-01-10-180-236-58.prod.clmam.gmp.eu-de-2.cloud.ppp "
        "not responding, still trying"
    )
    line = one(raw)
    assert (line.time, line.host, line.tag, line.caller) == (
        "2025-08-14T06:30:22.460986+00:00",
        "cc02v019206",
        "kernel",
        "T92772",
    )
    assert line.text.startswith("nfs: server ms-cis")


def test_rfc3339_bracketed_text_is_not_a_stamp_public() -> None:
    raw = "2026-10-01T16:17:04+00:00 engine-host kernel: [UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.9"
    assert one(raw).text == "[UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.9"


def test_journalctl_short_iso_format() -> None:
    line = one("2020-09-09T12:00:01+0200 fedora kernel: Call Trace:")
    assert (line.time, line.host, line.tag, line.text) == ("2020-09-09T12:00:01+0200", "fedora", "kernel", "Call Trace:")


def test_rfc5424_format() -> None:
    line = one("<4>1 2020-09-09T12:00:01.123456+02:00 fedora kernel - - - swapper: page allocation failure")
    assert (line.level, line.time, line.host, line.tag, line.text) == (
        4,
        "2020-09-09T12:00:01.123456+02:00",
        "fedora",
        "kernel",
        "swapper: page allocation failure",
    )


def test_rsyslog_escapes_corpus_140() -> None:
    raw = (
        "Feb  9 08:09:39 prod-server kernel: active_anon:656114 inactive_anon:679646 isolated_anon:0"
        "#012 active_file:1022595 inactive_file:1262020 isolated_file:0#012 unevictable:0 dirty:140 "
        "writeback:0#012 slab_reclaimable:119934 slab_unreclaimable:40229#012 mapped:62257 shmem:42828 "
        "pagetables:8912 bounce:0#012 free:114480 free_pcp:1688 free_cma:0\n"
    )
    lines = LineNormalizer().normalize(raw)
    assert [l.text for l in lines] == [
        "active_anon:656114 inactive_anon:679646 isolated_anon:0",
        " active_file:1022595 inactive_file:1262020 isolated_file:0",
        " unevictable:0 dirty:140 writeback:0",
        " slab_reclaimable:119934 slab_unreclaimable:40229",
        " mapped:62257 shmem:42828 pagetables:8912 bounce:0",
        " free:114480 free_pcp:1688 free_cma:0",
    ]
    assert {(l.host, l.time, l.tag) for l in lines} == {("prod-server", "Feb  9 08:09:39", "kernel")}


def test_rsyslog_escapes_format() -> None:
    # show_free_areas prints the summary as one record with embedded "\n " (4.9, reference §5)
    raw = (
        "Nov  6 11:44:53 db1 kernel: [111759.088322] active_anon:9106553 inactive_anon:594546 isolated_anon:0"
        "#012 active_file:9604032 inactive_file:10734626 isolated_file:0#012#011tab"
    )
    lines = LineNormalizer().normalize(raw)
    assert [l.text for l in lines] == [
        "active_anon:9106553 inactive_anon:594546 isolated_anon:0",
        " active_file:9604032 inactive_file:10734626 isolated_file:0",
        "\ttab",
    ]
    assert {(l.host, l.time, l.mono, l.tag) for l in lines} == {("db1", "Nov  6 11:44:53", 111759.088322, "kernel")}


def test_rsyslog_message_repeated_public() -> None:
    line = one("Sep 22 19:41:46 s01 kernel: message repeated 7 times: [ EDID block 0 is all zeroes]")
    assert (line.repeat, line.text, line.host, line.tag) == (7, "EDID block 0 is all zeroes", "s01", "kernel")
    caller = one(
        "2025-08-14T06:30:22.460986+00:00 cc02v019206 kernel: message repeated 9 times: [[T92772] nfs: server "
        "ms-cis-clmam-eu-de-2-prod-private-01-01-10-180-236-58.prod.clmam.gmp.eu-de-2.cloud.ppp not responding, "
        "still trying]"
    )
    assert (caller.repeat, caller.caller) == (9, "T92772")
    assert caller.text.startswith("nfs: server ms-cis") and caller.text.endswith("not responding, still trying")


def test_last_message_repeated_takes_previous_text_public() -> None:
    n = LineNormalizer()
    first = one("Mar 10 10:59:48 oneiric kernel: [13017.119594]  [<ffffffff8117af00>] ? __pollwait+0xf0/0xf0", n)
    repeat = one("Mar 10 10:59:48 oneiric kernel: last message repeated 8 times", n)
    assert (repeat.repeat, repeat.text, repeat.tag, repeat.host) == (8, first.text, "kernel", "oneiric")
    # sysklogd form without a tag, and the bare form
    assert one("Nov  6 11:44:53 www last message repeated 3 times", n).repeat == 3
    assert one("last message repeated 2 times", LineNormalizer()) == LogLine("", repeat=2)


# ---- /dev/kmsg --------------------------------------------------------------------------


def test_kmsg_this_machine() -> None:
    line = one("4,2,0,-;[Firmware Bug]: TSC doesn't count with P0 frequency!\n")
    assert (line.level, line.mono, line.time, line.text) == (
        4,
        0.0,
        "0.000000",
        "[Firmware Bug]: TSC doesn't count with P0 frequency!",
    )
    assert one("6,339,5140900,-;x").mono == 5.1409


def test_kmsg_caller_and_dictionary_format() -> None:
    n = LineNormalizer()
    line = one("4,1234,567890,c,caller=T12;swapper/0: page allocation failure: order:0", n)
    assert (line.level, line.caller, line.mono) == (4, "T12", 0.56789)
    assert n.normalize(" SUBSYSTEM=pci") == []
    assert n.normalize(" DEVICE=+pci:0000:00:01.0") == []
    assert n.malformed == 0


def test_kmsg_3x_continuation_flag_format() -> None:
    # 3.x devkmsg_read marks pr_cont fragments "c" (first) and "+" (following)
    n = LineNormalizer()
    assert one("4,100,5000,c;swapper/8: ", n).text == "swapper/8: "
    assert one("4,101,5000,+;page allocation failure: order:0", n).text == "page allocation failure: order:0"


def test_kmsg_escaped_newline_splits_format() -> None:
    # msg_add_ext_text escapes "\n" inside a record as "\x0a", and bytes >= 0x7f too
    lines = LineNormalizer().normalize("6,5,100,-;active_anon:1 inactive_anon:2\\x0a active_file:3 caf\\xc3\\xa9")
    assert [l.text for l in lines] == ["active_anon:1 inactive_anon:2", " active_file:3 café"]
    assert lines[1].mono == lines[0].mono == 0.0001


def test_kmsg_userspace_record_gets_tag_format() -> None:
    # facility 3 (daemon): journald forwards "systemd[1]: ..." to /dev/kmsg
    assert one("30,640,1964383,-;systemd[1]: Started Journal Service.").tag == "systemd"
    # kernel facility: "comm[pid]: segfault ..." stays kernel text
    assert one("6,641,1964384,-;a.out[99]: segfault at 0 ip 0 sp 0 error 4").tag is None


def test_a_failure_report_written_by_user_space_is_not_kernel_text() -> None:
    """`echo '<4>x: page allocation failure...' > /dev/kmsg` (user facility 1, as the kernel
    forces for every write): tagged, so scan and doctor never count it as the kernel's."""
    line = one("12,900,5000000,-;mftest1: page allocation failure: order:1, mode:0x820(GFP_ATOMIC)")
    assert line.tag == "user" and line.text.startswith("mftest1: page allocation failure")


# ---- journald ---------------------------------------------------------------------------

# public: `journalctl -o json` line quoted in a test of a monitoring check (yandex wall-e)
JOURNAL_JSON = (
    '{ "__CURSOR" : "s=2c2f7f3d64d844aa9bc1844a48026313;i=1f346;b=c4b33c96f240457abc130dcb73da2b24;'
    'm=192b594fbf;t=5aec65916901c;x=3ed7ff8758066553", "__REALTIME_TIMESTAMP" : "1599541804961820", '
    '"__MONOTONIC_TIMESTAMP" : "108101455807", "_BOOT_ID" : "c4b33c96f240457abc130dcb73da2b24", '
    '"_MACHINE_ID" : "6641fb6ac4e235aef340bea75f556792", "_HOSTNAME" : "vla2-6758.search.yandex.net", '
    '"_TRANSPORT" : "kernel", "SYSLOG_FACILITY" : "0", "SYSLOG_IDENTIFIER" : "kernel", "PRIORITY" : "2", '
    '"_SOURCE_MONOTONIC_TIMESTAMP" : "108101169896", '
    '"MESSAGE" : "EXT4-fs error (device sdc2) in ext4_free_blocks:4969: IO failure" }'
)


def test_journal_json_public() -> None:
    assert one(JOURNAL_JSON) == LogLine(
        "EXT4-fs error (device sdc2) in ext4_free_blocks:4969: IO failure",
        host="vla2-6758.search.yandex.net",
        time="1599541804961820",
        mono=108101.169896,
        level=2,
        tag="kernel",
    )


def test_journal_json_byte_array_and_newlines_format() -> None:
    entry = {"_TRANSPORT": "kernel", "PRIORITY": "4", "MESSAGE": list(b"Mem-Info:\nactive_anon:1 \xff")}
    lines = LineNormalizer().normalize(json.dumps(entry))
    assert [l.text for l in lines] == ["Mem-Info:", "active_anon:1 \udcff"]
    assert {(l.tag, l.level) for l in lines} == {("kernel", 4)}


@pytest.mark.parametrize(
    "raw",
    [
        JOURNAL_JSON[:-5],  # truncated
        "{not json",
        '{"MESSAGE": null}',  # > 4096 bytes without journalctl --all
        '{"MESSAGE": [1, 2, 300]}',
        "[1, 2]",
    ],
)
def test_journal_json_broken_is_malformed(raw: str) -> None:
    n = LineNormalizer()
    if raw.startswith("["):  # a JSON array is not journal JSON, nor a stamp: plain text
        assert n.normalize(raw) == [LogLine(raw)]
        return
    assert n.normalize(raw) == []
    assert n.malformed == 1


# journalctl -o export of one kernel record: field order as in systemd's JOURNAL_EXPORT_FORMATS
# example (trusted "_" fields after MESSAGE), field set from journald-kmsg.c.
EXPORT_RECORD = [
    "__CURSOR=s=739ad463348b4ceca5a9e69c95a3c93f;i=4ece7;b=6c7c6013a8ba423a8b5f8be6a4c75ecc;m=299a4c13;t=4c2d36de51d77;x=a2ab7d2e1fa8a4a7",
    "__REALTIME_TIMESTAMP=1342540861416823",
    "__MONOTONIC_TIMESTAMP=698043923",
    "_BOOT_ID=6c7c6013a8ba423a8b5f8be6a4c75ecc",
    "_SOURCE_MONOTONIC_TIMESTAMP=698043000",
    "_TRANSPORT=kernel",
    "PRIORITY=4",
    "SYSLOG_FACILITY=0",
    "SYSLOG_IDENTIFIER=kernel",
    "MESSAGE=kworker/3:2: page allocation failure: order:0, mode:0xa20(GFP_ATOMIC)",
    "_HOSTNAME=epsilon",
    "",
]


def test_journal_export_record_format() -> None:
    n = LineNormalizer()
    out = [line for raw in EXPORT_RECORD for line in n.normalize(raw + "\n")]
    assert out == [
        LogLine(
            "kworker/3:2: page allocation failure: order:0, mode:0xa20(GFP_ATOMIC)",
            host="epsilon",  # filled in when _HOSTNAME arrives after MESSAGE
            time="1342540861416823",
            mono=698.043,
            level=4,
            tag="kernel",
        )
    ]
    # the next record starts clean; a plain line after it leaves export mode
    second = [line for raw in EXPORT_RECORD[:4] + ["MESSAGE=next"] for line in n.normalize(raw)]
    assert second == [LogLine("next", time="1342540861416823")]
    assert n.normalize("Call Trace:") == [LogLine("Call Trace:")]
    assert n.malformed == 0


def test_journal_export_binary_message_format() -> None:
    # a MESSAGE with "\n" is exported as: name, newline, 64-bit LE length, data, newline
    data = b"Mem-Info:\nactive_anon:1 inactive_anon:2\n active_file:3"
    stream = b"__CURSOR=s=1\n_TRANSPORT=kernel\nMESSAGE\n" + len(data).to_bytes(8, "little") + data + b"\n"
    stream += b"_HOSTNAME=db1\n\n__CURSOR=s=2\nMESSAGE=after\n\n"
    n = LineNormalizer()
    out = []
    for raw in stream.decode("utf-8", "surrogateescape").splitlines(keepends=True):
        out += n.normalize(raw)
    assert [(l.text, l.host, l.tag) for l in out] == [
        ("Mem-Info:", "db1", "kernel"),
        ("active_anon:1 inactive_anon:2", "db1", "kernel"),
        (" active_file:3", "db1", "kernel"),
        ("after", None, None),
    ]


def test_journal_export_binary_length_with_newline_byte_format() -> None:
    data = b"x" * 9 + b"\n"  # length 10 = b"\n\0\0...": the length itself breaks the line
    stream = b"__CURSOR=s=1\nMESSAGE\n" + len(data).to_bytes(8, "little") + data + b"\n\nMESSAGE=b\n"
    n = LineNormalizer()
    out = []
    for raw in stream.decode("utf-8", "surrogateescape").splitlines(keepends=True):
        out += n.normalize(raw)
    assert [l.text for l in out] == ["x" * 9, "b"]


def test_journalctl_continuation_indent_format() -> None:
    # journalctl/dmesg print the next lines of a multi-line record indented to the text column
    n = LineNormalizer()
    head = one("Nov 06 11:44:53 db1 kernel: active_anon:1 inactive_anon:2", n)
    cont = one(" " * len("Nov 06 11:44:53 db1 kernel: ") + " active_file:3", n)
    assert (cont.text, cont.host, cont.time, cont.tag) == (" active_file:3", head.host, head.time, "kernel")
    # a shorter indent is an ordinary line (corpus 001, a mail-wrapped Mem-Info)
    assert one(" active_file:9604032 inactive_file:10734626 isolated_file:0", n).host is None


# ---- plain text and edge cases ---------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "swapper: page allocation failure. order:0, mode:0x20",  # corpus 004
        " [__alloc_pages+441/862] __alloc_pages+0x1b9/0x35e",  # corpus 004
        "  cache: pgtable-2^12, object size: 32768, buffer size: 65536, default order: 4, min order: 4",  # 009
        "CPU    0: hi:    0, btch:   1 usd:   0",  # corpus 022
        "0000000000000018 ffffffff81c03e50 ffffffff81c03df8 ffffffff811d28e6",  # hex dump, digits first
        "__alloc_pages_nodemask+0x1a8a/0x1bc0",  # corpus 010 wrapped line
        "last message was lost",
        "1,2,3;not kmsg",
        "Example trace from 2.x:",  # corpus 034
    ],
)
def test_plain_text_unchanged(raw: str) -> None:
    assert one(raw + "\r\n") == LogLine(raw)


def test_noise_and_blank_lines() -> None:
    n = LineNormalizer()
    assert n.normalize("") == []
    assert n.normalize("\r\n") == []
    assert n.normalize("\n") == []
    assert n.malformed == 0


def test_nul_bytes_removed() -> None:
    line = one("\0\0\0Nov  6 11:44:53 www kernel: [69774.700393] swapper: page allocation failure.\0\n")
    assert (line.host, line.text) == ("www", "swapper: page allocation failure.")


def test_gigantic_line_is_malformed() -> None:
    n = LineNormalizer()
    assert n.normalize("[  1.0] " + "a" * MAX_LINE_CHARS) == []
    assert n.normalize("{" * (MAX_LINE_CHARS + 1)) == []
    assert n.malformed == 2


def test_deep_json_is_malformed_not_a_crash() -> None:
    n = LineNormalizer()
    assert n.normalize('{"a":' + "[" * 60000) == []
    assert n.malformed == 1


def test_backtracking_prone_input_is_fast() -> None:
    import time

    n = LineNormalizer()
    nasty = [
        "Nov  6 11:44:53 " + "a" * 60000,
        "Nov  6 11:44:53 " + "a " * 30000,
        "[ 1.0] " + "x" * 60000 + "[1]:",
        "<4>1 " + "[" * 60000,
        "6,1," + "1" * 60000,
        "2020-09-09T12:00:01 " + "h " * 30000,
        "Nov  6 11:44:53 h t: message repeated 3 times: [" + "[" * 60000,
        "> " * 30000 + "Nov  6 11:44:53 h kernel: x",
        " " * 60000 + "kernel:",
        "h " * 30000 + "kernel: [ 1.0] x",
        "Mai " + "1" * 60000,
    ]
    start = time.perf_counter()
    for raw in nasty:
        assert isinstance(n.normalize(raw), list)
    assert time.perf_counter() - start < 0.5


def test_every_corpus_line_parses() -> None:
    """Each corpus line gives one LogLine whose text is a suffix of the line; nothing malformed."""
    files = sorted(CORPUS.glob("*.log")) + sorted(MORE_CORPUS.glob("*.log"))
    assert files
    for path in files:
        n = LineNormalizer()
        for raw in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines(keepends=True):
            lines = n.normalize(raw)
            stripped = raw.rstrip("\r\n")
            if not stripped:
                assert lines == []
                continue
            if "#012" in raw:  # rsyslog-escaped multi-line record (tests/corpus 140)
                assert "".join(line.text for line in lines) in stripped.replace("#012", "")
                continue
            if raw.startswith(">") and not stripped.lstrip("> "):  # empty quoted line
                assert lines == []
                continue
            assert len(lines) == 1, (path.name, raw)
            assert stripped.endswith(lines[0].text), (path.name, raw)
            if lines[0].time is None and lines[0].tag is None and not raw.startswith(">"):
                assert lines[0].text == stripped, (path.name, raw)
        assert n.malformed == 0


# ---- fuzzing ----------------------------------------------------------------------------

_PREFIXES = st.sampled_from(
    ["", "[  1.000000] ", "[  1.0][ T1] ", "<4>", "Nov  6 11:44:53 h kernel: ", "6,1,2,-;", "{", "__CURSOR=x\n",
     "MESSAGE\n", " ", "2020-09-09T12:00:01.1+02:00 h k: ", "message repeated 2 times: [", "last message repeated 2 times"]
)


def _check(normalizer: LineNormalizer, raw: str) -> None:
    out = normalizer.normalize(raw)
    assert isinstance(out, list)
    assert all(isinstance(line, LogLine) and isinstance(line.text, str) for line in out)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_PREFIXES, st.text(max_size=80)), max_size=8))
def test_fuzz_text_never_raises(items: list[tuple[str, str]]) -> None:
    n = LineNormalizer()
    for prefix, text in items:
        _check(n, prefix + text)  # one string, possibly with newlines inside
        for line in (prefix + text).splitlines(keepends=True):  # the same, line by line
            _check(n, line)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=8))
def test_fuzz_binary_never_raises(items: list[bytes]) -> None:
    n = LineNormalizer()
    for data in items:
        _check(n, data.decode("utf-8", "surrogateescape"))
        _check(n, data.decode("utf-8", "replace"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40), st.binary(max_size=200))
def test_fuzz_export_binary_field_never_raises(length: bytes, data: bytes) -> None:
    stream = b"__CURSOR=s=1\nMESSAGE\n" + length + data + b"\n\nMESSAGE=after\n"
    n = LineNormalizer()
    for line in stream.decode("utf-8", "surrogateescape").splitlines(keepends=True):
        _check(n, line)

"""Strip transport prefixes from one raw kernel-log line.

Kernel messages reach ``minfree scan`` through dmesg, serial consoles, syslog daemons,
journald and ``/dev/kmsg``, each with its own prefix. :class:`LineNormalizer` removes every
prefix and returns the kernel message text with what the prefix told us (time, host, level,
printk caller, syslog tag). Real samples, one per shape:

Raw dmesg with printk caller ids (corpus 010, linux-mm, 5.2-next):

>>> n = LineNormalizer()
>>> n.normalize("[  656.304395][ T3409] kmemleak: Cannot allocate a kmemleak_object structure\\n")
[LogLine(text='kmemleak: Cannot allocate a kmemleak_object structure', host=None, time='656.304395', mono=656.304395, caller='T3409', level=None, tag=None, repeat=0)]

An Android vendor column after the stamp, cpu and pid (corpus 154, linux-mm, 2018):

>>> l = n.normalize("[   17.072920] c0 0       active_file:7898 inactive_file:712955 isolated_file:55")[0]
>>> l.time, l.text
('17.072920', ' active_file:7898 inactive_file:712955 isolated_file:55')

Another vendor column, cpu, comm and pid (corpus 159, linux-kernel, 2020):

>>> n.normalize("<4>[  156.701563]  [4:        kswapd0: 1209] CPU: 4 PID: 1209 Comm: kswapd0")[0].text
'CPU: 4 PID: 1209 Comm: kswapd0'

and one glued to the text after a stamp in seconds, behind a log viewer's date (linux-mm, 2016):

>>> l = n.normalize("07-13 08:41:51.346 <4>[309805.658142s][pid:1361,cpu5,sManagerService]CPU: 5 PID: 1361")[0]
>>> l.time, l.level, l.text
('309805.658142', 4, 'CPU: 5 PID: 1361')

Only the single space after the stamp is removed, so trace frames keep their indent (corpus 002):

>>> n.normalize("[69774.700434]  [<c1004f7f>] show_trace+0x12/0x14")[0].text
' [<c1004f7f>] show_trace+0x12/0x14'

journalctl short-monotonic (corpus 014, earlyoom issue 220): ``kernel:`` and other tags.

>>> line = n.normalize("[21161.092614] kernel: earlyoom: page allocation failure: order:0, mode:0x800(GFP_NOWAIT), nodemask=(null),cpuset=/,mems_allowed=0")[0]
>>> line.tag, line.mono, line.text[:38]
('kernel', 21161.092614, 'earlyoom: page allocation failure: ord')
>>> n.normalize("[21160.626351] earlyoom[84786]: low memory! at or below SIGTERM limits: mem  4.00%, swap 10.00%")[0].tag
'earlyoom'

``dmesg -r`` on this machine (Linux 6.18): the PRI gives the level; ``[Firmware Bug]`` is text.

>>> n.normalize("<4>[    0.000000] [Firmware Bug]: TSC doesn't count with P0 frequency!")
[LogLine(text="[Firmware Bug]: TSC doesn't count with P0 frequency!", host=None, time='0.000000', mono=0.0, caller=None, level=4, tag=None, repeat=0)]

``dmesg -T`` and ``dmesg --time-format iso`` on this machine:

>>> n.normalize("[Wed Nov 25 22:49:21 2026] Linux version 6.18.44-fc-v669")[0].time
'Wed Nov 25 22:49:21 2026'
>>> n.normalize("2026-11-25T22:49:21,000000+00:00 Linux version 6.18.44-fc-v669")[0].time
'2026-11-25T22:49:21,000000+00:00'

``/dev/kmsg`` on this machine (``cat /dev/kmsg``): level is the first number & 7, the third
field is microseconds since boot.

>>> n.normalize("6,17,62,-;tsc: Detected 2596.126 MHz processor")
[LogLine(text='tsc: Detected 2596.126 MHz processor', host=None, time='0.000062', mono=6.2e-05, caller=None, level=6, tag=None, repeat=0)]

Syslog, built from the rsyslog file format around the 2.6.18 kernel text of corpus 002; the
``#012`` escape (an embedded newline) splits one record into two kernel lines:

>>> [(l.host, l.time, l.mono, l.text) for l in n.normalize(
...     "Nov  6 11:44:53 www kernel: [69774.700393] Mem-Info:#012DMA per-cpu:")]
[('www', 'Nov  6 11:44:53', 69774.700393, 'Mem-Info:'), ('www', 'Nov  6 11:44:53', 69774.700393, 'DMA per-cpu:')]

Lines without any prefix come back unchanged (corpus 022, a GitHub issue with no stamps):

>>> n.normalize(" [<ffffffff8112457c>] warn_alloc_failed+0xec/0x140")[0].text
' [<ffffffff8112457c>] warn_alloc_failed+0xec/0x140'
"""
from __future__ import annotations

import json
import re

from minfree.model.record import record

MAX_LINE_CHARS = 64 * 1024  # longer lines are counted as malformed and never parsed
_MAX_BINARY_FIELD = 16 * MAX_LINE_CHARS  # journald export binary field size we accept


@record(frozen=False)
class LogLine:
    """One kernel (or other program's) message line with its prefix decoded."""

    text: str  # message text, prefixes removed, trailing \r\n removed
    host: str | None = None  # syslog/journald host
    time: str | None = None  # the stamp as printed: "659.105948", "Nov  6 11:44:53", ...;
    # /dev/kmsg µs are shown as dmesg prints them ("5.140900"), journald gives its
    # __REALTIME_TIMESTAMP (µs since the epoch) as printed
    mono: float | None = None  # monotonic seconds when known
    caller: str | None = None  # printk caller id "T3124" / "C2"
    level: int | None = None  # 0..7 when known
    tag: str | None = None  # syslog program tag ("kernel", "earlyoom"); None when no tag
    repeat: int = 0  # >0 for "last message repeated N times"


# Console/dmesg stamps. printk prints "[%5lu.%06lu]" then, with CONFIG_PRINTK_CALLER (5.1+),
# "[%6s]" holding "T<pid>"/"C<cpu>", then one space; "<%u>" comes first when the syslog
# prefix is asked for (dmesg -r, consoles) (kernel/printk/printk.c info_print_prefix,
# 5.10-6.18). util-linux dmesg puts a space between the two ("[  1.0] [  T1] text");
# dmesg -T prints "[%a %b %e %H:%M:%S %Y]". All alternatives are fixed-shape.
_BRACKET = re.compile(
    r"\[(?: *(\d{1,12}\.\d{1,9})s?"
    r"|((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4})"
    r"| *([TC]\d{1,10}))\]"
    r"(?: ?\[ *([TC]\d{1,10})\])?"
    # Android vendor trees print "c<cpu> <pid, left-justified in 6>" after the stamp
    # ("[   17.072747] c0 0      text", corpus 154); fixed width, so kernel indentation survives
    r"(?: c\d{1,4} (?:\d{6}|\d{5} |\d{4} {2}|\d{3} {3}|\d{2} {4}|\d {5})"
    # or " [<cpu>:<comm right-justified in 15>:<pid in 5>]" (Samsung trees, corpus 159:
    # "[ 6207.637280]  [3:  Binder:9343_3:22875] text"); the comm is TASK_COMM_LEN - 1 wide
    r"|  \[\d{1,4}:.{15}: {0,4}\d{1,7}\]"
    # or, glued to the text, "[pid:<pid>,cpu<cpu>,<comm>]" after a stamp with an "s" suffix
    # (HiSilicon trees, linux-mm 2016: "<4>[309805.658142s][pid:1361,cpu5,sManagerService]")
    r"|\[pid:\d{1,7},cpu\d{1,4},[^\]]{0,16}\])? ?"
)
# "07-13 08:41:51.341 " (month-day, milliseconds) before a "<level>[stamp]" kernel line.
_LOGCAT_TIME = re.compile(r"\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (?=[<\[])")
# After a bare dmesg stamp only these prove a journal/syslog tag: "[mono] [host ]kernel: ",
# "[mono] [host ]name[pid]: " (journalctl -o short-monotonic). "Workqueue: x" or "perf: ..."
# are kernel text, so a tag without [pid] other than "kernel" is never taken here.
_TAG_HOST, _TAG_NAME = r"[\w.-]{1,255}", r"[\w.@/-]{1,255}"
_TAG_AFTER_STAMP = rf"(?:({_TAG_HOST}) )?(?:(kernel)|({_TAG_NAME})\[\d{{1,10}}\]):(?: |$)"
_STAMP_TAG = re.compile(_TAG_AFTER_STAMP)
#: The tag of a /dev/kmsg record a user-space process wrote without a "name[pid]:" of its own.
USER_TAG = "user"
_STAMPED_LINE = re.compile(_BRACKET.pattern + "(?:" + _TAG_AFTER_STAMP + ")?")
# A run of console lines of which _console() makes "[stamp] text" and nothing more (no caller,
# tag or vendor column): a "[%5lu.%06lu] " stamp, then text that _STAMPED_LINE cannot take any
# further (not "[", "c<digit>", " [<digit>", a tag), ASCII without CR or NUL, < 4 KiB. One match
# finds the run in the raw bytes; each line's fields come from one findall over its text. The
# tags are _TAG_AFTER_STAMP's as two alternatives, without groups: no optional group to backtrack
# into (a run's match 0.6 -> 0.4 us a line).
_TAG_AHEAD = rf"(?:kernel|{_TAG_NAME}\[\d{{1,10}}\]):(?: |\n)"
_PLAIN_CONSOLE = (rb"\[ *\d{1,12}\.\d{6}\] (?!\[|c\d| \[\d|" + f"{_TAG_HOST} {_TAG_AHEAD}|{_TAG_AHEAD}".encode()
                  + rb")[\x01-\x09\x0b\x0c\x0e-\x7f]{0,4000}\n")
_PLAIN_CONSOLE_RUN = re.compile(rb"(?:" + _PLAIN_CONSOLE + rb"){1,16}")
_PLAIN_CONSOLE_FIELDS = re.compile(r"(\[ *(\d{1,12}\.\d{6})\] )([^\n]*)\n")
# BSD syslog / journalctl short(-precise) timestamp. The day is space-padded ("Nov  6"),
# zero-padded (journalctl "Nov 06") or not padded ("Sep 4", some syslog daemons); the month
# is any three letters: journalctl prints it in the locale ("Mai 18 21:40:47", de_DE).
_BSD_TIME_P = r"([^\W\d_]{3} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,9})?) "
# ISO 8601 syslog stamps: rsyslog RFC3339 ("." fraction), journalctl short-iso ("+0200").
_ISO_TIME_P = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) "
# "[host ]tag[pid]: " after a syslog timestamp. Host and tag exclude ":" so that
# "kernel: Node 0 DMA: ..." is tag "kernel", not host "kernel:".
_SYSLOG_TAG_P = r"(?:([^\s:\[\]]{1,255}) )?([^\s:\[\]]{1,255})(?:\[\d{0,10}\])?:(?: |$)"
_BSD_LINE = re.compile(_BSD_TIME_P + _SYSLOG_TAG_P)
_ISO_LINE = re.compile(_ISO_TIME_P + _SYSLOG_TAG_P)
_SYSLOG_TIME_HOST = re.compile(r"(?:" + _BSD_TIME_P + "|" + _ISO_TIME_P + r")(?:([^\s:\[\]]{1,255}) )?")
# dmesg --time-format iso: "," before the microseconds, the kernel text follows.
_DMESG_ISO = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{6}(?:Z|[+-]\d\d:?\d\d)) ")
# RFC 5424 after "<PRI>": VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD.
_RFC5424 = re.compile(r"1 (\S{1,64}) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) (?:-|(?:\[[^\]]*\])+) ?")
# /dev/kmsg: "%u,%llu,%llu,%c%s;" = prefix, seq, usec, flag, optional ",caller=T12"
# (kernel/printk/printk.c info_print_ext_header, 5.10-6.18; flag "-" or "c", also "+" in the
# 3.x devkmsg_read; vendor trees add more ",key=value").
_KMSG = re.compile(r"(\d{1,4}),\d{1,20},(\d{1,20}),[-c+]((?:,[^;]{0,200})?);")
_KMSG_CALLER = re.compile(r",caller=([TC][^,;]{1,24})")
# /dev/kmsg escapes bytes < 0x20, >= 0x7f and "\" as "\xHH" (msg_add_ext_text, 5.10-6.18).
_KMSG_ESCAPE = re.compile(r"\\x([0-9a-f]{2})")
# dmesg -x: "%-6s:%-6s: " facility and level names (util-linux dmesg).
_DMESG_X = re.compile(
    r"(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|res[0-3]|local[0-7]) *:"
    r"(emerg|alert|crit|err|warn|notice|info|debug) *: "
)
_LEVEL_NAMES = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warn": 4, "notice": 5, "info": 6, "debug": 7}
_PRI = re.compile(r"<(\d{1,3})>")
_CODE_BYTES = re.compile(r" [0-9a-f]{2}(?: |$)")  # "<41> 5f 5d c3": an oops Code: line, not a PRI
_LAST_REPEATED = re.compile(r"(?:--- )?last message repeated (\d{1,10}) times?(?: ---)?$")
_RSYSLOG_REPEATED = re.compile(r"message repeated (\d{1,10}) times: \[")
_EXPORT_FIELD = re.compile(r"([A-Z_][A-Z0-9_]{0,63})(=?)")
_EXPORT_RECORD_START = ("__CURSOR=", "__REALTIME_TIMESTAMP=", "__MONOTONIC_TIMESTAMP=", "__SEQNUM=")
_KMSG_DICT = re.compile(r" [A-Z_][A-Z0-9_]{0,63}=")
# A syslog line with its time and host cut off (quoted in mails and web pages): "kernel: text",
# also indented; "host kernel: " only when a dmesg stamp follows ("eeepc kernel: [ 1495.4] x").
_BARE_KERNEL = re.compile(r"[ \t]*(?:([^\s:\[\]]{1,255}) (?=kernel: \[ *\d))?kernel:(?: |$)")
# What a paste puts before the transport prefix, as a grammar: line = quote* decoration?
# prefix? text. Mail quote markers (">", ">>", "> > ", ">" + TAB) are never kernel text and are
# always removed (corpus 144, 145, 147). Indentation or a backtick that opens inline code is
# removed only when a transport prefix follows it (a stamp, a syslog time, a PRI, a /dev/kmsg
# header, corpus 146); otherwise the indentation is the kernel's own (trace frames).
_QUOTE = re.compile(r">(?:[ \t]?>)*[ \t]?")
_DECORATION = re.compile(r"[ \t`]{1,64}")
_PREFIX_START = re.compile(
    r"\[ *\d{1,12}\.\d|\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) |<\d{1,3}>|\d{1,4},\d{1,20},\d{1,20},"
    r"|[^\W\d_]{3} {1,2}\d{1,2} \d\d:\d\d:\d\d |\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
)


class LineNormalizer:
    """Stateful per input source (journald export records, rsyslog repeat).

    Feed every line of one source, in order, to :meth:`normalize`. State carried between
    lines: the current journald export record (``__CURSOR=`` ... blank line), whether the
    source is ``/dev/kmsg`` (its `` KEY=value`` dictionary lines are dropped), the last
    message (``last message repeated N times`` takes its text, tag and level), the width
    of the last prefix (dmesg and journalctl indent the continuation lines of a multi-line
    record by exactly that width; such lines inherit the record's prefix).

    journald export: a ``MESSAGE=`` line is returned at once with the fields seen so far in
    its record; ``_HOSTNAME`` and ``_SOURCE_MONOTONIC_TIMESTAMP`` arriving later in the same
    record are filled into the already returned :class:`LogLine` objects.
    """

    __slots__ = (
        "malformed",
        "_export",
        "_record",
        "_record_lines",
        "_bin_field",
        "_bin_header",
        "_bin_left",
        "_bin_data",
        "_bin_eat_empty",
        "_kmsg",
        "_last",
        "_indent",
        "_indent_ctx",
    )

    def __init__(self) -> None:
        self.malformed = 0
        self._export = False
        self._record: dict[str, str] = {}
        self._record_lines: list[LogLine] = []
        self._bin_field = ""  # name of the binary export field being read, "" when none
        self._bin_header = b""
        self._bin_left = 0
        self._bin_data = bytearray()
        self._bin_eat_empty = False
        self._kmsg = False
        self._last: LogLine | None = None
        self._indent = 0  # prefix width of the last stamped line, 0 when none
        self._indent_ctx: LogLine | None = None

    @property
    def in_export(self) -> bool:
        """Inside a journal export record: the lines to come are its fields, not console lines."""
        return self._export or bool(self._bin_field)

    def normalize(self, raw: str) -> list[LogLine]:
        """Return the kernel lines in ``raw`` ([] for noise and malformed lines); never raises."""
        if len(raw) > MAX_LINE_CHARS:
            self.malformed += 1
            self._indent = 0
            self._bin_field = ""
            return []
        try:
            if self._bin_field:
                return self._binary_field_line(raw)
            if raw[:1] == "[" and not self._export and "\0" not in raw:
                out = self._console(raw)
            else:
                out = self._normalize(raw)
        except (ValueError, TypeError, OverflowError, RecursionError, UnicodeError):
            # Input-dependent conversions (json, int, bytes) report bad input this way.
            self.malformed += 1
            return []
        if out:
            self._last = out[-1]
        return out

    def console_run(self, data: bytes, start: int, end: int) -> tuple[list[tuple[str, str, str]], int]:
        """The plain console lines that begin ``data[start:end]`` (whole lines, at most 16: the
        scanner stops a few lines after a report, and lines read past that are wasted) as
        (prefix, stamp, text), each to be read with :meth:`console_lines`, and the offset after
        them; ([], start) when none does or while a journal export is being read
        (tests/logs/test_fast_paths.py)."""
        if self._bin_field or self._export:
            return [], start
        run = _PLAIN_CONSOLE_RUN.match(data, start, end)
        if run is None:
            return [], start
        return _PLAIN_CONSOLE_FIELDS.findall(run.group().decode("ascii")), run.end()

    def console_lines(self, run: list[tuple[str, str, str]]) -> list[LogLine]:
        """What :meth:`normalize` returns for each line of a :meth:`console_run`, and the state
        the last one leaves (:meth:`console_read` when fewer are read)."""
        lines = [LogLine(text, None, stamp, float(stamp)) for _, stamp, text in run]
        self._indent, self._indent_ctx, self._last = len(run[-1][0]), lines[-1], lines[-1]
        return lines

    def console_read(self, run: list[tuple[str, str, str]], lines: list[LogLine], count: int) -> int:
        """Only the first ``count`` of the :meth:`console_lines` of ``run`` were read: the state
        they leave. Returns their length in bytes."""
        self._indent, self._indent_ctx, self._last = len(run[count - 1][0]), lines[count - 1], lines[count - 1]
        return sum(len(prefix) + len(text) + 1 for prefix, _, text in run[:count])

    # ---- dispatch -------------------------------------------------------------------

    def _console(self, raw: str) -> list[LogLine]:
        """A console or dmesg line (``[`` first, no NUL, outside a journal export): what
        :meth:`_normalize` does with it, without its dispatch (tests/logs/test_fast_paths.py)."""
        self._indent = 0
        return self._stamped(raw.rstrip("\r\n"), None)

    def _normalize(self, raw: str) -> list[LogLine]:
        line = raw.rstrip("\r\n")
        if "\0" in line:  # NUL runs: syslog files preallocated/truncated by a crash
            line = line.replace("\0", "")
        if not line:
            if self._export:
                if self._bin_eat_empty:
                    self._bin_eat_empty = False
                else:
                    self._end_record()
            return []
        first = line[0]
        if self._export or (first == "_" and line.startswith(_EXPORT_RECORD_START)):
            out = self._export_line(line)
            if out is not None:
                return out
        if first == " ":
            width = self._indent
            if width and self._indent_ctx is not None and len(line) > width and line[:width].isspace():
                return [self._continuation(self._indent_ctx, line[width:])]
            if (self._kmsg or line.startswith((" SUBSYSTEM=", " DEVICE="))) and _KMSG_DICT.match(line):
                return []
        self._indent = 0
        if first in " \t`":
            decoration = _DECORATION.match(line)
            if decoration and _PREFIX_START.match(line, decoration.end()):
                end = len(line) - 1 if "`" in decoration.group() and line.endswith("`") else len(line)
                return self._normalize(line[decoration.end() : end])   # `...` inline code: both ticks
        if first == "[":
            return self._stamped(line, None)
        if first == "<":
            return self._pri(line)
        if first == "{":
            return self._json(line)
        if "0" <= first <= "9":
            return self._numeric(line)
        if line[3:4] == " " and line[:3].isalpha():
            syslog = self._syslog(line, None)
            if syslog is not None:
                return syslog
        if first == ">":
            return self._quoted_line(line)
        if first == "l":
            repeated = _LAST_REPEATED.match(line)
            if repeated:
                return [self._repeat_of_last(int(repeated.group(1)), None, None, None)]
        if "a" <= first <= "u":
            dmesg_x = _DMESG_X.match(line)
            if dmesg_x:
                end = dmesg_x.end()
                return self._stamped(line[end:], _LEVEL_NAMES[dmesg_x.group(1)], end)
        if "kernel:" in line:
            bare = _BARE_KERNEL.match(line)
            if bare:
                return self._syslog_message(line[bare.end() :], bare.group(1), None, None, "kernel")
        return [LogLine(line)]

    def _quoted_line(self, line: str) -> list[LogLine]:
        """A mail-quoted line: the quote markers go, the rest is read as any other line."""
        quote = _QUOTE.match(line)
        rest = line[quote.end() :] if quote else line
        return self._normalize(rest) if rest else []

    # ---- console / dmesg ------------------------------------------------------------

    def _stamped(self, line: str, level: int | None, offset: int = 0) -> list[LogLine]:
        """``[mono][caller] text``, ``[date] text``, ``[caller] text`` or plain text.

        ``offset``: width of a prefix already removed from ``line`` (PRI, dmesg -x).
        """
        match = _STAMPED_LINE.match(line) if line[:1] == "[" else None
        if match is None:
            return [LogLine(line, None, None, None, None, level)]
        mono_text, date, caller, caller2, host, kernel_tag, other_tag = match.groups()
        end = match.end()
        out = LogLine(
            line[end:],
            host,
            mono_text or date,
            float(mono_text) if mono_text else None,
            caller or caller2,
            level,
            kernel_tag or other_tag,
        )
        self._indent = offset + end
        self._indent_ctx = out
        return [out]

    def _pri(self, line: str) -> list[LogLine]:
        """``<4>text``, ``<4>[  1.0] text`` (dmesg -r, console), ``<4>Nov  6 ...``, RFC 5424."""
        match = _PRI.match(line)
        if match is None:
            return [LogLine(line)]
        rest = line[match.end() :]
        pri = int(match.group(1))
        if pri > 191 or _CODE_BYTES.match(rest):  # facility 0..23; "<41> 5f 5d c3" is Code:
            return [LogLine(line)]
        level = pri & 7
        if (rest[3:4] == " " and rest[:3].isalpha()) or rest[:1].isdigit():
            syslog = self._syslog(rest, level)
            if syslog is not None:
                return syslog
        if rest[:2] == "1 ":
            rfc5424 = _RFC5424.match(rest)
            if rfc5424:
                time, host, app = rfc5424.group(1, 2, 3)
                msg = rest[rfc5424.end() :].removeprefix("\ufeff")
                return self._syslog_message(msg, _nil(host), time, level, _nil(app))
        return self._stamped(rest, level, match.end())

    def _numeric(self, line: str) -> list[LogLine]:
        """``/dev/kmsg`` records and ISO-stamped lines; anything else is text."""
        kmsg = _KMSG.match(line)
        if kmsg:
            return self._kmsg_record(line, kmsg)
        logcat = _LOGCAT_TIME.match(line)
        if logcat:
            # an Android log viewer's "MM-DD hh:mm:ss.mmm " before the kernel's own prefix
            return self._normalize(line[logcat.end():])
        return self._syslog(line, None) or [LogLine(line)]

    def _kmsg_record(self, line: str, match: re.Match[str]) -> list[LogLine]:
        self._kmsg = True
        prefix, usec, extra = match.groups()
        level = int(prefix) & 7
        facility = int(prefix) >> 3
        caller_match = _KMSG_CALLER.search(extra) if extra else None
        caller = caller_match.group(1) if caller_match else None
        usec_int = int(usec)
        time = f"{usec_int // 1_000_000}.{usec_int % 1_000_000:06d}"
        text = line[match.end() :]
        if "\\x" in text:
            text = _kmsg_unescape(text)
        tag = None
        if facility:
            # Written by a user-space process, never by the kernel: devkmsg_write() gives every
            # write a facility other than LOG_KERN (kernel/printk/printk.c, 3.5-6.18). Tagged
            # as what wrote it ("systemd[1]: ..."), else "user": not kernel text either way.
            tagged = _STAMP_TAG.match(text)
            tag = USER_TAG
            if tagged:
                tag = tagged.group(2) or tagged.group(3)
                text = text[tagged.end() :]
        base = LogLine(text, None, time, usec_int / 1_000_000, caller, level, tag)
        return _split_lines(base) if "\n" in text else [base]

    # ---- syslog ---------------------------------------------------------------------

    def _syslog(self, line: str, level: int | None) -> list[LogLine] | None:
        """A syslog/journal line (BSD or ISO time, ``[host ]tag[pid]: msg``) or dmesg iso.

        None when ``line`` starts with no such timestamp.
        """
        bsd = line[0] > "9"
        match = (_BSD_LINE if bsd else _ISO_LINE).match(line)
        if match:
            time, host, tag = match.groups()
            msg = line[match.end() :]
            out = self._syslog_message(msg, host, time, level, tag)
            if len(out) == 1 and not out[0].repeat:
                self._indent = len(line) - len(out[0].text)
                self._indent_ctx = out[0]
            return out
        dmesg_iso = None if bsd else _DMESG_ISO.match(line)
        if dmesg_iso:
            rest = line[dmesg_iso.end() :]
            caller = _BRACKET.match(rest) if rest[:1] == "[" else None
            if caller and caller.group(3):
                return [LogLine(rest[caller.end() :], None, dmesg_iso.group(1), None, caller.group(3), level)]
            return [LogLine(rest, None, dmesg_iso.group(1), None, None, level)]
        untagged = _SYSLOG_TIME_HOST.match(line)
        if untagged is None:
            return None
        bsd_time, iso_time, host = untagged.groups()
        time = bsd_time or iso_time
        msg = line[untagged.end() :]
        repeated = _LAST_REPEATED.match(msg)
        if repeated:
            return [self._repeat_of_last(int(repeated.group(1)), host, time, level)]
        return [LogLine(msg, host, time, None, None, level)]

    def _syslog_message(
        self, msg: str, host: str | None, time: str | None, level: int | None, tag: str | None
    ) -> list[LogLine]:
        """The message part of a syslog line: repeats, inner dmesg stamp, rsyslog escapes."""
        repeat = 0
        first_char = msg[:1]
        if first_char == "m":
            repeated = _RSYSLOG_REPEATED.match(msg)
            if repeated and msg.endswith("]"):
                repeat = int(repeated.group(1))
                msg = msg[repeated.end() : -1].removeprefix(" ")
        elif first_char == "l":
            last = _LAST_REPEATED.match(msg)
            if last:
                return [self._repeat_of_last(int(last.group(1)), host, time, level)]
        mono = caller = None
        if msg[:1] == "[":
            stamp = _BRACKET.match(msg)
            if stamp and not stamp.group(2):
                mono_text, _, caller1, caller2 = stamp.groups()
                mono = float(mono_text) if mono_text else None
                caller = caller1 or caller2
                msg = msg[stamp.end() :]
        if "#01" not in msg:
            return [LogLine(msg, host, time, mono, caller, level, tag, repeat)]
        # rsyslog escapes control characters as "#" + 3 octal digits: #012 = "\n", #011 = "\t"
        parts = msg.replace("#011", "\t").split("#012")
        return [LogLine(part, host, time, mono, caller, level, tag, repeat) for part in parts]

    def _repeat_of_last(self, count: int, host: str | None, time: str | None, level: int | None) -> LogLine:
        last = self._last
        if last is None:
            return LogLine("", host, time, None, None, level, None, count)
        return LogLine(
            last.text,
            host or last.host,
            time or last.time,
            None,
            last.caller,
            level if level is not None else last.level,
            last.tag,
            count,
        )

    # ---- journald -------------------------------------------------------------------

    def _json(self, line: str) -> list[LogLine]:
        """``journalctl -o json``: one object per line."""
        try:
            entry = json.loads(line)
        except ValueError:
            self.malformed += 1
            return []
        if not isinstance(entry, dict):
            self.malformed += 1
            return []
        message = entry.get("MESSAGE")
        if isinstance(message, list):  # non-UTF-8 or binary: array of byte values
            message = bytes(message).decode("utf-8", "surrogateescape")
        if not isinstance(message, str):  # null: field > 4096 bytes without journalctl --all
            self.malformed += 1
            return []
        tag = _json_str(entry.get("SYSLOG_IDENTIFIER"))
        if tag is None and entry.get("_TRANSPORT") == "kernel":
            tag = "kernel"
        base = LogLine(
            message,
            _json_str(entry.get("_HOSTNAME")),
            _json_str(entry.get("__REALTIME_TIMESTAMP")),
            _usec(_json_str(entry.get("_SOURCE_MONOTONIC_TIMESTAMP"))),
            None,
            _level(_json_str(entry.get("PRIORITY"))),
            tag,
        )
        return _split_lines(base) if "\n" in message else [base]

    def _export_line(self, line: str) -> list[LogLine] | None:
        """``journalctl -o export`` field line; None when the line is not one."""
        field = _EXPORT_FIELD.match(line)
        if field is None or (not field.group(2) and field.end() != len(line)):
            self._end_record()
            self._export = False
            return None
        self._export = True
        name = field.group(1)
        if not field.group(2):  # binary field: name, then 64-bit LE length, data, "\n"
            self._bin_field = name
            self._bin_header = b""
            self._bin_data = bytearray()
            return []
        value = line[field.end() :]
        if name == "MESSAGE":
            return self._export_message(value)
        self._record_field(name, value)
        return []

    def _record_field(self, name: str, value: str) -> None:
        if name == "__CURSOR":
            self._end_record()
        self._record[name] = value
        if name == "_HOSTNAME":
            for line in self._record_lines:
                line.host = value
        elif name == "_SOURCE_MONOTONIC_TIMESTAMP":
            mono = _usec(value)
            for line in self._record_lines:
                line.mono = mono
        elif name == "__REALTIME_TIMESTAMP":
            for line in self._record_lines:
                line.time = value

    def _export_message(self, message: str) -> list[LogLine]:
        record = self._record
        tag = record.get("SYSLOG_IDENTIFIER")
        if tag is None and record.get("_TRANSPORT") == "kernel":
            tag = "kernel"
        base = LogLine(
            message,
            record.get("_HOSTNAME"),
            record.get("__REALTIME_TIMESTAMP"),
            _usec(record.get("_SOURCE_MONOTONIC_TIMESTAMP")),
            None,
            _level(record.get("PRIORITY")),
            tag,
        )
        out = _split_lines(base) if "\n" in message else [base]
        self._record_lines.extend(out)
        return out

    def _binary_field_line(self, raw: str) -> list[LogLine]:
        """One physical line of a binary export field; the data may span several lines."""
        data = raw.removesuffix("\n").encode("utf-8", "surrogateescape")
        if len(self._bin_header) < 8:
            need = 8 - len(self._bin_header)
            self._bin_header += data[:need]
            data = data[need:]
            if len(self._bin_header) < 8:  # a 0x0a byte of the length split the line
                self._bin_header += b"\n"
                return []
            self._bin_left = int.from_bytes(self._bin_header, "little")
            if self._bin_left > _MAX_BINARY_FIELD:
                self._bin_field = ""
                self.malformed += 1
                return []
        chunk = data[: self._bin_left]
        self._bin_data += chunk
        self._bin_left -= len(chunk)
        if self._bin_left > 0:  # the line break belongs to the data
            self._bin_data += b"\n"
            self._bin_left -= 1
            if self._bin_left > 0:
                return []
            self._bin_eat_empty = True  # data ended with "\n": its terminator comes next
        name, self._bin_field = self._bin_field, ""
        value = self._bin_data.decode("utf-8", "surrogateescape")
        if name == "MESSAGE":
            out = self._export_message(value.removesuffix("\n"))
            if out:
                self._last = out[-1]
            return out
        self._record_field(name, value)
        return []

    def _end_record(self) -> None:
        self._record = {}
        self._record_lines = []

    # ---- shared ---------------------------------------------------------------------

    @staticmethod
    def _continuation(ctx: LogLine, text: str) -> LogLine:
        return LogLine(text, ctx.host, ctx.time, ctx.mono, ctx.caller, ctx.level, ctx.tag)


def _split_lines(base: LogLine) -> list[LogLine]:
    """One LogLine per embedded newline; later lines inherit the prefix of the first."""
    parts = base.text.removesuffix("\n").split("\n")
    base.text = parts[0]
    out = [base]
    out.extend(
        LogLine(part, base.host, base.time, base.mono, base.caller, base.level, base.tag, base.repeat)
        for part in parts[1:]
    )
    return out


def _kmsg_unescape(text: str) -> str:
    raw = bytearray()
    pos = 0
    for match in _KMSG_ESCAPE.finditer(text):
        raw += text[pos : match.start()].encode("utf-8", "surrogateescape")
        raw.append(int(match.group(1), 16))
        pos = match.end()
    raw += text[pos:].encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "surrogateescape")


def _nil(value: str) -> str | None:
    """RFC 5424 NILVALUE "-" means absent."""
    return None if value == "-" else value


def _json_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _usec(value: str | None) -> float | None:
    return int(value) / 1_000_000 if value and value.isascii() and value.isdigit() and len(value) < 20 else None


def _level(value: str | None) -> int | None:
    return int(value) if value and len(value) == 1 and "0" <= value <= "7" else None

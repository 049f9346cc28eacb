"""The fast paths of the line pipeline give exactly what the general paths give (issue 10):
over every line of every corpus log, the captures of real failing kernels and generated logs
in every format. A fast path that drops or alters one line or event is a defect.

* :meth:`LineNormalizer.normalize` takes a console line (``[``) straight to the stamp parser
  (``_console``); the general dispatch (``_normalize``) must return the same lines and leave
  the same state;
* :func:`memdump._classify` names a line that starts with ``Node`` or a zone name by one regex;
  the prefix, node and zone tests it replaced are the oracle;
* :func:`memdump._buddy_entries` reads the orders of a buddy line by a pattern made once per
  shape of orders (else in one validating regex pass and a findall); the token by token reading
  below (the code the regex passes replaced) is the oracle;
* :func:`memdump._kb_fields` takes the kB fields of a zone or node line by a pattern made once
  per shape of line (else validated, token by token); the findall it replaced is the oracle;
* the shape maps of both (:class:`memdump._ShapeReaders`) stay bounded on ever-new shapes, and
  a dump read with readers made early, in maps small enough to drop counts, equals the dump
  read with none;
* :meth:`LogScanner._feed` reads runs of plain console lines (:meth:`LineNormalizer.console_run`)
  without decoding each line or the normalizer's dispatch, pushes them with
  :meth:`Joiner.push_stamped` and asks ``_idle_after`` only when no report is open (the
  assembler's ``open_reports`` is empty); feeding every line through ``feed_line`` is the
  oracle, for every logical line the assembler is given, where each region ends and the state
  it leaves, and what comes out;
* :func:`trace._line_facts` tells a line's trace kind and what ``parse_trace`` takes from it in
  one memoised pass, asked by :func:`trace._facts` without a leading ``[<address>]``; the two
  functions it replaced, given the line as it is, are the oracle;
* :meth:`JsonStream.prepare` joins an event's last members from pieces; ``json.dumps`` of
  :func:`event_to_json` is the oracle;
* :func:`origin.origin_and_reclaim` is memoised: it must equal ``classify`` and ``in_reclaim``;
* :func:`memdump._parse_reserve` no longer tests its numbers: every reserve line the builder
  keeps holds only numbers.
"""
from __future__ import annotations

import importlib.util
import io
import json
import random
import re
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest

from minfree.analysis.explain import event_kernel, explain_event
from minfree.analysis.origin import classify, in_reclaim, origin_and_reclaim
from minfree.logs import memdump, prefix, trace
from minfree.logs.prefix import LineNormalizer
from minfree.logs.scanner import LogScanner
from minfree.render.scan_json import JsonStream, event_to_json

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parents[1] / "shared"
_GEN = importlib.util.spec_from_file_location("gen_log", ROOT.parent / "bench" / "gen_log.py")
gen_log = sys.modules.setdefault("gen_log", importlib.util.module_from_spec(_GEN))
if not hasattr(gen_log, "generate"):
    _GEN.loader.exec_module(gen_log)

#: Without ../shared (a fresh clone alone) the corpus and kernel-failures logs are missing: the
#: repository's own corpus and the generated logs still run every path, fewer times.
SHARED_LOGS = (SHARED / "corpus").exists()
LOGS = sorted([*(SHARED / "corpus" / "logs").glob("*"), *(ROOT / "corpus" / "logs").glob("*"),
               *(SHARED / "kernel-failures").glob("*/dmesg.txt"), *(SHARED / "kernel-failures").glob("*/kmsg.txt")])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A 1 MiB log with 20 full reports of every era, in each format."""
    out = tmp_path_factory.mktemp("gen")
    paths = []
    for fmt in gen_log.FORMATS:
        path = out / f"{fmt}.log"
        gen_log.generate(path, 1 << 20, 20, fmt, seed=3)
        paths.append(path)
    return paths


def every_log(generated: list[Path]) -> list[Path]:
    assert len(LOGS) >= 40 or not SHARED_LOGS
    return [*LOGS, *generated]


def lines_of(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8", "replace").splitlines(keepends=True)


def kernel_texts(generated: list[Path]) -> list[str]:
    """The text of every kernel line of every log, prefixes removed, in order."""
    texts = []
    for path in every_log(generated):
        normalizer = LineNormalizer()
        for raw in lines_of(path):
            texts.extend(line.text for line in normalizer.normalize(raw))
    return texts


class GeneralNormalizer(LineNormalizer):
    """:class:`LineNormalizer` without its console-line fast path."""

    def _console(self, raw: str) -> list:
        return self._normalize(raw)


def state(normalizer: LineNormalizer) -> tuple:
    return tuple(getattr(normalizer, name) for name in LineNormalizer.__slots__)


def test_console_lines_normalize_as_the_general_dispatch_does(generated: list[Path]) -> None:
    fast_taken = 0
    for path in every_log(generated):
        for ending in ("\n", "\r\n"):   # and as a CRLF file would give them
            fast, general = LineNormalizer(), GeneralNormalizer()
            for number, raw in enumerate(lines_of(path), 1):
                raw = raw.replace("\n", ending)
                fast_taken += raw.startswith("[")
                assert fast.normalize(raw) == general.normalize(raw), (path.name, number)
                assert state(fast) == state(general), (path.name, number)
    assert fast_taken > 10_000


def entries_by_tokens(orders: str):
    """The orders of a buddy line read one token at a time (the reading the regex replaced)."""
    entries: list[tuple[int, int, str]] = []
    for token in orders.split():
        entry = re.fullmatch(r"(\d{1,20})\*(\d{1,20})kB", token)
        if entry is not None:
            entries.append((int(entry.group(1)), int(entry.group(2)), ""))
            continue
        letters = re.fullmatch(r"\(([A-Z]*)\)", token)
        if letters is None or not entries or entries[-1][2]:
            return None
        entries[-1] = (entries[-1][0], entries[-1][1], letters.group(1))
    return entries


def test_buddy_orders_parse_as_token_by_token(generated: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    orders = []
    for text in kernel_texts(generated):
        match = memdump._BUDDY_LINE.fullmatch(text.strip())
        if match is not None and "kB" in match.group(3):
            orders.append(match.group(3).partition("=")[0])
    assert len(orders) > 100
    # and pieces recombined: letters, "()", stray tokens, other whitespace
    tokens = ["1*4kB", "0*8kB", "2*16kB", "(U)", "(UME)", "()", "(H)", "x", "1*4kB(U)", "(u)", "empty", "\u0661*4kB"]
    rng = random.Random(5)
    for _ in range(20_000):
        parts = [rng.choice(tokens) + rng.choice([" ", "  ", "\t", "", "\x1c"]) for _ in range(rng.randint(0, 7))]
        orders.append(" " + "".join(parts))
    # _buddy_entries reads orders by the pattern of their shape without digits and capitals,
    # made from the first orders of that shape (memdump._orders_reader): each again with other
    # digits and letters, or one more digit or capital anywhere
    runs, capitals = ["", "0", "7", "12", "9" * 20, "9" * 21, "\u0661"], ["", "U", "UME", "B", "\u00c9"]
    for text in orders[:]:
        orders.append(re.sub(r"[A-Z]+", lambda _: rng.choice(capitals), re.sub(r"\d+", lambda _: rng.choice(runs), text)))
        at = rng.randint(0, len(text))
        orders.append(text[:at] + rng.choice(["1", "U", "B", "k"]) + text[at:])
    memdump._ORDERS_READERS.cache_clear()
    monkeypatch.setattr(memdump, "_RECURRING", 0)   # every shape has its pattern at once
    monkeypatch.setattr(memdump, "_SHAPES", len(orders))
    read = 0
    for text in orders:
        expected = entries_by_tokens(text)
        assert memdump._buddy_entries(text) == expected, text
        read += bool(expected)
    assert read > 1000
    assert read_by_pattern(memdump._ORDERS_READERS, orders) > 1000


def read_by_pattern(readers, texts: list[str]) -> int:
    """How many of ``texts`` the pattern of their shape's reader matches."""
    count = 0
    for text in texts:
        reader = readers._shapes.get(text.encode().translate(None, readers._taken_out), 0)
        pattern = reader[0] if isinstance(reader, tuple) else reader
        count += isinstance(pattern, re.Pattern) and pattern.fullmatch(text) is not None
    return count


def explained_events(path: Path) -> list:
    found = []
    scanner = LogScanner(path.name, found.append,
                         prepare=lambda event: explain_event(event, event_kernel(event, None)))
    with path.open("rb") as stream:
        scanner.scan(stream)
    return found


def test_event_json_pieces_equal_the_whole_document(generated: list[Path]) -> None:
    stream = JsonStream(io.StringIO())
    events = [e for path in every_log(generated) for e in explained_events(path)]
    assert len(events) > (150 if SHARED_LOGS else 100)
    for explained in events:
        source, line, rest = stream.prepare(explained)
        whole = json.dumps(event_to_json(explained), separators=(",", ":"))
        assert f'{{"source":{json.dumps(source)},"line":{line},{rest}' == whole
        origin, reclaim = origin_and_reclaim(tuple(explained.frames))
        assert (origin, reclaim) == (classify(explained.frames), in_reclaim(explained.frames))


class GeneralLinesScanner(LogScanner):
    """:class:`LogScanner` that feeds every line through ``feed_line`` (no plain console runs)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.normalizer = GeneralNormalizer()
        self.normalizer.console_run = lambda data, start, end: ([], start)


def scan_everything(scanner_type: type, data: bytes) -> tuple:
    found, fed, regions = [], [], []
    scanner = scanner_type("log", found.append,
                           prepare=lambda event: explain_event(event, event_kernel(event, None)))
    assembler = scanner.assembler
    feed, feed_region, emit = assembler.feed, scanner._feed, assembler.emit

    def open_reports_hold_reports() -> None:
        # busy, first_open and the run loop (to skip _idle_after) take an empty open_reports
        # for "no report open": no key stays with none, even while a closed one goes out; a
        # report is open under its own host and caller (what a close was given as its key)
        for key, events in assembler.open_reports.items():
            assert events and all((e.host, e.caller) == key for e in events), key

    def recorded(line, number) -> None:   # every logical line the assembler is given
        fed.append((line, number))
        feed(line, number)
        open_reports_hold_reports()

    def emitted(event) -> None:
        open_reports_hold_reports()
        emit(event)

    def region(*args) -> tuple[int, int]:   # where each region ends, and the state it leaves
        reached = feed_region(*args)
        regions.append((reached, state(scanner.normalizer), scanner.joiner.held_from))
        return reached

    assembler.feed, scanner._feed, assembler.emit = recorded, region, emitted
    scanner.scan(io.BytesIO(data))
    stream = JsonStream(io.StringIO())
    events = [stream.prepare(explained) for explained in found]
    assembler = scanner.assembler
    counters = [(e.event.lines_seen, e.event.last_seq, e.event.unrelated, e.event.seq) for e in found]
    return (fed, regions, events, counters, scanner.skipped_lines, assembler.related,
            dict(assembler.related_by_host), assembler.kernels, assembler._seq, state(scanner.normalizer))


def perturbed(data: bytes, seed: int) -> bytes:
    """Console lines with what ends a plain run spliced in: tags, caller ids, vendor columns,
    CR, NUL, non-ASCII text, a glued stamp, a missing space, blank and unstamped lines."""
    rng = random.Random(seed)
    edits = [lambda t: "kernel: " + t, lambda t: "host kernel: " + t, lambda t: "systemd[1]: " + t,
             lambda t: "[ T12] " + t, lambda t: "c0 0      " + t, lambda t: " [3:        kswapd0:  209] " + t,
             lambda t: t + "\r", lambda t: t + "\0", lambda t: t + " caf\u00e9", lambda t: t[:9] + "[  12.000001] " + t[9:],
             lambda t: "", lambda t: "   ", lambda t: t + "x" * 5000, lambda t: "[" + t]
    out = []
    for raw in data.decode().splitlines():
        if raw.startswith("[") and "] " in raw and rng.random() < 0.03:
            head, _, text = raw.partition("] ")
            edited = rng.choice(edits)(text)
            raw = rng.choice([f"{head}] {edited}", f"{head}]{edited}", edited])
        out.append(raw)
    return "\n".join(out).encode() + b"\n"


def test_plain_console_runs_scan_as_line_by_line(generated: list[Path]) -> None:
    logs = [path.read_bytes() for path in every_log(generated)]
    logs += [perturbed(path.read_bytes(), seed) for seed, path in enumerate(generated) if "dmesg" in path.name]
    ran = 0
    for data in logs:
        fast = scan_everything(LogScanner, data)
        assert fast == scan_everything(GeneralLinesScanner, data)
        ran += len(fast[1])
    assert ran > (150 if SHARED_LOGS else 100)


# The plain console run as it was written before its tag lookahead became two alternatives.
_RUN_BEFORE = re.compile(rb"(?:\[ *\d{1,12}\.\d{6}\] (?!\[|c\d| \[\d|(?:([\w.-]{1,255}) )?(?:(kernel)|([\w.@/-]{1,255})"
                         rb"\[\d{1,10}\]):(?: |\n))[\x01-\x09\x0b\x0c\x0e-\x7f]{0,4000}\n){1,16}")


def test_plain_console_runs_end_where_they_ended(generated: list[Path]) -> None:
    """At every line start of every log (tags spliced in), the run's match ends where the form
    with the optional host group ended."""
    logs = [path.read_bytes() for path in every_log(generated)]
    logs += [perturbed(path.read_bytes(), seed) for seed, path in enumerate(generated) if "dmesg" in path.name]
    tags = ["kernel: x", "kernel:\n", "host kernel: x", "h.o-st kernel: x", "a@b/c-d[12]: x", "h a[1]:\n", "a[]: x",
            "h  kernel: x", "kernel x", "a[12] x", "h x[1]: x", "x" * 255 + " kernel: x", "x" * 256 + " kernel: x",
            "a[" + "1" * 11 + "]: x", "CPU: 1", "kernel:x", "eth0: up"]
    logs.append("".join(f"[    1.000000] {tag}\n[    2.000000] plain\n" for tag in tags).encode())
    runs = 0
    for data in logs:
        for start in (0, *(i + 1 for i in range(len(data) - 1) if data[i] == 10)):
            run = prefix._PLAIN_CONSOLE_RUN.match(data, start)
            before = _RUN_BEFORE.match(data, start)
            assert (run and run.end()) == (before and before.end()), data[start:start + 80]
            runs += run is not None
    assert runs > 10_000


# The zone/node line readers these replaced: a backtracking validation, then a findall.
_FIELD = r"[a-z_]+(?:\([a-z]+\))?:(?:\d{1,20})?(?:kB|KB)?"
_FIELDS_ONLY = re.compile(rf"\s*(?:(?:{_FIELD}|all_unreclaimable\?(?:\s+(?:yes|no))?)(?:\s+|$))*")
_KB_FIELD = re.compile(r"(?:^|(?<=\s))([a-z_]+(?:\([a-z]+\))?):(\d{1,20})(?:kB|KB)(?=\s|$)")




def test_kb_fields_read_as_the_regexes_they_replaced(generated: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    texts = []
    for text in kernel_texts(generated):
        for pattern in (memdump._ZONE_LINE, memdump._NODE_LINE):
            match = pattern.fullmatch(text.strip())
            if match is not None:
                texts.append(match.group(match.lastindex))
    assert len(texts) > 300
    tokens = ["free:12kB", "min:0KB", "isolated(anon):4kB", "a_b:", "pages_scanned:7", "x:kB", "all_unreclaimable?",
              "yes", "no", "kB", "12kB", "Free:3kB", "a:\u0661\u0662kB", "a:1kB:2kB", "a:1 kB", "q:1kBkB",
              "all_unreclaimable? yesx", "x(y):", "x(y)z:1kB", "a:" + "9" * 20 + "kB", "a:" + "9" * 21 + "kB", "\n", "yes\nb"]
    rng = random.Random(7)
    for _ in range(20_000):
        texts.append("".join(rng.choice(tokens) + rng.choice([" ", "  ", "\t", "", "\x1c", "\xa0", ": "])
                             for _ in range(rng.randint(0, 6))))
    # _kb_fields reads a line by the pattern of its digit-less shape, made from the first line of
    # that shape (memdump._kb_reader): each line again with other digits, elsewhere or none
    runs = ["", "0", "7", "12", "9" * 20, "9" * 21, "\u0661"]
    for text in texts[:]:
        texts.append(re.sub(r"\d+", lambda _: rng.choice(runs), text))
        at = rng.randint(0, len(text))
        texts.append(text[:at] + rng.choice(runs) + text[at:])
    memdump._KB_READERS.cache_clear()
    monkeypatch.setattr(memdump, "_RECURRING", 0)   # every shape has its pattern at once
    monkeypatch.setattr(memdump, "_SHAPES", len(texts))
    read = 0
    for text in texts:
        joined = memdump._JOIN_SPACE.sub("", text) if ": " in text else text
        expected = ({name: int(value) for name, value in _KB_FIELD.findall(joined)}
                    if _FIELDS_ONLY.fullmatch(joined) else None)
        got = memdump._kb_fields(text)
        assert got == expected and (got is None or list(got) == list(expected)), text   # order: JSON keeps it
        read += bool(expected)
    assert read > 1000
    assert read_by_pattern(memdump._KB_READERS, texts) > 5000


def kind_before(text: str):
    """trace_line_kind() of a stripped line as it was read before _line_facts (the oracle)."""
    if not text:
        return None
    if trace._HEADER.match(text):
        return "header"
    if trace._MARKER.fullmatch(text) or trace._SEPARATOR.fullmatch(text) or trace._OTHER_MARKER.match(text):
        return "marker"
    if (trace._parse_stripped(text) is not None or trace._ADDRESS_ONLY.fullmatch(text)
            or trace._MODULE_ONLY.fullmatch(text)):
        return "frame"
    if trace._REGS.match(text) or trace._CODE_BYTES.fullmatch(text):
        return "regs"
    return "stack" if trace._STACK.fullmatch(text) else None


def item_before(line: str):
    """What parse_trace() took from a line before _line_facts (the oracle)."""
    text = line.strip()
    header = trace._HEADER.match(text)
    if header:
        text = header.group("rest").strip()
    if not text:
        return "skip", None, None
    marker = trace._MARKER.fullmatch(text)
    if marker:
        return "mark", marker.group("name"), None
    if trace._SEPARATOR.fullmatch(text):
        return "separator", None, None
    if trace._OLD_X86_64_LINE.match(text) or trace._OLD_I386_LINE.match(text):
        return "several", tuple(trace._old_x86_64_frames(text)), None
    address_only = trace._ADDRESS_ONLY.fullmatch(text)
    if address_only:
        return "address", address_only.group("q") is not None, None
    module_only = trace._MODULE_ONLY.fullmatch(text)
    if module_only:
        return "module", module_only.group("mod"), None
    addressed = trace._ADDRESSED.fullmatch(text)
    return "frame", addressed.group("mark") if addressed else None, trace._parse_stripped(text)


def test_trace_facts_are_what_kind_and_item_were(generated: list[Path]) -> None:
    texts = set(kernel_texts(generated))
    headers = ["Call Trace:", "Call trace:", "Stack:", "Backtrace:"]
    texts |= {f"{h}{sep}{t}" for h in headers for sep in ("", " ") for t in sorted(texts)[::max(1, len(texts) // 3000)]}
    texts |= {"", " ", "Call Trace:", "<IRQ>", " ====", "=====", "--- interrupt: 501", "[<c0>]", "[xfs]",
              "LR = .__alloc_pages+0x1b0/0x340", "---[ end trace 1c9b4c4bde4a3d4e ]---", "Backtrace: <c0>",
              "<ffffffff8015f9fe>{__alloc_pages+789}", "<c01369e2> __alloc_pages+0x1f2/0x2d0"}
    # _facts asks the memo with a leading "[<address>]" written as "[<0>]": the same lines with
    # other addresses (lengths 1..16, either case, none, not hex) must read as themselves
    rng = random.Random(11)
    addressed = [t for t in sorted(texts) if t.strip().startswith("[<")]
    assert len(addressed) > (500 if SHARED_LOGS else 100)
    for text in addressed[::2]:
        rest = text.strip().partition(">]")[2]
        for address in ("", "0", "g", "ABCdef", "".join(rng.choice("0123456789abcdefABCDEF") for _ in range(rng.randint(1, 16)))):
            texts.add(f"[<{address}>]{rest}")
    texts |= {"[<c0>] (warn_alloc) from [<c1>] (x+0x1/0x2)", "[<c0>]", "[<c0>] ?", "[<0>] 0x0", "[<c0> x+0x1/0x2"}
    traced = 0
    for text in texts:
        stripped = text.strip()
        kind, item = trace._facts(stripped)
        assert kind == kind_before(stripped), text
        assert (item if item is not None else trace._item(stripped)) == item_before(text), text
        assert (item is None) == (kind is None), text
        traced += kind is not None
    assert traced > 3000


# How memdump._classify named a "Node N ..." or zone-name line before one regex did (the oracle).
_NODE_PREFIX = re.compile(r"Node (\d{1,20}) ")
_ZONE_REST = re.compile(r"(DMA32|Normal|HighMem|Movable|Device|DMA)"
                        r"(?P<zone> free:\d{1,20}kB| per-cpu:(?: empty)?$|: (?:\d{1,20}\*\d{1,20}kB|empty))")
_NODE_REST = re.compile(r"[a-z_]+(?:\([a-z]+\))?: ?\d{1,20}kB")


def zone_kind_before(rest: str):
    match = _ZONE_REST.match(rest)
    if match is None:
        return None
    tail = match.group("zone")
    return "zone" if tail.startswith(" free:") else "percpu" if tail.startswith(" per-cpu:") else "buddy"


def kind_of_node_or_zone_line_before(line: str):
    if line.startswith("Node "):
        match = _NODE_PREFIX.match(line)
        if match is None:
            return None
        rest = line[match.end():]
        if rest.startswith("hugepages_total="):
            return "hugepages"
        return "node" if _NODE_REST.match(rest) else zone_kind_before(rest)
    return zone_kind_before(line)


def test_node_and_zone_lines_are_named_as_before(generated: list[Path]) -> None:
    """memdump._classify names a line that starts with "Node " or a zone name by one regex."""
    lines = {text.strip() for text in kernel_texts(generated)}
    lines = {line for line in lines if line and line[0] in "DNHM"}
    pieces = ["Node ", "0 ", "12 ", "\u0661 ", "DMA", "DMA32", "Normal", "HighMem", "Movable", "Device", "Dma",
              " free:12kB", " free:kB", " per-cpu:", " per-cpu: empty", " per-cpu:x", ": 1*4kB", ": empty", ": 3 x",
              "hugepages_total=0", "active_anon:4kB", "active_anon: 4kB", "isolated(anon):0kB", "x", " ", "\n", ""]
    rng = random.Random(13)
    lines |= {"".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))) for _ in range(20_000)}
    named = 0
    for line in lines:
        if line and line[0] in "DNHM" and line not in ("Mem-Info:", "Mem-info:"):
            assert memdump._classify(line) == kind_of_node_or_zone_line_before(line), line
            named += memdump._classify(line) is not None
    assert named > 300


def test_reserve_lines_kept_hold_only_numbers(generated: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """memdump._parse_reserve no longer tests its numbers (it returned None when one was not):
    every lowmem_reserve[] line the builder keeps, with its KERN_CONT pieces, holds only numbers."""
    parsed = []

    def checked(text: str) -> list[int]:
        numbers = text[len("lowmem_reserve[]:"):].split()
        assert all(memdump._RESERVE_TOKEN.fullmatch(number) for number in numbers), text
        parsed.append(text)
        return [int(number) for number in numbers]

    monkeypatch.setattr(memdump, "_parse_reserve", checked)
    rng = random.Random(19)
    pieces = [" 0", " 3444", " -1", " x", " 1 2", "0kB", " \u0661", " " + "9" * 21]
    heads = ["lowmem_reserve[]:", "lowmem_reserve[]: 0 5", "lowmem_reserve[]: 1 x", "lowmem_reserve[]:0", "lowmem_reserve[]: 0.5"]
    builder = memdump.MemDumpBuilder()
    for text in kernel_texts(generated):
        builder.feed(text)
        if text.startswith("lowmem_reserve[]:") or text.startswith("Node "):
            builder.feed("Node 0 DMA free:1kB min:1kB")
            builder.feed(rng.choice(heads))
            for _ in range(rng.randint(0, 3)):
                builder.feed(rng.choice(pieces))
        if len(builder._parsed.zones) > 200:
            builder.close()
            builder = memdump.MemDumpBuilder()
    builder.close()
    assert len(parsed) > (500 if SHARED_LOGS else 100)


def test_a_shape_has_its_reader_once_it_recurs() -> None:
    """A shape's reader is made when it is seen more than _RECURRING times, not before, and once."""
    memdump._KB_READERS.cache_clear()
    for number in range(3 * memdump._RECURRING):
        assert memdump._kb_fields(f"free:{number}kB min:{number * 7}kB") == {"free": number, "min": number * 7}
        assert memdump._KB_READERS.made == (number >= memdump._RECURRING)
    assert len(memdump._KB_READERS) == 1


def kb_line(shape: int, number: int) -> str:
    """A zone line of its own digit-less shape for each ``shape``: its field names spell it."""
    name = "".join("abcdefghij"[int(digit)] for digit in str(shape))
    return f"free:{number}kB {name}:{number * 3}kB min:{number}kB"


def orders_line(shape: int, number: int) -> str:
    """A buddy line's orders of their own shape for each ``shape`` < 2**14: which of 14 orders
    are followed by letters (then "(UM)", or "()" when also ``number`` is odd)."""
    letters = "(UM)" if number % 2 == 0 else "()"
    return " ".join(f"{number}*{4 << order}kB" + (f" {letters}" if shape >> order & 1 else "")
                    for order in range(14)) + " "


KINDS = [
    (memdump._KB_READERS, memdump._kb_fields, memdump._read_kb_fields, kb_line),
    (memdump._ORDERS_READERS, memdump._buddy_entries, lambda text: entries_by_tokens(text) or None, orders_line),
]


@pytest.mark.parametrize(("readers", "read", "general", "line"), KINDS, ids=["kb", "orders"])
def test_shape_maps_stay_bounded_on_ever_new_shapes(readers, read, general, line) -> None:
    """A log of ever-new shapes neither grows a map past _SHAPES nor makes readers without
    bound; a common shape keeps its reader through it, and every line reads as generally."""
    readers.cache_clear()
    bound, recurring = memdump._SHAPES, memdump._RECURRING

    def check(text: str) -> None:
        assert read(text) == general(text), text
        assert len(readers) <= bound

    common = line(0, 5)
    for number in range(recurring + 1):   # a common shape, read by its reader from here on
        check(line(0, number))
    assert readers.made == 1
    tracemalloc.start()
    try:
        for shape in range(1, 20 * bound):   # each shape once, the common one between them
            check(line(shape, shape))
            check(common)
            if shape == 2 * bound:
                held = tracemalloc.get_traced_memory()[0]
        grown = tracemalloc.get_traced_memory()[0] - held
    finally:
        tracemalloc.stop()
    assert grown < 64 << 10, grown   # 18 x _SHAPES more shapes held no more (without the bound: 190 kB)
    assert readers.made == 1 and readers._shapes[common.encode().translate(None, readers._taken_out)] is not None
    for shape in range(1, 3 * bound):   # shapes that recur, more of them than the map holds
        for number in range(recurring + 2):
            check(line(shape, number))
    assert readers.made == bound
    made = readers.made
    for shape in range(1, 3 * bound):   # the map is all readers now: nothing is made again
        check(line(shape, shape + 1))
    assert readers.made == made and len(readers) == bound
    readers.cache_clear()   # the tests after this one read with readers of their own lines


def dumps_of(texts: list[str]) -> list:
    """Every dump the builder makes of ``texts``, cut every 200 zones."""
    dumps, builder = [], memdump.MemDumpBuilder()
    for text in texts:
        builder.feed(text)
        if len(builder._parsed.zones) > 200:
            builder.close()
            dumps.append(builder.result())
            builder = memdump.MemDumpBuilder()
    builder.close()
    return [*dumps, builder.result()]


@pytest.mark.parametrize("shapes", [3, 128])
def test_dumps_read_by_shape_readers_as_without_them(generated: list[Path], monkeypatch: pytest.MonkeyPatch,
                                                     shapes: int) -> None:
    """Every dump of every log, its lines read by shape readers made after 2 sightings (in maps
    of 3 shapes: counts dropped, readers kept as they fill), equals the dump read without any
    reader (_SHAPES = 0: no shape is counted)."""
    texts = kernel_texts(generated)
    for readers in (memdump._KB_READERS, memdump._ORDERS_READERS):
        readers.cache_clear()
    monkeypatch.setattr(memdump, "_SHAPES", 0)
    general = dumps_of(texts)
    assert memdump._KB_READERS.made == memdump._ORDERS_READERS.made == 0
    assert sum(len(dump.zones) for dump in general) > (300 if SHARED_LOGS else 100)
    monkeypatch.setattr(memdump, "_SHAPES", shapes)
    monkeypatch.setattr(memdump, "_RECURRING", 2)
    for readers in (memdump._KB_READERS, memdump._ORDERS_READERS):
        readers.cache_clear()
    assert dumps_of(texts) == general
    for readers in (memdump._KB_READERS, memdump._ORDERS_READERS):
        assert 2 <= readers.made <= shapes and len(readers) <= shapes


def test_shape_maps_are_shared_by_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """fleet reads hosts' dumps in threads: with a thread switch at nearly every step, lines of
    new and recurring shapes read as generally, and the map stays within a shape per thread of
    its bound."""
    monkeypatch.setattr(memdump, "_SHAPES", 16)
    monkeypatch.setattr(memdump, "_RECURRING", 2)
    readers, failed = memdump._KB_READERS, []
    readers.cache_clear()

    def work(seed: int) -> None:
        try:
            for number in range(3000):
                text = kb_line(seed * 1000 + number % 3 if number % 3 else seed * 100_000 + number, number)
                assert memdump._kb_fields(text) == memdump._read_kb_fields(text), text
                assert len(readers) <= 16 + 4
        except BaseException as error:   # noqa: BLE001 - reported by the test's thread
            failed.append(error)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(1, 5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert not failed, failed
    assert readers.made >= 1

"""minfree exporter on the live host: --once (text and JSON), --textfile, the HTTP server, its
errors; the collector on captured machines of other kernels; the kernel-log counter."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from minfree.analysis.zones import build_zones
from minfree.commands.exporter import Collector, KernelLogCounter
from minfree.render.prometheus import exposition, families
from minfree.sources.kmsg import KmsgCursor
from minfree.sources.root import SystemRoot
from minfree.sources.system import load_system

from hugetlb_squeeze import grow_pool_past_memory, hugetlb_pool, order9_failures_recorded, vmstat  # noqa: E402,F401 (a fixture)

MINFREE = [sys.executable, "-m", "minfree"]
PROMTOOL = shutil.which("promtool")
DISTRO = Path(__file__).resolve().parents[1] / "fixtures" / "distro"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def minfree(*args, **kw):
    return subprocess.run([*MINFREE, *args], capture_output=True, text=True, timeout=120, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


@pytest.mark.live
def test_once_is_valid_exposition_with_the_issue_metrics():
    done = minfree("exporter", "--once")
    assert done.returncode == 0, done.stderr
    names = {line.split("{")[0].split(" ")[0] for line in done.stdout.splitlines() if not line.startswith("#")}
    for name in ("minfree_zone_free_blocks", "minfree_zone_watermark_bytes", "minfree_zone_watermark_boost_bytes",
                 "minfree_atomic_headroom_bytes", "minfree_atomic_request_ok", "minfree_zone_unusable_index_ratio",
                 "minfree_zone_extfrag_index_ratio", "minfree_min_free_bytes", "minfree_min_free_default_bytes",
                 "minfree_min_free_recommended_bytes", "minfree_vmstat_compact_stall_total",
                 "minfree_vmstat_pgscan_kswapd_total", "minfree_memory_pressure_stall_seconds_total",
                 "minfree_network_receive_drops_total", "minfree_tcp_receive_queue_drops_total"):
        assert name in names, name
    if PROMTOOL:
        lint = subprocess.run([PROMTOOL, "check", "metrics"], input=done.stdout, capture_output=True, text=True)
        assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), lint.stdout + lint.stderr


@pytest.mark.live
def test_values_are_the_kernels():
    """min_free_kbytes and each zone's free pages as the kernel shows them (zone free moves:
    compared within what a scrape apart can change)."""
    values = samples(minfree("exporter", "--once").stdout)
    assert values["minfree_min_free_bytes"] == int(Path("/proc/sys/vm/min_free_kbytes").read_text()) * 1024
    page = os.sysconf("SC_PAGE_SIZE")
    state = load_system(SystemRoot("/"))
    normal = next(z for z in state.zones if z.zone == "Normal")
    shown = values['minfree_zone_free_bytes{node="0",zone="Normal"}']
    assert abs(shown - normal.free * page) < 0.05 * normal.managed * page
    assert values['minfree_zone_watermark_bytes{mark="min",node="0",zone="Normal"}'] == normal.min * page


@pytest.mark.live
def test_verdicts_agree_with_doctor():
    """The exporter's order 0-3 request verdicts are doctor's (same model, same zones)."""
    root = SystemRoot("/")
    reading = Collector(root, None).read()
    doctor = build_zones(reading.state)
    mine = {r.order: r.ok for r in reading.headroom.requests if r.node == 0}
    assert {v.order: v.ok for v in doctor.atomic} == {o: mine[o] for o in range(4)}


@pytest.mark.parametrize("capture", sorted(p.name for p in DISTRO.iterdir() if p.is_dir()))
def test_collector_on_captures_of_other_kernels(capture):
    """Debian 6.1 and 6.12 guests with 1, 2 and 4 nodes: one request verdict per node and order,
    headroom only for zones GFP_ATOMIC may use, the default min_free_kbytes of the model."""
    root = SystemRoot(DISTRO / capture)
    reading = Collector(root, None).read()
    state = load_system(SystemRoot(DISTRO / capture))
    nodes = {z.node for z in state.zones if z.managed}
    orders = len(state.buddy[0].counts)
    assert len(reading.headroom.requests) == len(nodes) * orders
    assert {h.zone for h in reading.headroom.zones} <= {"DMA", "DMA32", "Normal"}
    assert reading.default_min_free_kb is not None
    names = {m.name for m in families(reading)}
    assert {"minfree_atomic_headroom_bytes", "minfree_zone_free_blocks"} <= names


def test_json_once_schema():
    done = minfree("exporter", "--once", "--json")
    doc = json.loads(done.stdout)
    assert doc["schema"] == 1
    headroom = next(m for m in doc["metrics"] if m["name"] == "minfree_atomic_headroom_bytes")
    assert headroom["type"] == "gauge" and {"node", "zone", "order"} <= set(headroom["samples"][0]["labels"])


def test_textfile_written_atomically(tmp_path):
    done = minfree("exporter", "--textfile", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["minfree.prom"]   # no temporary left behind
    assert (tmp_path / "minfree.prom").stat().st_mode & 0o777 == 0o644
    assert "minfree_atomic_request_ok" in (tmp_path / "minfree.prom").read_text()


def test_textfile_refuses_a_directory_others_can_write(tmp_path):
    tmp_path.chmod(0o777)
    done = minfree("exporter", "--textfile", str(tmp_path))
    assert done.returncode == 2 and "writable by others" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not list(tmp_path.iterdir())
    missing = minfree("exporter", "--textfile", str(tmp_path / "absent"))
    assert missing.returncode == 2 and missing.stderr.startswith("minfree: error: --textfile")


def test_bad_arguments_are_one_line_errors():
    for args in (["--listen", "localhost"], ["--listen", "127.0.0.1:99999"], ["--json"]):
        done = minfree("exporter", *args)
        assert done.returncode == 2, args
        assert "Traceback" not in done.stderr


def test_help_has_examples():
    done = minfree("exporter", "--help")
    assert done.returncode == 0 and "examples:" in done.stdout and "--textfile" in done.stdout


def test_once_pipe_closed_early_exits_zero():
    proc = subprocess.Popen([*MINFREE, "exporter", "--once"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert b"Traceback" not in proc.stderr.read()


_SERVING: list[subprocess.Popen] = []   # the servers serving() runs, newest last


@contextmanager
def serving(*prefix: str):
    """``minfree exporter --listen`` on a free loopback port (run under ``prefix``: setpriv...),
    once it answers: (port, url)."""
    port = free_port()
    proc = subprocess.Popen([*prefix, *MINFREE, "exporter", "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/metrics"
    _SERVING.append(proc)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.2)
        yield port, url
    finally:
        _SERVING.remove(proc)
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.live
def test_sigterm_stops_the_server_cleanly():
    """A service manager's stop (SIGTERM) closes the in-kernel counter on the way out (the
    hist-trigger counter's tracefs instance would outlive a process killed without it)."""
    import signal

    with serving() as (_, url):
        proc = _SERVING[-1]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert b"Traceback" not in proc.stderr.read()


@pytest.fixture
def server():
    with serving() as found:
        yield found


@pytest.mark.live
def test_server_serves_metrics_on_loopback(server):
    port, url = server
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        body = response.read().decode()
    assert 'minfree_atomic_request_ok{node="0",order="1"}' in body
    listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
    assert [line.split()[3] for line in listening.splitlines()] == [f"127.0.0.1:{port}"]   # loopback only


def exporter_samples(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return samples(response.read().decode())


@pytest.mark.live
@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="the in-kernel counter needs root")
def test_server_counts_failed_allocations_in_the_kernel(server):
    """As root the server opens the counter once: every order 0-10 is a series from the first
    scrape (a counter increase() can see rise from 0), and the method is named."""
    port, _ = server
    found = exporter_samples(port)
    assert found['minfree_failed_allocations_available{method="ebpf",reason=""}'] == 1
    orders = {k: v for k, v in found.items() if k.startswith("minfree_failed_allocations_total{")}
    assert sorted(orders) == sorted(f'minfree_failed_allocations_total{{order="{o}"}}' for o in range(11))
    assert all(v >= 0 for v in orders.values())


def test_without_the_counter_the_reason_is_served_never_a_zero():
    """--once opens no counter (it would count its own milliseconds); a server that is not
    root cannot: both serve the gauge at 0 with the reason and no failed_allocations sample."""
    once = samples(minfree("exporter", "--once").stdout)
    assert once['minfree_failed_allocations_available{method="",reason="a one-shot reading counts '
                'nothing (only a running exporter counts)"}'] == 0
    assert not [k for k in once if k.startswith("minfree_failed_allocations_total")]
    if os.geteuid() != 0:
        return
    with serving("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups") as (port, _):
        found = exporter_samples(port)
    assert found['minfree_failed_allocations_available{method="",reason="not root (the in-kernel '
                 'counter needs eBPF, hist triggers or perf events)"}'] == 0
    assert not [k for k in found if k.startswith("minfree_failed_allocations_total")]


@pytest.mark.live
def test_port_in_use_is_a_one_line_error(server):
    port, _ = server
    done = minfree("exporter", "--listen", f"127.0.0.1:{port}")
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"minfree: error: cannot listen on 127.0.0.1:{port}")


def kmsg_records(log: Path) -> bytes:
    """A dmesg text log as /dev/kmsg records (PRIORITY,SEQ,USEC,-;TEXT)."""
    out = []
    for seq, line in enumerate(log.read_text(errors="replace").splitlines()):
        text = line.split("] ", 1)[1] if line.startswith("[") and "] " in line else line
        out.append(f"4,{seq},{seq * 1000},-;{text}\n".encode())
    return b"".join(out)


@pytest.mark.skipif(not (CORPUS / "truth.json").is_file(), reason="shared corpus missing")
def test_kernel_log_counter_counts_reports_by_order(tmp_path):
    """A real 6.x report written as kmsg records: counted once, under its order and origin,
    whether it arrives in one drain or over two."""
    truth = json.loads((CORPUS / "truth.json").read_text())
    name = next(n for n, t in truth.items() if t["event_count"] == 1 and "-6." in n
                and (CORPUS / "logs" / n).is_file())
    order = str(truth[name]["events"][0]["order"])
    data = kmsg_records(CORPUS / "logs" / name)
    path = tmp_path / "kmsg"
    path.write_bytes(data[: len(data) // 2])
    with KmsgCursor(str(path)) as cursor:
        counter = KernelLogCounter(cursor)
        counter.poll()
        with path.open("ab") as handle:
            handle.write(data[len(data) // 2:])
        counter.poll()
        tally = counter.poll()   # nothing new: the open report is complete
    assert sum(tally.by_kind.values()) == 1
    assert [o for o, _ in tally.by_kind] == [order]


@pytest.mark.live
def test_other_paths_404_and_head_has_no_body(server):
    port, url = server
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=10)
    assert error.value.code == 404
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=10) as response:
        assert response.status == 200 and int(response.headers["Content-Length"]) > 0 and response.read() == b""


@pytest.mark.live
def test_a_silent_client_cannot_hold_the_server(server):
    """One scrape at a time: a client that connects and sends nothing is dropped after
    REQUEST_TIMEOUT seconds, and the next scrape is answered."""
    from minfree.commands.exporter import REQUEST_TIMEOUT

    port, url = server
    with socket.create_connection(("127.0.0.1", port)):
        started = time.monotonic()
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT + 20) as response:
            assert response.status == 200
        assert time.monotonic() - started < REQUEST_TIMEOUT + 15


@pytest.mark.live
def test_bad_requests_get_their_status_and_the_server_goes_on(server):
    """Garbage is 400, another method 501, a request larger than REQUEST_BYTES or trickled
    past REQUEST_TIMEOUT is dropped; the next scrape is answered."""
    from minfree.commands.exporter import REQUEST_BYTES

    port, url = server

    def ask(data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            try:
                s.sendall(data)
                return b"".join(iter(lambda: s.recv(65536), b""))
            except ConnectionResetError:   # dropped with our bytes unread: the kernel resets
                return b""

    assert ask(b"hello\r\n\r\n").startswith(b"HTTP/1.0 400 ")
    assert ask(b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.0 501 ")
    assert ask(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * (REQUEST_BYTES + 10)) == b""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200


def test_facts_are_read_again_only_after_facts_seconds(tmp_path):
    """THP off in a copy of a 2 GiB 6.12 capture: the kernel default (which THP raises) follows
    only once FACTS_SECONDS have passed; min_free_kbytes itself is read every scrape."""
    from minfree.commands.exporter import FACTS_SECONDS

    root_dir = tmp_path / "root"
    shutil.copytree(DISTRO / "6.12.117+deb12-amd64-n1-thp-2g", root_dir)
    now = [1000.0]
    collector = Collector(SystemRoot(root_dir), None, clock=lambda: now[0])
    before = collector.read()
    thp = root_dir / "sys/kernel/mm/transparent_hugepage"
    for path in [thp / "enabled", *thp.glob("hugepages-*/enabled")]:
        path.write_text("always madvise [never]\n")
    (root_dir / "proc/sys/vm/min_free_kbytes").write_text("90000\n")
    now[0] += FACTS_SECONDS - 1
    cached = collector.read()
    assert cached.default_min_free_kb == before.default_min_free_kb
    assert cached.state.sysctls.min_free_kbytes == 90000
    now[0] += 1
    assert collector.read().default_min_free_kb < before.default_min_free_kb


def test_missing_and_garbage_sources_are_gaps_not_errors(tmp_path):
    """A root with junk where /proc files should be, and most files missing: the reading still
    serves what it can, and lists every unreadable source."""
    (tmp_path / "proc" / "sys" / "vm").mkdir(parents=True)
    (tmp_path / "proc" / "zoneinfo").write_bytes(b"\x00\xff garbage\nNode x, zone\n" * 100)
    (tmp_path / "proc" / "buddyinfo").write_text("Node 0, zone Normal 1 2 x\n")
    (tmp_path / "proc" / "version").write_text("Linux version 6.18.0 (x)\n")
    (tmp_path / "proc" / "sys" / "vm" / "min_free_kbytes").write_text("oops\n")
    reading = Collector(SystemRoot(tmp_path), None).read()
    text = exposition(families(reading)).decode()
    unreadable = {s.labels["path"] for m in families(reading) if m.name == "minfree_source_unreadable"
                  for s in m.samples}
    assert {"/proc/vmstat", "/proc/meminfo", "/proc/net/dev", "/proc/pressure/memory"} <= unreadable
    assert "minfree_atomic_headroom_bytes" in text and "minfree_zone_free_bytes{" not in text
    assert reading.state.sysctls is None or reading.state.sysctls.min_free_kbytes is None


@pytest.mark.live
@pytest.mark.root
@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0, reason="needs root and setpriv")
def test_the_units_capabilities_are_enough_to_count_failures():
    """Root bounded to deploy/systemd/minfree-exporter.service's CapabilityBoundingSet (setpriv,
    as systemd bounds it) still opens the in-kernel counter of failed allocations."""
    unit = (Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "minfree-exporter.service").read_text()
    caps = next(line for line in unit.splitlines() if line.startswith("CapabilityBoundingSet=")).split("=", 1)[1]
    bounding = "-all," + ",".join("+" + cap.removeprefix("CAP_").lower() for cap in caps.split())
    with serving("setpriv", f"--bounding-set={bounding}") as (port, _):
        found = exporter_samples(port)
    assert found['minfree_failed_allocations_available{method="ebpf",reason=""}'] == 1


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="the in-kernel counter needs root")
def test_a_counter_that_can_no_longer_be_read_is_said_and_the_rest_still_served():
    """The real in-kernel counter, its map taken away under it (as a hist trigger someone
    removes would be): the scrape still serves every other family, and the reason instead of a
    count; the next scrape too."""
    from minfree.sources.failcount import FailureCounter

    counter, why = FailureCounter.open()
    if counter is None:
        pytest.skip(why)
    counter.enable()
    collector = Collector(SystemRoot("/"), None, failures_in_kernel=counter)
    assert collector.read().failed_allocations is not None
    if counter.kind == "ebpf":
        os.close(counter.counter.map_fd)   # what a read now meets: EBADF
        counter.counter.fds.remove(counter.counter.map_fd)
    else:
        pytest.skip(f"the {counter.kind} counter is not taken away here")
    for _ in range(2):
        text = exposition(families(collector.read())).decode()
        assert "minfree_zone_free_bytes{" in text and "minfree_zone_free_blocks{" in text
        assert 'minfree_failed_allocations_available{method="",reason="the counter could not be read: ' in text
        assert "\nminfree_failed_allocations_total" not in text   # a HELP text may name it


@pytest.mark.live
@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="the in-kernel counter needs root")
def test_failures_are_served_by_class_as_trace_classifies_them(hugetlb_pool):
    """The server also records each failure (the eBPF ring buffer, with its kernel stack) and
    classifies it as `minfree trace` does. A real squeeze: the hugetlb pool's order-9 tries
    (__GFP_RETRY_MAYFAIL|__GFP_NOWARN, no fallback but a smaller pool) are silent_blocking, by
    what /proc/vmstat counted; the classes never add up to more than the count."""
    with serving() as (port, _):
        if "minfree_failed_allocations_by_class_total{" not in urllib.request.urlopen(
                f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode():
            pytest.skip("no eBPF ring buffer on this kernel: the exporter counts, without classes")
        with order9_failures_recorded() as recorded:
            kernel_before = vmstat("htlb_buddy_alloc_fail")
            before = exporter_samples(port)
            grow_pool_past_memory()
            kernel = vmstat("htlb_buddy_alloc_fail") - kernel_before
            after = exporter_samples(port)
    key = 'minfree_failed_allocations_by_class_total{class="silent_blocking",order="9"}'
    assert kernel >= 1
    recorded.bounds(kernel, after.get(key, 0) - before.get(key, 0))
    classes = sum(v for k, v in after.items() if k.startswith("minfree_failed_allocations_by_class_total{"))
    total = sum(v for k, v in after.items() if k.startswith("minfree_failed_allocations_total{"))
    assert 0 < classes <= total

"""The exposition writer against prometheus-client's own, on a live reading and on hostile label values."""
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from minfree.commands.exporter import Collector
from minfree.render.prometheus import counter, exposition, families, gauge
from minfree.sources.root import SystemRoot


def parsed(text: bytes):
    return [(f.name, f.type, f.documentation, sorted((s.name, tuple(sorted(s.labels.items())), s.value)
                                                     for s in f.samples))
            for f in text_string_to_metric_families(text.decode())]


def library(metrics) -> bytes:
    class Fixed:
        def collect(self):
            return metrics
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Fixed())
    return generate_latest(registry)


@pytest.mark.live
def test_same_samples_as_prometheus_client_on_a_live_reading():
    metrics = list(families(Collector(SystemRoot("/"), None).read()))
    assert parsed(exposition(metrics)) == parsed(library(metrics))


def test_same_samples_with_escapes_and_special_values():
    g = gauge("minfree_t_bytes", 'help with \\ backslash\nand newline', labels=["zone", "device"])
    g.add(["Normal", 'we"ird\\name\n'], float("nan"))
    g.add(["DMA", "eth0"], float("inf"))
    g.add(["DMA", "eth1"], -1.5e-7)
    c = counter("minfree_c", "c.", labels=["kind"])
    c.add(["x"], 12345678901234)
    mine, theirs = parsed(exposition([g, c])), parsed(library([g, c]))
    nan = lambda rows: [(n, t, d, [(a, b, "nan" if v != v else v) for a, b, v in s]) for n, t, d, s in rows]  # noqa: E731
    assert nan(mine) == nan(theirs)

"""The exposition writer against prometheus-client's own, on a live reading and on hostile label values."""
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from minfree.commands.exporter import Collector
from minfree.render.prometheus import exposition, families
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
    gauge = GaugeMetricFamily("minfree_t_bytes", 'help with \\ backslash\nand newline', labels=["device", "zone"])
    gauge.add_metric(['we"ird\\name\n', "Normal"], float("nan"))
    gauge.add_metric(["eth0", "DMA"], float("inf"))
    gauge.add_metric(["eth1", "DMA"], -1.5e-7)
    counter = CounterMetricFamily("minfree_c", "c.", labels=["kind"])
    counter.add_metric(["x"], 12345678901234)
    mine, theirs = parsed(exposition([gauge, counter])), parsed(library([gauge, counter]))
    nan = lambda rows: [(n, t, d, [(a, b, "nan" if v != v else v) for a, b, v in s]) for n, t, d, s in rows]  # noqa: E731
    assert nan(mine) == nan(theirs)

"""The Prometheus text format as the kubelet writes it and the metrics-server reads it."""
import pytest

from labkube.metrics.prometheus import Family, Sample, parse, render


@pytest.mark.parametrize("text, want", [
    ("node_cpu_usage_seconds_total 12.5 1700000000123\n",
     [Sample("node_cpu_usage_seconds_total", {}, 12.5, 1700000000123)]),
    ('container_memory_working_set_bytes{container="web",namespace="default",pod="web-1"} 4.096e+06 17\n',
     [Sample("container_memory_working_set_bytes", {"container": "web", "namespace": "default", "pod": "web-1"},
             4096000.0, 17)]),
    ("# HELP x help text\n# TYPE x gauge\n\nx 1\n", [Sample("x", {}, 1.0, None)]),
    ('x{a="q\\"uote",b="back\\\\slash",c="new\\nline",} 2\n',
     [Sample("x", {"a": 'q"uote', "b": "back\\slash", "c": "new\nline"}, 2.0, None)]),
    ('x{ a = "1" , b="2"} NaN\n', [Sample("x", {"a": "1", "b": "2"}, float("nan"), None)]),
    ("x +Inf\ny -3\n", [Sample("x", {}, float("inf"), None), Sample("y", {}, -3.0, None)]),
])
def test_parse(text, want):
    got = parse(text)
    assert [(s.name, s.labels, s.timestamp_ms) for s in got] == [(s.name, s.labels, s.timestamp_ms) for s in want]
    assert [repr(s.value) for s in got] == [repr(s.value) for s in want]


@pytest.mark.parametrize("text, error", [
    ("x\n", "line 1: expected a value"),
    ("ok 1\n9x 1\n", "line 2: no metric name"),
    ('x{a="1" 2\n', "line 1: bad label set"),
    ("x one\n", "line 1: 'one' is not a number"),
    ("x 1 soon\n", "line 1: timestamp 'soon' is not an integer"),
    ("x 1 2 3\n", "line 1: expected a value"),
])
def test_parse_rejects_malformed_lines(text, error):
    with pytest.raises(ValueError, match=error):
        parse(text)


@pytest.mark.parametrize("samples", [
    [Sample("m", {}, 3.0, 5)],
    [Sample("m", {"pod": 'we"ird\\na\nme', "namespace": "d"}, 0.125, 1700000000000)],
    [Sample("m", {"container": "c"}, 123456789012.0, None), Sample("m", {}, 1e-9, 1)],
])
def test_render_then_parse_gives_the_samples_back(samples):
    text = render([Family("m", "a help", "counter", samples)])
    assert text.startswith("# HELP m a help\n# TYPE m counter\n")
    assert parse(text) == samples

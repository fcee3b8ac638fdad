"""The Prometheus text exposition format (version 0.0.4), as much of it as the kubelet's
`/metrics/resource` uses: `# HELP`/`# TYPE` lines, samples with labels and a millisecond
timestamp. The kubelet renders it, the metrics-server parses it back.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|(?=\}))')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


@dataclass
class Sample:
    name: str
    labels: dict = field(default_factory=dict)
    value: float = 0.0
    timestamp_ms: int | None = None


@dataclass
class Family:
    name: str
    help: str
    type: str                                   # counter | gauge
    samples: list = field(default_factory=list)


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if v != int(v) or abs(v) >= 1e15 else str(int(v))


def render(families: list[Family]) -> str:
    """The exposition text of the families, in order, each with its HELP and TYPE lines."""
    out = []
    for fam in families:
        out.append(f"# HELP {fam.name} {fam.help}")
        out.append(f"# TYPE {fam.name} {fam.type}")
        for s in fam.samples:
            labels = ",".join(f'{k}="{_escape(str(v))}"' for k, v in s.labels.items())
            line = f"{s.name}{{{labels}}} {_number(s.value)}" if labels else f"{s.name} {_number(s.value)}"
            if s.timestamp_ms is not None:
                line += f" {int(s.timestamp_ms)}"
            out.append(line)
    return "\n".join(out) + "\n"


def _labels(text: str, lineno: int) -> tuple[dict, str]:
    """Parse `{a="x",b="y"} rest` -> ({a: x, b: y}, rest)."""
    labels, pos = {}, 1
    while True:
        rest = text[pos:].lstrip()
        if rest.startswith("}"):
            return labels, rest[1:]
        m = _LABEL.match(text, pos)
        if m is None:
            raise ValueError(f"line {lineno}: bad label set {text[:80]!r}")
        labels[m.group(1)] = re.sub(r'\\[\\"n]', lambda e: _UNESCAPE[e.group(0)], m.group(2))
        pos = m.end()


def _value(text: str, lineno: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"line {lineno}: {text!r} is not a number") from None


def parse(text: str) -> list[Sample]:
    """Every sample in the text (comments skipped); ValueError naming the line when malformed."""
    out = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _NAME.match(line)
        if m is None:
            raise ValueError(f"line {lineno}: no metric name in {line[:80]!r}")
        name, rest = m.group(0), line[m.end():]
        labels = {}
        if rest.startswith("{"):
            labels, rest = _labels(rest, lineno)
        fields = rest.split()
        if len(fields) not in (1, 2):
            raise ValueError(f"line {lineno}: expected a value and an optional timestamp after {name}")
        ts = None
        if len(fields) == 2:
            try:
                ts = int(fields[1])
            except ValueError:
                raise ValueError(f"line {lineno}: timestamp {fields[1]!r} is not an integer") from None
        out.append(Sample(name, labels, _value(fields[0], lineno), ts))
    return out

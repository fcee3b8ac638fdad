"""The metrics-server's memory: per node and per container the last two readings of the
latest scrapes, and the usage computed from them as metrics-server does it: CPU is a rate,
(cpu seconds now - cpu seconds before) / (time now - time before), reported in nanocores over
that window; memory is the last working set. A counter that went backwards or a container whose
start time changed (a restart) starts over, so its rate waits for the next scrape; a container
seen once is measured from its start time (metrics-server's first point for new containers). Only the
latest window is kept: each scrape replaces what a node reported before, and a node or
container missing from a scrape is forgotten.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    """One reading: when (seconds since the epoch), cumulative CPU seconds, working set bytes."""
    timestamp: float
    cpu_seconds: float
    memory_bytes: int
    start_time: float = 0.0


@dataclass(frozen=True)
class Usage:
    """What the API serves: CPU in nanocores over `window` seconds ending at `timestamp`."""
    timestamp: float
    window: float
    cpu_nanocores: int
    memory_bytes: int


def usage(prev: Point | None, last: Point) -> Usage | None:
    """The usage between two readings, or None when they cannot make a rate."""
    if prev is None or last.timestamp <= prev.timestamp or last.cpu_seconds < prev.cpu_seconds \
            or last.start_time != prev.start_time:
        return None
    window = last.timestamp - prev.timestamp
    rate = (last.cpu_seconds - prev.cpu_seconds) / window
    return Usage(last.timestamp, window, int(round(rate * 1e9)), last.memory_bytes)


def first_usage(last: Point) -> Usage | None:
    """A container's usage from its only reading, counting from its start (its CPU counter began
    at zero then), as metrics-server does for new containers; None without a start time."""
    if last.start_time <= 0 or last.timestamp <= last.start_time:
        return None
    return usage(Point(last.start_time, 0.0, 0, last.start_time), last)


@dataclass
class NodeScrape:
    """What one scrape of a node's kubelet said: the node and its containers keyed
    (namespace, pod, container)."""
    node: Point | None
    containers: dict


class _Pair:
    __slots__ = ("prev", "last")

    def __init__(self, last: Point):
        self.prev, self.last = None, last

    def push(self, p: Point) -> "_Pair":
        if p.timestamp > self.last.timestamp:
            self.prev, self.last = self.last, p
        return self


class MetricsStore:
    def __init__(self):
        self._nodes: dict[str, _Pair] = {}
        self._containers: dict[tuple[str, str, str], _Pair] = {}
        self._node_of_container: dict[tuple[str, str, str], str] = {}

    def store(self, batch: dict[str, NodeScrape]) -> None:
        """Take one scrape cycle's results {node name: NodeScrape}; nodes not in it are dropped."""
        nodes, containers, owner = {}, {}, {}
        for name, scrape in batch.items():
            if scrape.node is not None:
                old = self._nodes.get(name)
                nodes[name] = old.push(scrape.node) if old is not None else _Pair(scrape.node)
            for key, p in scrape.containers.items():
                old = self._containers.get(key)
                containers[key] = old.push(p) if old is not None else _Pair(p)
                owner[key] = name
        self._nodes, self._containers, self._node_of_container = nodes, containers, owner

    def node_usage(self, name: str) -> Usage | None:
        pair = self._nodes.get(name)
        return usage(pair.prev, pair.last) if pair is not None else None

    def nodes(self) -> dict[str, Usage]:
        out = {n: usage(p.prev, p.last) for n, p in self._nodes.items()}
        return {n: u for n, u in out.items() if u is not None}

    def pods(self) -> dict[tuple[str, str], dict[str, Usage]]:
        """{(namespace, pod): {container: Usage}}; a pod is left out until every container it
        reported has a rate (as metrics-server does)."""
        out: dict[tuple[str, str], dict[str, Usage]] = {}
        incomplete = set()
        for (ns, pod, c), pair in self._containers.items():
            u = usage(pair.prev, pair.last) if pair.prev is not None else first_usage(pair.last)
            if u is None:
                incomplete.add((ns, pod))
            else:
                out.setdefault((ns, pod), {})[c] = u
        return {k: v for k, v in out.items() if k not in incomplete}

"""Pod stamps for benchmarks: a pod informer over one namespace that records when each pod was
first seen at all, bound to a node, Running and Ready (client-side clock), plus `until`, the
polling wait the benchmarks use. Shared by bench/pods.py and bench/scale.py.

The benchmark process shares the cores with the components it measures, so the tracker's watch
lines are read by `StampLines` (the informer's line predicate), which makes each pod's small view
(`stamp_view`) with as little decoding and as few calls as it can, the same view a whole decode
gives; lists, relists, 410s and the lines it leaves alone go through the informer as before.
"""
from __future__ import annotations

import asyncio
import re
import time
from typing import Callable

from labkube.client.informer import Informer, object_key
from labkube.client.watchlines import ADDED, LIMIT, MODIFIED, STATUS, parts
from labkube.client.watchlines import NODE_NAME as NODE

try:
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - orjson is a dependency
    from json import loads as _loads

PLAIN = re.compile(rb'[^\x00-\x20"\\\x7f-\xff]+')          # printable ASCII but space, '"' and '\\'


def stamp_view(pod: dict) -> dict:
    """The little of a pod the tracker reads (names, node, phase, conditions): cheaper to build
    than the informer's default compact copy of the whole pod, and the benchmark process shares
    the cores with the components it measures (literals, not comprehensions: this runs on every
    pod event of the drain)."""
    md, st = pod.get("metadata") or {}, pod.get("status") or {}
    return {"metadata": {"name": md.get("name"), "namespace": md.get("namespace"),
                         "resourceVersion": md.get("resourceVersion")},
            "spec": {"nodeName": (pod.get("spec") or {}).get("nodeName")},
            "status": {"phase": st.get("phase"), "conditions": st.get("conditions")}}


def status_tail(line: bytes, st: int) -> dict | None:
    """The object's status when `,"status":{` at `st` is its last top-level key, else None
    (`watchlines.tail_status`, decoded by orjson: the tracker reads no number of the status)."""
    try:
        rest = _loads(b"{" + line[st + 1:-1])
    except ValueError:
        return None
    if type(rest) is not dict or len(rest) != 1 or type(rest.get("status")) is not dict:
        return None
    return rest["status"]


def plain_members(obj: dict, keys: list) -> bytes | None:
    """The compact JSON text `,"<key>":"<value>"` of each of `keys` in `obj` when every key and
    value is a string of printable ASCII without space, quotes or backslashes (text with one
    way to be written), else None."""
    out = []
    for k in keys:
        v = obj[k]
        if type(v) is not str or not PLAIN.fullmatch(k.encode()) or not PLAIN.fullmatch(v.encode()):
            return None
        out.append(b',"%s":"%s"' % (k.encode(), v.encode()))
    return b"".join(out)


def bound_node(body: bytes, old: bytes, b0: int, se: int, st0: int) -> str | None:
    """The node name when `body` is `old[b0:st0]` with `,"nodeName":"<name>"` put before spec's
    closing brace (the byte before `se`; `old[se:st0]`: the members between spec and status),
    the name printable ASCII without space, quotes or backslashes; else None."""
    n = se - b0 - 1
    rest = old[se:st0]
    end = len(body) - len(rest) - 2
    if (end <= n + len(NODE) or body[n:n + len(NODE)] != NODE or not body.endswith(b'"}' + rest)
            or body[:n] != old[b0:se - 1]):
        return None
    name = body[n + len(NODE):end]
    return name.decode("ascii") if PLAIN.fullmatch(name) else None


class StampLines:
    """The tracker informer's line predicate (`Client.watch(decode_line=)`). An ADDED or MODIFIED
    pod line of the apiserver's shape (cut by `labkube.client.watchlines.parts`) is made into the
    `stamp_view` a whole decode gives and handed to `Informer.deliver` (the informer's resume
    point moved to the line's resourceVersion first, as handle_event does); any other line (DELETED,
    BOOKMARK, ERROR, another shape, text the checks below decline) returns True and the informer
    decodes and dispatches it whole, as before.

    - a MODIFIED line whose text, but for the resourceVersion's value, the managedFields list's
      content and the status, is byte for byte the line the pod's cached view was made from here
      (the fingerprint of the hollow kubelets' LineReader: the part before the managedFields
      content, then the text from the resourceVersion's closing quote to the last
      `,"status":{`), or is that line with `,"nodeName":"<name>"` closing its spec (a binding,
      `bound_node`; only from a line whose spec, an object without nodeName, is followed by
      members with plain string values - the apiserver writes apiVersion and kind there - and
      then status), keeps the view's name, namespace and node (or takes the bound node) and takes
      the resourceVersion and the status's phase and conditions from its decoded tail
      (`status_tail`: `{` + the tail is an object with the one key `status`, an object).
    - any other ADDED or MODIFIED line is decoded with orjson with its managedFields list's
      content cut out when `parts` found one (then the decoded metadata must hold
      `"managedFields":[]` and the resourceVersion found, as in `watchlines.decode_cut`), else
      whole (its metadata's resourceVersion must be the one found). The tracker reads no number,
      so orjson's reading of integers beyond 64 bits (where jsonio falls back to the standard
      library) changes no view; text orjson refuses goes to the informer. Its fingerprint is
      registered when its last `,"status":{` is its only one and the object's last member (its
      tail decodes to `{"status": {...}}`).

    The apiserver's lines are compact JSON of dicts (no member twice). A fingerprint is kept per
    pod for the view the line left in the cache (used while that view is still the cached one: a
    relist or a deletion replaces it), at most `limit` (the oldest go first)."""

    def __init__(self, informer: Informer, limit: int = LIMIT):
        self.informer = informer
        self.limit = limit
        # the part of a line before its managedFields content (or resourceVersion value) ->
        # (key, cached view, line, body start, status start, spec's end when a binding may be read
        # from it (the byte after its closing brace) else -1)
        self._views: dict[bytes, tuple[str, dict, bytes, int, int, int]] = {}
        self._keys: dict[str, bytes] = {}                   # key -> head
        self._between: dict[tuple, bytes | None] = {}       # members between spec and status -> text
        self.applied = 0                                    # lines read from their status tail
        self.decoded = 0                                    # lines decoded here
        informer.decode_line = self.wanted

    def wanted(self, line: bytes) -> bool:
        """False when the line was taken here; True: the informer decodes it."""
        if line.startswith(MODIFIED):
            typ, p = "MODIFIED", 29
        elif line.startswith(ADDED):
            typ, p = "ADDED", 26
        else:
            return True
        got = parts(line, p)
        if got is None:
            return True
        rv, m0, m1, v1, st = got
        head = line[p:m0] if m0 >= 0 else line[p:v1 - len(rv)]
        inf = self.informer
        if st >= 0 and typ == "MODIFIED":
            held = self._views.get(head)
            if held is not None and inf.cache.get(held[0]) is held[1]:
                key, view, old, b0, st0, se = held
                body = line[v1:st]
                node = None
                if body == old[b0:st0] or (se >= 0 and (node := bound_node(body, old, b0, se, st0)) is not None):
                    status = status_tail(line, st)
                    if status is not None:
                        md = view["metadata"]
                        new = {"metadata": {"name": md["name"], "namespace": md["namespace"], "resourceVersion": rv},
                               "spec": view["spec"] if node is None else {"nodeName": node},
                               "status": {"phase": status.get("phase"), "conditions": status.get("conditions")}}
                        inf.last_rv = rv
                        inf.deliver("MODIFIED", new, key)
                        self.applied += 1
                        # its text before the status is the registered line's (but for the cut
                        # parts): st is where the object's status starts, as it was there
                        self._register(head, key, new, line, v1, st, -1)
                        return False
        try:
            ev = _loads(line[:m0] + line[m1:] if m0 >= 0 else line)
        except ValueError:
            return True                 # the informer's own decode decides (and raises if it must)
        obj = ev.get("object") if type(ev) is dict else None
        if type(obj) is not dict or ev.get("type") != typ:
            return True
        md = obj.get("metadata")
        if type(md) is not dict or md.get("resourceVersion") != rv or (m0 >= 0 and md.get("managedFields") != []):
            return True
        inf.last_rv = rv                # before the view, as handle_event: a view that raises keeps it
        view = stamp_view(obj)
        key = object_key(view)
        inf.deliver(typ, view, key)
        self.decoded += 1
        if st >= 0 and line.find(STATUS, p) == st and status_tail(line, st) is not None:
            self._register(head, key, view, line, v1, st, self._spec_end(obj, line, st))
        else:
            self._drop(key)
        return False

    def _spec_end(self, obj: dict, line: bytes, st: int) -> int:
        """Where a later binding may put `,"nodeName":"..."` closing this line's spec (the byte
        after spec's closing brace), or -1: spec (an object, not empty, without nodeName) is
        followed only by members with plain string values and then status, the last member; the
        text of those members (one way to write each) stands right before status."""
        spec = obj.get("spec")
        if type(spec) is not dict or not spec or "nodeName" in spec:
            return -1
        keys = list(obj)
        if keys[-1] != "status" or "spec" not in keys:
            return -1
        between = tuple((k, obj[k]) for k in keys[keys.index("spec") + 1:-1])
        if not all(type(v) is str for _, v in between):
            return -1
        text = self._between.get(between, False)
        if text is False:
            text = plain_members(obj, [k for k, _ in between])
            if len(self._between) < 64:
                self._between[between] = text
        if text is None or not line.endswith(text, 0, st) or line[st - len(text) - 1] != 125:
            return -1
        return st - len(text)

    def _register(self, head: bytes, key: str, view: dict, line: bytes, v1: int, st: int, se: int) -> None:
        old = self._keys.pop(key, None)
        if old is not None:
            self._views.pop(old, None)
        if len(self._views) >= self.limit:
            self._drop(self._views[next(iter(self._views))][0])
        self._views[head] = (key, view, line, v1, st, se)
        self._keys[key] = head

    def _drop(self, key: str) -> None:
        head = self._keys.pop(key, None)
        if head is not None:
            self._views.pop(head, None)

    def __len__(self) -> int:
        return len(self._views)


class PodTracker:
    """When each pod (by name) of `namespace` was first seen, bound, Running and Ready, by `clock`
    (time.time by default; time.monotonic to compare with monotonic phase starts), and its node."""

    def __init__(self, client, namespace: str, clock: Callable[[], float] = time.time):
        self.inf = Informer(client, "pods", namespace=namespace, transform=stamp_view)
        self.clock = clock
        self.created: dict[str, float] = {}
        self.bound: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.ready: dict[str, float] = {}
        self.nodes: dict[str, str] = {}
        self.updates = 0                   # pod updates seen (each one a write to the apiserver)
        self.lines = StampLines(self.inf)
        self.inf.add_handlers(self._seen, self._updated, None)

    async def start(self) -> "PodTracker":
        """Start the informer and wait for its first list."""
        self.inf.start()
        await self.inf.wait_synced()
        return self

    async def stop(self) -> None:
        await self.inf.stop()

    def _updated(self, old: dict, new: dict) -> None:
        self.updates += 1
        self._seen(new)

    def _seen(self, pod: dict) -> None:
        """Stamp what `pod` shows for the first time (a stamp, once set, stays)."""
        name, now = pod["metadata"]["name"], self.clock()
        if name not in self.created:
            self.created[name] = now
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            if name not in self.bound:
                self.bound[name] = now
            self.nodes[name] = node
        if name in self.ready and name in self.running:
            return
        st = pod.get("status") or {}
        if st.get("phase") == "Running" and name not in self.running:
            self.running[name] = now
        if name not in self.ready:
            for c in st.get("conditions") or ():
                if c.get("type") == "Ready" and c.get("status") == "True":
                    self.ready[name] = now
                    break


async def until(pred: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Poll pred() every `step` seconds until it holds (True) or `timeout` passes (its last value)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(step)
    return pred()

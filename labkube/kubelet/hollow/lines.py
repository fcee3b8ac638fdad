"""LineReader: an informer's pod watch lines read with less than a whole decode, for informers
whose views never read `metadata.managedFields` (the hollow kubelets' `pod_view`, the benchmark
tracker's `stamp_view`).

Per pod of a drain such an informer receives the binding (MODIFIED, ~2.9 kB, of which the
managedFields list is ~1.3 kB) and the kubelet's Running status write (MODIFIED, ~4.4 kB: ~2 kB
of managedFields, ~1 kB of status). `wanted(line)` becomes the informer's line predicate
(`Client.watch(decode_line=)`) and hands the informer, through its public `handle_event`, the
event a whole decode would have given as far as the views can tell:

- a status write: when the line but for the resourceVersion's value, the managedFields list's
  content and the status is byte for byte the line the pod's cached view was built from (the
  fingerprint, as in `labkube.scheduler.statuslines`), only the status tail is decoded, and the
  informer gets `{"metadata": the view's metadata with the new resourceVersion, "spec": the
  view's spec, "status": the decoded status}`: the view's transform gives from it what it gives
  from the whole object (a transform that keeps fields of metadata and spec and reads the status
  alone: both views here), its select the same answer, and the handlers run as for the decoded
  event;
- any other MODIFIED line of that shape: decoded with the managedFields list's content
  cut out (`"managedFields":[]`), which no view reads; everything else is decoded as it is (the
  decoded metadata must then hold `"managedFields":[]` and the resourceVersion found, or the line
  goes to the informer whole).

The apiserver writes compact JSON, type first: `{"type":"MODIFIED","object":{...}}`, metadata
before spec and status. The managedFields list is cut only when its first `]` is the one right
before `,"resourceVersion":"` and that is the only `"resourceVersion":"` before the tail (a `]`
in a string or a nested list, or another member between the two, declines); the status tail is
the last `,"status":{` to the end, and it is used only when `{` + it (without the event's closing
brace) decodes to an object with the one key `status`, an object (so it is a top-level key of the
object, and its last). Anything else (ADDED: a pod's creation, read once and rarely followed by a
status write alone; DELETED, BOOKMARK, ERROR, another shape, a resourceVersion that is not digits)
is left to the informer's own decode: `wanted` returns True. A line the
informer's own predicate (its select_hint) skips is skipped as before.

A fingerprint is registered for the view a MODIFIED line read here left in the cache and used once (the next
status write of that pod); at most `LIMIT` are kept (the oldest go first), each holding its
line (~3-4 kB).
"""
from __future__ import annotations

from labkube import jsonio
from labkube.client.informer import object_key

MODIFIED = b'{"type":"MODIFIED","object":{'
STATUS = b',"status":{'
MANAGED = b'"managedFields":['
RV = b'"resourceVersion":"'
LIMIT = 4096


def parts(line: bytes, start: int) -> tuple[str, int, int, int, int] | None:
    """(resourceVersion, managedFields content start (-1: none), its end, resourceVersion value
    end, status tail start (-1: none)) of an object's line from `start`, or None when the line is
    not of the shape above."""
    if not line.endswith(b"}}"):
        return None
    st = line.rfind(STATUS, start)
    end = st if st >= 0 else len(line)
    v = line.find(RV, start, end)
    if v < 0 or line.find(RV, v + 1, end) >= 0:
        return None
    v0 = v + len(RV)
    v1 = line.find(b'"', v0, end)
    if v1 < 0:
        return None
    rv = line[v0:v1]
    if not rv.isdigit():
        return None
    m = line.find(MANAGED, start, end)
    if m < 0:
        return rv.decode(), -1, -1, v1, st
    m += len(MANAGED)
    # the list's first "]" must be the one right before ',"resourceVersion":"'
    if m > v or line.find(b"]", m, v) != v - 2 or line[v - 1] != 44:
        return None
    return rv.decode(), m, v - 2, v1, st


def tail_status(line: bytes, st: int) -> dict | None:
    """The object's status when `,"status":{` at `st` is its last top-level key, else None."""
    try:
        rest = jsonio.loads(b"{" + line[st + 1:-1])
    except ValueError:
        return None
    if type(rest) is not dict or len(rest) != 1 or type(rest.get("status")) is not dict:
        return None
    return rest["status"]


class LineReader:
    """Installs itself as `informer.decode_line` (keeping the predicate already there, e.g. a
    select_hint's, in front of it)."""

    def __init__(self, informer, limit: int = LIMIT):
        self.informer = informer
        self.limit = limit
        self.skip = informer.decode_line
        self.kind, self.api_version = informer.resource.kind, informer.resource.api_version
        # the part of a line before its managedFields content (or resourceVersion value) ->
        # (key, cached view, line, body start, status start)
        self._views: dict[bytes, tuple[str, dict, bytes, int, int]] = {}
        self._keys: dict[str, bytes] = {}                   # key -> head
        self.read = 0                                       # lines handed to the informer from here
        self.applied = 0                                    # of which status writes applied from their tail
        self.cut = 0                                        # lines decoded without managedFields
        informer.decode_line = self.wanted

    def wanted(self, line: bytes) -> bool:
        """False when the line was handed to the informer here (or skipped by the predicate in
        front); True: the informer decodes it itself."""
        if self.skip is not None and not self.skip(line):
            return False
        if not line.startswith(MODIFIED):
            return True
        p = len(MODIFIED)
        got = parts(line, p)
        if got is None:
            return True
        rv, m0, m1, v1, st = got
        head = line[p:m0] if m0 >= 0 else line[p:v1 - len(rv)]
        inf = self.informer
        if st >= 0:
            held = self._views.get(head)
            if held is not None and inf.cache.get(held[0]) is held[1] and line[v1:st] == held[2][held[3]:held[4]]:
                status = tail_status(line, st)
                if status is not None:
                    self._drop(held[0])
                    view = held[1]
                    md = dict(view["metadata"])
                    md["resourceVersion"] = rv
                    inf.handle_event({"type": "MODIFIED", "object": {"metadata": md, "spec": view.get("spec"),
                                                              "status": status}})
                    self.applied += 1
                    self.read += 1
                    return False
        text = line[:m0] + line[m1:] if m0 >= 0 else line
        try:
            ev = jsonio.loads(text)
        except ValueError:
            return True                 # the informer's own decode raises as it always did
        obj = ev.get("object")
        if type(obj) is not dict or ev.get("type") != "MODIFIED":
            return True
        md = obj.get("metadata")
        if m0 >= 0 and (type(md) is not dict or md.get("managedFields") != [] or md.get("resourceVersion") != rv):
            return True                 # the list cut was not metadata's own: decode it whole
        if m0 >= 0:
            self.cut += 1
        obj.setdefault("kind", self.kind)
        obj.setdefault("apiVersion", self.api_version)
        inf.handle_event(ev)
        self.read += 1
        key = object_key(obj)
        self._drop(key)
        view = inf.cache.get(key)
        if view is not None and st >= 0:
            if len(self._views) >= self.limit:
                self._drop(self._views[next(iter(self._views))][0])
            self._views[head] = (key, view, line, v1, st)
            self._keys[key] = head
        return False

    def _drop(self, key: str) -> None:
        head = self._keys.pop(key, None)
        if head is not None:
            self._views.pop(head, None)

    def __len__(self) -> int:
        return len(self._views)

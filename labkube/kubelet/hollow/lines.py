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
- a binding: when the pod's view was built from a line (its creation) whose spec, an object
  without nodeName, is followed by nothing but plain string members (the apiserver writes
  `"apiVersion":"v1","kind":"Pod"` there, `spec_end`) and then by status (the last member, whose
  `,"status":{` is that line's only one), and the new line is that one but for the
  resourceVersion, the managedFields content, the status and `,"nodeName":"<name>"` put before
  spec's closing brace (the name printable ASCII without quotes or backslashes; the plain members
  unchanged), only the status tail is decoded as
  above and the view's spec gets `nodeName`; the binding's line is then registered for the
  Running write that follows (the tracker reads every line of a pod: creation, binding, Running;
  the hollow kubelets' select_hint skips the creation, so they decode the binding);
- a status write this process announced (`expect`: the hollow kubelets' own Running writes):
  as a status write above, but the status tail is compared byte for byte with the encoding of
  the status written (its members in the order the apiserver stored the last one in, learned
  from a decoded one) instead of decoded; a mismatch decodes the tail;
- any other ADDED or MODIFIED line of that shape: decoded with the managedFields list's content
  cut out (`"managedFields":[]`), which no view reads; everything else is decoded as it is (the
  decoded metadata must then hold `"managedFields":[]` and the resourceVersion found, or the line
  goes to the informer whole).

The apiserver writes compact JSON, type first: `{"type":"MODIFIED","object":{...}}`, metadata
before spec and status; the line is cut by the shared `labkube.client.watchlines.parts`. The
managedFields list is cut only when its first `]` is the one right before `,"resourceVersion":"`
and that is the only `"resourceVersion":"` before the tail (a `]` in a string or a nested list,
or another member between the two, declines); the status tail is the last `,"status":{` to the
end, and it is used only when `{` + it (without the event's closing brace) decodes to an object
with the one key `status`, an object (so it is a top-level key of the object, and its last).
Anything else (DELETED, BOOKMARK, ERROR, another shape, a resourceVersion that is not digits) is
left to the informer's own decode: `wanted` returns True. A line the informer's own predicate
(its select_hint) skips is skipped as before.

The hollow kubelets' binding (no view here: their select_hint skips the creation) is decoded whole
but for the managedFields content. Reading only its metadata and status, with the spec's view
taken from a cache of the template's spec texts (the per-pod service-account volume name masked),
was tried and measured no faster: metadata alone is ~30 % of the decode, status ~17 %, and
finding, masking and hashing the spec's text cost about what decoding it does (binding line 15.1
-> 16.1 us, 2,000 pods, min of 15).

A fingerprint is registered for the view a line read here left in the cache and used once (the
next write of that pod; a binding read from it registers its own line); at most `LIMIT` are kept
(the oldest go first), each holding its line (~3-4 kB).
"""
from __future__ import annotations

import re

from labkube import jsonio
from labkube.client.informer import object_key
from labkube.client.watchlines import ADDED, LIMIT, MODIFIED, STATUS, decode_cut, parts, tail_status
from labkube.client.watchlines import NODE_NAME as NODE

NODE_NAME = re.compile(rb'[^\x00-\x20"\\\x7f-\xff]+')       # printable ASCII but '"' and '\\'
PLAIN = re.compile(r'[A-Za-z0-9._/-]+')                     # a plain member's key or value (apiVersion, kind)
MISSES = 64                                                 # expected status lines decoded in a row: expect() stops
PLAIN_SHAPES = 64                                           # plain members' texts remembered (plain_text)
_PLAIN_TEXTS: dict[tuple, bytes | None] = {}


def bound_to(body: bytes, old: bytes, b0: int, se: int, st0: int) -> str | None:
    """The node name when `body` is `old[b0:st0]` with `,"nodeName":"<name>"` put before the byte
    at `se` (spec's closing brace), the name printable ASCII without quotes or backslashes; else
    None."""
    n = se - b0
    rest = st0 - se                     # spec's closing brace and the plain members after spec
    if (len(body) <= n + len(NODE) + rest + 1 or old[se] != 125 or body[n:n + len(NODE)] != NODE
            or body[-rest - 1] != 34 or body[-rest:] != old[se:st0] or body[:n] != old[b0:se]):
        return None
    name = body[n + len(NODE):-rest - 1]
    return name.decode("ascii") if NODE_NAME.fullmatch(name) else None


def plain_text(items: tuple) -> bytes | None:
    """`,"k":"v"` for each (k, v) of `items` (strings) when all are plain (letters, digits, `.`, `_`,
    `/`, `-`), else None; remembered (a watch has one or two such shapes: apiVersion and kind)."""
    try:
        return _PLAIN_TEXTS[items]
    except KeyError:
        pass
    text: bytes | None = b""
    for k, v in items:
        if not PLAIN.fullmatch(k) or not PLAIN.fullmatch(v):
            text = None
            break
        text += b',"%s":"%s"' % (k.encode(), v.encode())
    if len(_PLAIN_TEXTS) < PLAIN_SHAPES:
        _PLAIN_TEXTS[items] = text
    return text


def spec_end(obj: dict, line: bytes, st: int) -> int:
    """Where spec's closing brace is in `line`, when a later binding may be read as this line with
    `,"nodeName":"..."` put before it: spec (an object, not empty, without nodeName) is followed
    only by plain string members (the apiserver's `"apiVersion":"v1","kind":"Pod"`, see
    `plain_text`), written compact right after spec's brace, and then by status, the last member,
    whose `,"status":{` at `st` is the line's only one; else -1.

    The plain members' text is checked byte for byte, preceded by a `}`: such a text cannot begin
    inside a string of other text (no character of a plain member may follow a string's closing
    quote), so that `}` is spec's own."""
    spec = obj.get("spec")
    if type(spec) is not dict or not spec or "nodeName" in spec:
        return -1
    keys = list(obj)
    if keys[-1] != "status":
        return -1
    at = keys.index("spec") + 1
    if at == len(keys) - 1:
        se = st - 1
    else:
        items = []
        for k in keys[at:-1]:
            v = obj[k]
            if type(v) is not str:
                return -1
            items.append((k, v))
        text = plain_text(tuple(items))
        if text is None:
            return -1
        se = st - len(text) - 1
        if se < 0 or line[se + 1:st] != text:
            return -1
    return se if line[se] == 125 and line.find(STATUS) == st else -1


class LineReader:
    """Installs itself as `informer.decode_line` (keeping the predicate already there, e.g. a
    select_hint's, in front of it)."""

    def __init__(self, informer, limit: int = LIMIT):
        self.informer = informer
        self.limit = limit
        self.skip = informer.decode_line
        self.kind, self.api_version = informer.resource.kind, informer.resource.api_version
        # the part of a line before its managedFields content (or resourceVersion value) ->
        # (key, cached view, line, body start, status start, spec's closing brace: a binding may be
        # read from it (-1: not))
        self._views: dict[bytes, tuple[str, dict, bytes, int, int, int]] = {}
        self._keys: dict[str, bytes] = {}                   # key -> head
        self.read = 0                                       # lines handed to the informer from here
        self.applied = 0                                    # of which status writes applied from their tail
        self.cut = 0                                        # lines decoded without managedFields
        self.expected = 0                                   # of the applied, taken as expected (expect())
        self._expected: dict[str, dict] = {}                # key -> the status written for it (expect())
        self._order: tuple = ()                             # a written status's keys as stored (learned)
        self.misses = 0                                     # expected status lines decoded since the last taken
        informer.decode_line = self.wanted

    def expect(self, key: str, status: dict) -> None:
        """`status` is being written whole for pod `key` by this process (the hollow kubelets'
        Running status: a merge patch of status, every member replaced). Its watch line, if read
        from its status tail, is then matched against the status's own encoding instead of decoded
        (`_as_expected`). The status must be made of JSON's own types (dict, list, str, int,
        bool, None), so that decoding its encoding gives it back, and must not change afterwards.
        At most `limit` are kept (the oldest go first); one is used (or dropped) by the pod's next
        status line read from its tail. After `MISSES` such lines in a row decoded all the same
        (the apiserver stores the statuses otherwise), expecting stops: each costs an encode."""
        if self.misses >= MISSES:
            return
        if len(self._expected) >= self.limit:
            del self._expected[next(iter(self._expected))]
        self._expected[key] = status

    def forget(self, key: str) -> None:
        """The status expected for `key` was not written after all (the write failed)."""
        self._expected.pop(key, None)

    def _as_expected(self, line: bytes, st: int, want: dict) -> dict | None:
        """`want` with its members in the order the apiserver stored the last such status in,
        when the line's status text (from `,"status":{` at `st` to the object's closing brace) is
        byte for byte that dict's encoding: decoding it would give an equal dict (key order too);
        else None (the tail is decoded). The order is learned from a status decoded equal to the
        one expected; the members themselves are `want`'s (shared, not copied)."""
        order = self._order
        if len(order) != len(want):
            return None
        got = {}
        for k in order:
            if k not in want:
                return None
            got[k] = want[k]
        return got if line[st + len(STATUS) - 1:-2] == jsonio.dumps(got) else None

    def wanted(self, line: bytes) -> bool:
        """False when the line was handed to the informer here (or skipped by the predicate in
        front); True: the informer decodes it itself."""
        if self.skip is not None and not self.skip(line):
            return False
        if line.startswith(MODIFIED):
            typ, p = "MODIFIED", len(MODIFIED)
        elif line.startswith(ADDED):
            typ, p = "ADDED", len(ADDED)
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
                if body != old[b0:st0]:
                    node = bound_to(body, old, b0, se, st0) if se >= 0 else None
                    if node is None:
                        held = None
                if held is not None:
                    want = self._expected.pop(key, None) if self._expected else None
                    status = self._as_expected(line, st, want) if want is not None else None
                    if status is None:
                        status = tail_status(line, st)
                        if want is not None:
                            self.misses += 1
                            if status == want and tuple(status) != self._order:
                                self._order = tuple(status)     # the key order the apiserver stored it in
                    else:
                        self.expected += 1
                        self.misses = 0
                    if status is not None:
                        self._drop(key)
                        md = dict(view["metadata"])
                        md["resourceVersion"] = rv
                        spec = view.get("spec")
                        if node is not None:
                            spec = {**spec, "nodeName": node}
                        inf.handle_event({"type": "MODIFIED", "object": {"metadata": md, "spec": spec,
                                                                          "status": status}})
                        self.applied += 1
                        self.read += 1
                        if node is not None:        # the binding: its Running write comes next
                            self._register(head, key, line, v1, st, -1)
                        return False
        if m0 >= 0:
            ev = decode_cut(line, m0, m1, typ, rv)
            if ev is None:
                return True             # the informer decodes it whole (and raises if it must)
            self.cut += 1
        else:
            try:
                ev = jsonio.loads(line)
            except ValueError:
                return True             # the informer's own decode raises as it always did
            if type(ev.get("object")) is not dict or ev.get("type") != typ:
                return True
        obj = ev["object"]
        obj.setdefault("kind", self.kind)
        obj.setdefault("apiVersion", self.api_version)
        inf.handle_event(ev)
        self.read += 1
        key = object_key(obj)
        self._drop(key)
        if st >= 0:
            self._register(head, key, line, v1, st, spec_end(obj, line, st))
        return False

    def _register(self, head: bytes, key: str, line: bytes, v1: int, st: int, se: int) -> None:
        view = self.informer.cache.get(key)
        if view is None:
            return
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

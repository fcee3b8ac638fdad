"""StatusLines: a bound pod's status write applied to its cached view straight from the watch line,
without decoding the line whole or running the pod handlers.

Most pod events a scheduler receives in a drain are the kubelets' status writes of pods already
bound (Pending -> Running, Ready): they change nothing scheduling reads (resources, labels, owners,
node, deletion, whether the pod is terminal), yet decoding a 4 kB line, building its view and
running the handlers cost as much as a third of the scheduling cycle. `wanted(line)` is the pod
informer's line predicate (`Client.watch(decode_line=)`): False means the line was applied here
and is not decoded.

A MODIFIED line is applied only when it provably yields the view a full decode would give, with
the same effect on the handlers (none). Its text is split as the apiserver writes it (compact
JSON, `{"type":"MODIFIED","object":{...}}`):

- the tail: the last `,"status":{` to the end. `{` + the tail without the event's closing brace
  is decoded; it is valid JSON only when that key is a top-level key of the object, and it must
  hold the status and nothing else (so status is the object's last key). The status must not be
  terminal nor carry a nominatedNodeName (the handlers act on those).
- the rest: everything before the tail but the value of metadata.resourceVersion (the only
  `"resourceVersion":"` in it, digits) and, when there is one, the content of the
  `"managedFields":[` list, taken only when the list's first `]` is followed by
  `,"resourceVersion":"` (a `]` inside it, in a string or a nested list, or another member
  between the two declines). This text (the fingerprint: the head before the cut spans, found
  by the view's key, and the body after them) must equal, byte for byte, the one of the line the
  cached view was built from, registered when that line was decoded (`decoded`, from the
  informer's transform) for a bound, non-terminal pod without a nominatedNodeName or
  deletionTimestamp: the same kind, apiVersion, metadata (name, namespace, uid, labels, owners,
  annotations ...) and spec. A registration is used once (the view it was for has changed) and
  at most `LIMIT` are kept (the oldest go first), each holding its line: what this keeps is the
  bound pods whose next status write has not come yet, ~4 kB each.
- the cached view must still be the object registered (a relist or a later event replaces it),
  and `settled(key)` true: the scheduler passes "nothing in the queue for it, not nominated",
  the only state its update handler would change for such a pod.

The view is then updated in place as a decode would have built it: the new resourceVersion, the
status part rebuilt from the decoded status (`views.status_part`), keys in the same order; the
informer's resume point (`last_rv`) moves as for a decoded event. Anything else, or any doubt
(another shape, a second marker, invalid JSON), decodes the line as before.
"""
from __future__ import annotations

import sys

from labkube import jsonio
from labkube.client.informer import object_key

from .views import status_part

HEAD = b'{"type":"MODIFIED","object":{'
STATUS = b',"status":{'
MANAGED = b'"managedFields":['
RV = b'"resourceVersion":"'
TERMINAL = ("Succeeded", "Failed")
LIMIT = 4096


def cut(line: bytes) -> tuple[str, bytes, int, int] | None:
    """(resourceVersion, head, where the body starts, where the tail starts) of a MODIFIED line,
    or None when the line is not of the shape described above. The fingerprint is the head (the
    text before the managedFields list's content, or before the resourceVersion's value when
    there is no such list) and the body (the text after the resourceVersion's value, up to the
    tail); the head, holding the pod's name, namespace and uid, is what a view is found by."""
    if not line.startswith(HEAD) or not line.endswith(b"}}"):
        return None
    st = line.rfind(STATUS)
    if st < 0:
        return None
    v = line.find(RV, 0, st)
    if v < 0 or line.find(RV, v + 1, st) >= 0:
        return None
    v0 = v + len(RV)
    v1 = line.find(b'"', v0, st)
    if v1 < 0:
        return None
    rv = line[v0:v1]
    if not rv.isdigit():
        return None
    m = line.find(MANAGED, 0, st)
    if m < 0:
        return rv.decode(), line[:v0], v1, st
    # the list's first "]" must be the one right before ',"resourceVersion":"': it then closes
    # the list (a "]" in a string or a nested list declines), and resourceVersion follows it
    m += len(MANAGED)
    if m > v or line.find(b"]", m, v) != v - 2 or line[v - 1] != 44 or line.find(MANAGED, m, st) >= 0:
        return None
    return rv.decode(), line[:m], v1, st


def tail_status(line: bytes, st: int) -> dict | None:
    """The object's status when `,"status":{` at `st` is its last top-level key, else None."""
    try:
        rest = jsonio.loads(b"{" + line[st + 1:-1])
    except ValueError:
        return None
    if type(rest) is not dict or len(rest) != 1 or type(rest.get("status")) is not dict:
        return None
    return rest["status"]


class StatusLines:
    """The fingerprints of the lines the cached views of bound pods were built from, and the
    line predicate that applies their status writes."""

    def __init__(self, informer, settled=lambda key: True):
        self.informer = informer
        self.settled = settled      # settled(key): the handlers would leave the scheduler's state as it is
        # head -> (key, cached view, the line it was built from, where its body starts and ends)
        self._views: dict[bytes, tuple[str, dict, bytes, int, int]] = {}
        self._keys: dict[str, bytes] = {}                   # key -> head
        self._line: tuple | None = None                     # (rv, head, line, body, tail) being decoded
        self.applied = 0

    def wanted(self, line: bytes) -> bool:
        """False when the line was applied to its pod's cached view (skip it undecoded)."""
        self._line = None
        got = cut(line)
        if got is None:
            return True
        rv, head, b, st = got
        held = self._views.get(head)
        if (held is None or self.informer.cache.get(held[0]) is not held[1] or not self.settled(held[0])
                or line[b:st] != held[2][held[3]:held[4]]):
            self._line = (rv, head, line, b, st)
            return True
        status = tail_status(line, st)
        if status is None or status.get("phase") in TERMINAL or "nominatedNodeName" in status:
            self._line = (rv, head, line, b, st)
            return True
        del self._views[head]
        self._keys.pop(held[0], None)
        view = held[1]
        view["metadata"]["resourceVersion"] = sys.intern(rv)
        view["status"] = status_part(status, True)
        self.informer.last_rv = rv
        self.applied += 1
        return False

    def decoded(self, view: dict) -> None:
        """A pod's view was built from a decoded event: register its line's fingerprint when later
        status writes may be applied to it (bound, not terminal, no nominatedNodeName)."""
        line, self._line = self._line, None
        md, st = view.get("metadata") or {}, view.get("status") or {}
        key = object_key(view)
        old = self._keys.pop(key, None)
        if old is not None:
            self._views.pop(old, None)
        if (line is None or md.get("resourceVersion") != line[0] or not (view.get("spec") or {}).get("nodeName")
                or st.get("phase") in TERMINAL or "nominatedNodeName" in st or md.get("deletionTimestamp")):
            return
        if len(self._views) >= LIMIT:
            gone = next(iter(self._views))
            self._keys.pop(self._views.pop(gone)[0], None)
        self._views[line[1]] = (key, view, line[2], line[3], line[4])
        self._keys[key] = line[1]

    def forget(self, key: str) -> None:
        """The pod is gone."""
        fp = self._keys.pop(key, None)
        if fp is not None:
            self._views.pop(fp, None)

    def __len__(self) -> int:
        return len(self._views)

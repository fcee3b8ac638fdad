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
JSON, `{"type":"MODIFIED","object":{...}}`; `cut`: the shared `watchlines.parts`, plus a status
tail and only one `"managedFields":[` marker before it):

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

A pending pod's binding echo (the MODIFIED line the binding subresource's write brings: the spec
gains nodeName as its last key, the status the PodScheduled condition) is handled the same way,
but the handlers run: the line of a pending pod (ADDED or MODIFIED; not deleting, no
nominatedNodeName, no nodeName key, its spec the object's key before status) is registered by
its head without the event type, with the body up to the spec's closing brace; an echo whose
head is that, whose body starts with that text and goes on with `,"nodeName":"<name>"}` (a name
without escapes) up to its status tail (decoded alone, as above) gets the cached view with the new
resourceVersion, nodeName and status part, as `pod_view` would build it from the decoded line;
the informer stores it and runs its handlers (`Informer.deliver`) as for a decoded MODIFIED
event, and the bound view is registered for its status writes. At most `LIMIT` pending pods are
registered (later ones are not: the queue takes the oldest first).

An ADDED line (a pod created while the scheduler watches, or the backlog created while it was
stopped: one per pending pod) is decoded here with the managedFields list's content cut out
(`"managedFields":[]`; the list as `cut` takes it: its first `]` right before
`,"resourceVersion":"`, the only one before the tail), which the pod's view drops and nothing else
reads (the informer has no select; its transform is `pod_view`), and handed to the informer as the
watch hands a decoded event (kind and apiVersion defaulted, `Informer.handle_event`): the decoded
event must be an ADDED one whose metadata holds `"managedFields":[]` and the resourceVersion found
(so the list cut was metadata's own), else the watch decodes the line whole, as does any line of
another shape. The one line read otherwise is one whose managedFields content is not valid JSON
while the rest is (the whole decode raises); the apiserver's lines are JSON dumps.
"""
from __future__ import annotations

import sys

from labkube.client.informer import object_key
from labkube.client.sharedparts import scalar
from labkube.client.watchlines import ADDED, LIMIT, MANAGED, NODE_NAME, decode_cut, parts, tail_status
from labkube.client.watchlines import MODIFIED as HEAD

from .views import status_part

TERMINAL = ("Succeeded", "Failed")


def cut(line: bytes, prefix: bytes = HEAD) -> tuple[str, bytes, int, int] | None:
    """(resourceVersion, head, where the body starts, where the tail starts) of a MODIFIED line
    (an ADDED one with `prefix=ADDED`), or None when the line is not of the shape described
    above. The fingerprint is the head (the text before the managedFields list's content, or before the resourceVersion's value when
    there is no such list) and the body (the text after the resourceVersion's value, up to the
    tail); the head, holding the pod's name, namespace and uid, is what a view is found by."""
    if not line.startswith(prefix):
        return None
    got = parts(line, len(prefix))
    if got is None:
        return None
    rv, m, _, v1, st = got
    if st < 0:
        return None
    if m < 0:
        return rv, line[:v1 - len(rv)], v1, st
    # one managedFields list only (parts checked the first, before the resourceVersion)
    if line.find(MANAGED, m, st) >= 0:
        return None
    return rv, line[:m], v1, st


class StatusLines:
    """The fingerprints of the lines the cached views of bound pods were built from, and the
    line predicate that applies their status writes; the same for pending pods' lines and their
    bindings' echoes (see `_bound`)."""

    def __init__(self, informer, settled=lambda key: True):
        self.informer = informer
        self.settled = settled      # settled(key): the handlers would leave the scheduler's state as it is
        # head -> (key, cached view, the line it was built from, where its body starts and ends)
        self._views: dict[bytes, tuple[str, dict, bytes, int, int]] = {}
        self._keys: dict[str, bytes] = {}                   # key -> head
        # pending pods: head without the event type -> (key, cached view, the body of the line it
        # was built from up to its spec's closing brace)
        self._pending: dict[bytes, tuple[str, dict, bytes]] = {}
        self._pending_keys: dict[str, bytes] = {}           # key -> head without the event type
        self._line: tuple | None = None                     # (rv, head, line, body, tail, prefix length) being decoded
        self.applied = 0
        self.bound = 0
        self.cut = 0                                        # ADDED lines decoded without managedFields

    def wanted(self, line: bytes) -> bool:
        """False when the line was applied to its pod's cached view (skip it undecoded)."""
        self._line = None
        got = cut(line)
        if got is None:
            if line.startswith(ADDED):
                got = cut(line, ADDED)
                if got is not None:
                    self._line = (got[0], got[1], line, got[2], got[3], len(ADDED))
                    if got[1].endswith(MANAGED):
                        return self._added(line, got[0], len(got[1]))
            return True
        rv, head, b, st = got
        held = self._views.get(head)
        if held is None:
            if self._pending and self._bound(rv, head, line, b, st):
                return False
            self._line = (rv, head, line, b, st, len(HEAD))
            return True
        if (self.informer.cache.get(held[0]) is not held[1] or not self.settled(held[0])
                or line[b:st] != held[2][held[3]:held[4]]):
            self._line = (rv, head, line, b, st, len(HEAD))
            return True
        status = tail_status(line, st)
        if status is None or status.get("phase") in TERMINAL or "nominatedNodeName" in status:
            self._line = (rv, head, line, b, st, len(HEAD))
            return True
        del self._views[head]
        self._keys.pop(held[0], None)
        view = held[1]
        view["metadata"]["resourceVersion"] = sys.intern(rv)
        view["status"] = status_part(status, True)
        self.informer.last_rv = rv
        self.applied += 1
        return False

    def _added(self, line: bytes, rv: str, m: int) -> bool:
        """An ADDED line decoded with the managedFields list's content cut out (`m`: where it
        starts; `cut` found its first `]` right before `,"resourceVersion":"`) and handed to the
        informer as the watch would hand the whole decode (kind and apiVersion defaulted): the
        pod's view (`pod_view`) drops managedFields and nothing else reads the decoded pod. The
        decoded event must be an ADDED one whose metadata holds `"managedFields":[]` and the
        resourceVersion found (the list cut was metadata's own), else the line is decoded whole.
        False when handed over here; True: the watch decodes the line (`self._line` stays set for
        the transform, as before)."""
        # the list's closing bracket (cut: right before resourceVersion)
        ev = decode_cut(line, m, line.find(b"]", m), "ADDED", rv)
        if ev is None:
            return True                     # the watch decodes it whole (and raises if it must)
        obj = ev["object"]
        res = self.informer.resource
        obj.setdefault("kind", res.kind)
        obj.setdefault("apiVersion", res.api_version)
        self.cut += 1
        self.informer.handle_event(ev)
        return False

    def _bound(self, rv: str, head: bytes, line: bytes, b: int, st: int) -> bool:
        """A pending pod's binding echo, handled from its line when it is, byte for byte, the line
        its cached view was built from but for the resourceVersion, the managedFields list's
        content and the status, with `,"nodeName":"<node>"` added as the spec's last key (what the
        binding subresource writes, the spec being the object's key before status): the new view
        is the cached one with the new resourceVersion, nodeName and status part (as pod_view
        would build it from the decoded line), stored and handed to the informer's handlers as a
        decoded MODIFIED event would be. True when done; False: decode the line."""
        held = self._pending.get(head[len(HEAD):])
        if held is None:
            return False
        key, view, body = held
        n = len(body)
        if self.informer.cache.get(key) is not view or not line.startswith(body, b):
            return False
        # what follows the pending pod's spec text: ,"nodeName":"<node>"} up to the status
        rest = line[b + n:st]
        node = rest[len(NODE_NAME):-2]
        if (not rest.startswith(NODE_NAME) or not rest.endswith(b'"}') or not node
                or b'"' in node or b"\\" in node or min(node) < 0x20):
            return False
        try:
            name = node.decode()
        except UnicodeDecodeError:
            return False
        status = tail_status(line, st)
        if status is None:
            return False
        del self._pending[head[len(HEAD):]]
        self._pending_keys.pop(key, None)
        md = dict(view["metadata"])
        md["resourceVersion"] = sys.intern(rv)
        spec = dict(view["spec"])
        spec["nodeName"] = scalar(name)
        new = dict(view)
        new["metadata"], new["spec"], new["status"] = md, spec, status_part(status, True)
        self._line = (rv, head, line, b, st, len(HEAD))
        self.decoded(new)               # as the informer's transform: its later status writes may be applied
        self.informer.last_rv = rv
        self.informer.deliver("MODIFIED", new, key)
        self.bound += 1
        return True

    def decoded(self, view: dict, pod: dict | None = None) -> None:
        """A pod's view was built from a decoded event (`pod`: the decoded object, when the
        caller has it): register its line's fingerprint when later status writes may be applied
        to it (bound, not terminal, no nominatedNodeName), or when its binding's echo may be (not
        bound, the spec the object's key before status, without a nodeName key)."""
        line, self._line = self._line, None
        md, st = view.get("metadata") or {}, view.get("status") or {}
        key = object_key(view)
        old = self._keys.pop(key, None)
        if old is not None:
            self._views.pop(old, None)
        old = self._pending_keys.pop(key, None)
        if old is not None:
            self._pending.pop(old, None)
        if (line is None or md.get("resourceVersion") != line[0] or st.get("phase") in TERMINAL
                or "nominatedNodeName" in st or md.get("deletionTimestamp")):
            return
        if not (view.get("spec") or {}).get("nodeName"):
            self._pending_view(key, view, pod, line)
            return
        if line[5] != len(HEAD):
            return
        if len(self._views) >= LIMIT:
            gone = next(iter(self._views))
            self._keys.pop(self._views.pop(gone)[0], None)
        self._views[line[1]] = (key, view, line[2], line[3], line[4])
        self._keys[key] = line[1]

    def _pending_view(self, key: str, view: dict, pod: dict | None, line: tuple) -> None:
        _, head, text, b, st, plen = line
        if (pod is None or len(self._pending) >= LIMIT or text[st - 1] != 125      # "}"
                or "nodeName" in (pod.get("spec") or ())):
            return
        keys = reversed(pod)
        if next(keys, None) != "status" or next(keys, None) != "spec":
            return
        hk = head[plen:]
        self._pending[hk] = (key, view, text[b:st - 1])
        self._pending_keys[key] = hk

    def forget(self, key: str) -> None:
        """The pod is gone."""
        fp = self._keys.pop(key, None)
        if fp is not None:
            self._views.pop(fp, None)
        fp = self._pending_keys.pop(key, None)
        if fp is not None:
            self._pending.pop(fp, None)

    def __len__(self) -> int:
        return len(self._views)

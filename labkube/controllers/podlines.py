"""PodLines: the controller-manager's pod watch lines read with less than a whole decode, when a
line repeats what the pod's cached view was built from.

Per pod of a drain the controller-manager receives the binding (MODIFIED: spec.nodeName and a
PodScheduled condition added) and the kubelet's Running status write (MODIFIED: status only), each
~3.5 kB of which the managedFields list (which the view drops) is ~1.3-2 kB and the rest of the
metadata (unchanged but for the resourceVersion) ~0.5 kB. `wanted(line)` becomes the pod
informer's line predicate (`Client.watch(decode_line=)`); when it returns False it has handed the
informer, through its public `deliver` (the informer has no `select`), the view a whole decode and
`pod_view` would have built (equal values, the same key order), and the informer stored it and ran
the handlers with it as for a decoded event.

The apiserver writes compact JSON, type first: `{"type":"MODIFIED","object":{...}}`, apiVersion,
kind and metadata (managedFields, then resourceVersion) before spec and status. A line is split
into

- the prefix, from after `"object":{` to the `,"spec":{` after the resourceVersion. The
  resourceVersion's value (digits) and the content of the `"managedFields":[` list are cut out:
  the first `"managedFields":[` in the line, whose first `]` must be followed by
  `,"resourceVersion":"` (a `]` in a string or a nested list declines), or, without
  managedFields, the first `"resourceVersion":"`. What is left is the head (the text before
  the cut spans: the view is found by it) and the rest (after the resourceVersion's value);
- the spec text, from that `,"spec":{` to the first `,"status":{` after it;
- the tail: from that `,"status":{` to the end.

The head, rest and spec text of the line a view was built from are registered with the view
(`decoded`, from the informer's transform, for a decoded ADDED or MODIFIED line whose object's
metadata.resourceVersion is the value cut out; and for each line applied here). A MODIFIED
line is applied when

- its head is a registered one and the view registered with it is still the one cached under
  its key (a relist or a later decoded event replaces it), and its rest is the registered rest;
- and either its spec text is the registered one and `{` + its tail without the event's closing
  brace decodes to an object (the members from status on); or its spec text is the registered
  one without its closing brace and without the text B of the members the view has between
  spec and status (the apiserver writes apiVersion and kind there; `between_text`, each a string,
  as orjson writes it; b"" when there are none), then `,` X `}` B up to the next `,"status":{`,
  `{` X `}` decodes to own fields the cached spec part lacks (`views.spec_extended`: a binding's
  nodeName) and the tail decodes as before (the spec part is then the cached one with those
  fields added, the members between are the cached ones); or else `{` + everything from its
  `,"spec":{` decodes to an object (the members from spec on).

Why that is the view of the whole object: the line is valid JSON (the apiserver wrote it), so a
text `{` + X + `}`, where `,` X `}` ends the line's object (the event's closing brace follows),
decodes only when X holds whole members of that object (deeper, its braces would not balance):
what decoded are top-level members, the object's last ones. The registered line's text before
them is this line's but for a digit run and a whole list's content (no brackets of its own), so
the two objects have the same members before them, with the same values but for
metadata.resourceVersion (metadata.resourceVersion is the value cut out: a write always changes
it, so had it been written elsewhere the head or the rest would differ) and
metadata.managedFields (the list right before resourceVersion; the view drops it). With the same
spec text, the members between `,"spec":{` and `,"status":{` are the same as well; with the
registered spec's members followed by X, the spec object holds those members and then X's (the
registered members' text is balanced, and the `}` before B and the top-level `,"status":{`
closes it: B holds whole string members, `,"` starting each of them and nowhere inside a string,
so B, followed by a top-level member, is top-level members; and B is all the registered line's
top-level members between spec and status, as its view has them, so the registered text before
B's `}` is the spec's; a member of B spelled otherwise than orjson writes it declines).

The new view is the registered view's members before the decoded ones (metadata copied with the
new resourceVersion, the view keeps it as decoded; spec copied), then `pod_view` of what was
decoded: `pod_view` builds each top-level member alone, so this is the view of the whole
object. A member decoded that is already among those before (written twice) declines. At most
`LIMIT` registrations are kept (the oldest go first; ~1.6 kB each: the head and the spec text).
Anything else (DELETED, BOOKMARK, ERROR, another shape, no registration, invalid JSON) is left to
the informer's own decode: `wanted` returns True.

`prefix` is this reader's own cut, not the shared `watchlines.parts` the scheduler's and the
hollow kubelets' readers use: the two take different sets of odd lines (see
labkube/client/watchlines.py), and sharing one would change which lines this reader decodes.
"""
from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Callable

from labkube.client.informer import object_key
from labkube.client.watchlines import ADDED, LIMIT, MANAGED, MODIFIED, RV, SPEC, STATUS
from labkube.client.watchlines import tail_members as tail
from labkube.jsonio import dumps

from .views import spec_extended

EVENTS = ((MODIFIED, True), (ADDED, False))
NEXT_RV = b',"resourceVersion":"'


@lru_cache(maxsize=64)
def _members_text(members: tuple) -> bytes:
    return b"".join(b"," + dumps(k) + b":" + dumps(v) for k, v in members)


def between_text(view: dict) -> bytes | None:
    """The JSON text (`,"k":"v"` each, as the apiserver writes them) of the view's members between
    its spec and its status (the apiserver's apiVersion and kind; b"" when there are none), or
    None when one of them is not a string."""
    members = []
    after = False
    for k, v in view.items():
        if after:
            if k == "status":
                break
            if type(v) is not str:
                return None
            members.append((k, v))
        elif k == "spec":
            after = True
    return _members_text(tuple(members)) if members else b""


def prefix(line: bytes, start: int) -> tuple[str, bytes, bytes, int] | None:
    """(resourceVersion, head, rest, where the `,"spec":{` after it starts) of an object's line
    whose object starts at `start`, or None when the line is not of the shape described above."""
    if not line.endswith(b"}}"):
        return None
    m = line.find(MANAGED, start)
    if m >= 0:
        # the list's first "]" must be followed by ',"resourceVersion":"': it then closes the
        # list (a "]" in a string or a nested list declines), and resourceVersion follows it
        m += len(MANAGED)
        c = line.find(b"]", m)
        if c < 0 or not line.startswith(NEXT_RV, c + 1):
            return None
        v0 = c + 1 + len(NEXT_RV)
    else:
        v = line.find(RV, start)
        if v < 0:
            return None
        m = v0 = v + len(RV)
    v1 = line.find(b'"', v0)
    if v1 < 0:
        return None
    rv = line[v0:v1]
    sp = line.find(SPEC, v1)
    if sp < 0 or not rv.isdigit():
        return None
    return rv.decode(), line[start:m], line[v1:sp], sp


class PodLines:
    """Installs itself on a pod informer whose transform is `view` (the controller-manager's
    `pod_view`, no `select`): its line predicate, and its transform (which registers what it
    builds from a decoded line)."""

    def __init__(self, informer, view: Callable[[dict], dict]):
        self.informer = informer
        self.view = view
        self.skip = informer.decode_line
        # head -> (key, cached view, its line's text from `,"spec":{` to the next `,"status":{`
        # (None: no such text), rest)
        # (an OrderedDict: dropping the oldest of a dict that had many removed walks over their
        # slots, O(n) each time)
        self._views: OrderedDict[bytes, tuple[str, dict, bytes | None, bytes]] = OrderedDict()
        self._keys: dict[str, bytes] = {}           # key -> head
        self._line: tuple | None = None             # (line, rv, head, rest, spec start) being decoded
        self.applied = 0
        self.extended = 0                           # of which with members added to the spec
        informer.transform = self.transform
        informer.decode_line = self.wanted
        informer.add_handlers(None, None, lambda pod: self._forget(object_key(pod)))    # a pod gone

    def wanted(self, line: bytes) -> bool:
        """False when the line was applied to its pod's cached view (skip it undecoded)."""
        self._line = None
        if self.skip is not None and not self.skip(line):
            return False
        for head, modified in EVENTS:
            if line.startswith(head):
                break
        else:
            return True
        got = prefix(line, len(head))
        if got is None:
            return True
        rv, head, rest, sp = got
        self._line = (line, rv, head, rest, sp)
        held = self._views.get(head) if modified else None
        if held is None or held[3] != rest or self.informer.cache.get(held[0]) is not held[1]:
            return True
        key, old, spec, _ = held
        members = extended = None
        if spec is not None:
            st = sp + len(spec)
            if line.startswith(STATUS, st) and line.startswith(spec, sp):
                members = tail(line, st)
                text = spec                             # the first `,"status":{` after sp is at st
            elif type(old.get("spec")) is dict:
                # the registered spec's members, then more: own fields (a binding adds nodeName),
                # the members between spec and status (apiVersion, kind) as registered
                between = between_text(old)
                q = len(spec) - len(between) - 1 if between is not None else 0   # the registered spec's `}`
                if (q > len(SPEC) and spec[q] == 125 and spec.endswith(between)
                        and line[sp + q] == 44 and line.startswith(spec[:q], sp)):
                    st = line.find(STATUS, sp + q)
                    end = st - len(between) - 1         # the new spec's `}`
                    if end > sp + q + 1 and line[end] == 125 and line.startswith(between, end + 1):
                        added = tail(line, sp + q, end)
                        extended = spec_extended(old["spec"], added) if added is not None else None
                        members = tail(line, st) if extended is not None else None
                        text = line[sp:st]              # none before st: spec[:q] holds none, a `,` follows it
        stop = "spec"
        if members is not None:
            stop = next(iter(members))
        else:
            extended = None
            members = tail(line, sp)
            if members is None:
                return True
            st = line.find(STATUS, sp)
            text = line[sp:st] if st > 0 else None
        view = {}
        for k, v in old.items():
            if k == stop:
                break
            if k == "metadata":
                v = dict(v)
                v["resourceVersion"] = rv
            elif k == "spec":
                v = dict(v) if extended is None else extended
            view[k] = v
        else:
            return True
        if not view.keys().isdisjoint(members):     # a member written twice: left to the decode
            return True
        view.update(self.view(members))
        self._line = None
        # the pod's registration, replaced and made the newest (as _register would: same head, same key)
        self._views[head] = (key, view, text, rest)
        self._views.move_to_end(head)
        self.informer.last_rv = rv
        self.informer.deliver("MODIFIED", view, key)
        self.applied += 1
        self.extended += extended is not None
        return False

    def transform(self, obj: dict) -> dict:
        """The informer's transform: the view `view` builds, registered when it came from the line
        `wanted` last let through."""
        line, self._line = self._line, None
        view = self.view(obj)
        if line is not None:
            self.decoded(line, view)
        return view

    def decoded(self, line: tuple, view: dict) -> None:
        """Register the line a view was built from (a decoded ADDED or MODIFIED event) when the
        view holds the resourceVersion cut out of it."""
        text, rv, head, rest, sp = line
        md = view.get("metadata")
        if type(md) is not dict or md.get("resourceVersion") != rv:
            return
        self._register(head, object_key(view), view, text, sp, rest)

    def _register(self, head: bytes, key: str, view: dict, line: bytes, sp: int, rest: bytes) -> None:
        self._forget(key)
        st = line.find(STATUS, sp)
        old = self._views.pop(head, None)
        if old is not None:
            self._keys.pop(old[0], None)
        if len(self._views) >= LIMIT:
            self._keys.pop(self._views.popitem(last=False)[1][0], None)
        self._views[head] = (key, view, line[sp:st] if st > 0 else None, rest)
        self._keys[key] = head

    def _forget(self, key: str) -> None:
        head = self._keys.pop(key, None)
        if head is not None:
            self._views.pop(head, None)

    def __len__(self) -> int:
        return len(self._views)


def install(factory) -> PodLines | None:
    """PodLines on the factory's pod informer (all namespaces), when it has one built with the
    controller-manager's pod view and no select."""
    from .views import pod_view
    inf = factory.informers.get(("pods", None))
    if inf is None or inf.transform is not pod_view or inf.select is not None:
        return None
    return PodLines(inf, pod_view)

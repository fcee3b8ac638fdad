"""Watch on top of storage: resourceVersion semantics, selector filtering, event translation.

RV unset or "0": the current matching objects first as synthetic ADDED, then changes.
RV N: changes after N (Expired -> the caller sends an ERROR 410 event).
sendInitialEvents=true (a streaming list, with resourceVersionMatch=NotOlderThan): the current
matching objects as ADDED whatever the RV, then a BOOKMARK annotated
`k8s.io/initial-events-end: "true"` at the revision they were read at, then changes;
sendInitialEvents=false: changes only (after RV N, or from now when RV is unset or "0"). Label/field
selectors are applied to old and new state: an object that stops matching is DELETED
for this watcher, one that starts matching is ADDED.
"""
from __future__ import annotations

from collections import deque

from ..api import errors
from ..api.resources import Resource
from ..api.selectors import FieldSelector, LabelSelector
from ..storage import Expired, Storage
from ..storage.hub import TIMEOUT
from .registry import prefix, with_rv

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


class WatchStream:
    """Yields (type, object) pairs; `next(timeout)` returns TIMEOUT or None at the end."""

    def __init__(self, storage: Storage, initial: list, watch, label: LabelSelector, field: FieldSelector,
                 initial_end_rv: str | None = None):
        self.storage = storage
        self._initial = deque(initial)
        self._initial_end_rv = initial_end_rv     # the end-of-initial-events bookmark still to send
        self._watch = watch
        self._ls, self._fs = label, field
        # most watchers (informers) select everything: they never need the previous value,
        # which would otherwise be decoded for every update just to be matched
        self._selects_all = label.empty() and not field.terms
        # set by a consumer that encodes from the storage event (watchhttp): then next() and
        # next_nowait() give such a watcher's events without their object, as deliver_to does,
        # so an event it sends from the stored text (or a line made for another watcher) is not
        # decoded for it
        self.undecoded = False

    def _match(self, obj: dict | None) -> bool:
        return obj is not None and self._ls.matches((obj.get("metadata") or {}).get("labels")) and self._fs.matches(obj)

    async def next(self, timeout: float | None = None):
        """(type, object, storage event or None), TIMEOUT, or None at the end; the object is None
        for a storage event of a watcher that selects everything when `undecoded` is set
        (`event_object(event)` is the object)."""
        if self._initial or self._initial_end_rv is not None:
            return self._next_initial()
        while True:
            ev = await self._watch.next_event(timeout)
            if ev is None or ev == TIMEOUT:
                return ev
            out = self._translate(ev)
            if out is not None:
                return (*out, ev)

    def _next_initial(self):
        if self._initial:
            return (*self._initial.popleft(), None)
        rv, self._initial_end_rv = self._initial_end_rv, None
        return "BOOKMARK", {"metadata": {"resourceVersion": rv, "annotations": {INITIAL_EVENTS_END: "true"}}}, None

    def next_nowait(self):
        """What next() would return at once, or None when it would have to wait (or the watch
        ended); never waits. The HTTP side writes the events already queued in one go."""
        if self._initial or self._initial_end_rv is not None:
            return self._next_initial()
        while True:
            ev = self._watch.next_event_nowait()
            if ev is None:
                return None
            out = self._translate(ev)
            if out is not None:
                return (*out, ev)

    def _translate(self, ev):  # keep in step with event_object
        if self._selects_all:
            return ev.type, None if self.undecoded else with_rv(ev.obj, ev.rev)
        new_ok = self._match(ev.obj)
        if ev.type == "ADDED":
            return ("ADDED", with_rv(ev.obj, ev.rev)) if new_ok else None
        if ev.type == "DELETED":
            return ("DELETED", with_rv(ev.obj, ev.rev)) if self._match(ev.prev) else None
        old_ok = self._match(ev.prev)
        if new_ok and old_ok:
            return "MODIFIED", with_rv(ev.obj, ev.rev)
        if new_ok:
            return "ADDED", with_rv(ev.obj, ev.rev)
        if old_ok:
            return "DELETED", with_rv(ev.obj, ev.rev)
        return None

    def deliver_to(self, write) -> bool:
        """Hand later changes to write(type, object, event) -> bool as the storage publishes them
        (False: not taken now, they queue for next() as before), instead of queueing them for
        next(); only while no initial event is pending. False when the storage's watch cannot.
        For a watcher that selects everything the object is None: `event_object(event)` when the
        writer needs it (the stored text may do: watchhttp.stored_line), so it is not decoded."""
        w = self._watch
        if not hasattr(w, "sink"):
            return False

        def sink_all(ev) -> bool:
            if self._initial or self._initial_end_rv is not None:
                return False
            return write(ev.type, None, ev)

        def sink(ev) -> bool:
            if self._initial or self._initial_end_rv is not None:
                return False
            out = self._translate(ev)
            return True if out is None else write(out[0], out[1], ev)  # filtered out: nothing to send
        w.sink = sink_all if self._selects_all else sink  # _selects_all is fixed for the stream
        return True

    @property
    def bookmark_rv(self) -> str:
        return str(self.storage.committed_revision)

    @property
    def ended_early(self) -> str | None:
        return self._watch.closed_reason

    def close(self) -> None:
        if hasattr(self._watch, "sink"):
            self._watch.sink = None
        self._watch.close()


def event_object(ev) -> dict:
    """The object a select-everything watcher sends for a storage event (as _translate gives it)."""
    return with_rv(ev.obj, ev.rev)


async def open_watch(storage: Storage, res: Resource, ns: str | None, rv: str | None,
                     label: str | None, field: str | None, send_initial: bool | None = None) -> WatchStream:
    """Raises ApiError 410 (Expired) for a too-old resourceVersion, 400 for a bad one.
    send_initial: the request's sendInitialEvents (the caller has checked resourceVersionMatch)."""
    ls, fs = LabelSelector.parse(label), FieldSelector.parse(field)
    pfx = prefix(res, ns)
    initial = []
    if send_initial is False and rv in (None, "", "0"):
        return WatchStream(storage, [], storage.watch(pfx, storage.committed_revision), ls, fs)
    if rv in (None, "", "0") or send_initial:
        if rv not in (None, ""):
            try:
                int(rv)
            except ValueError:
                raise errors.bad_request(f'invalid resource version "{rv}"') from None
        # the newest state is never older than any resourceVersion a client has seen
        items, rev = await storage.list(pfx)
        w = storage.watch(pfx, rev)
        for _k, obj, r in items:
            if ls.matches((obj.get("metadata") or {}).get("labels")) and fs.matches(obj):
                initial.append(("ADDED", with_rv(obj, r)))
        if send_initial:
            return WatchStream(storage, initial, w, ls, fs, initial_end_rv=str(rev))
    else:
        try:
            start = int(rv)
        except ValueError:
            raise errors.bad_request(f'invalid resource version "{rv}"') from None
        try:
            w = storage.watch(pfx, start)
        except Expired as e:
            raise errors.expired(str(e)) from None
    return WatchStream(storage, initial, w, ls, fs)

"""The watch side of FakeApi: watchers, event history (resume from a resourceVersion, 410 once
compacted) and the test helpers around them (pending, settle, close_watches, compact)."""
from __future__ import annotations

import asyncio
import copy
from typing import AsyncIterator

from .. import jsonio
from .errors import status_error
from .rest import as_resource
from .selectors import fields_match, labels_match


class FakeWatches:
    """Mixed into FakeApi, which provides rv, history, compacted_rv, watchers, list() and _act()."""

    def pending(self) -> int:
        """Watch events not yet taken by their watchers."""
        return sum(w[4].qsize() for w in self.watchers)

    async def settle(self, quiet_rounds: int = 5) -> None:
        """Let watchers (informer tasks) take every pending event; yields to the loop, never sleeps."""
        quiet = 0
        for _ in range(100000):
            await asyncio.sleep(0)
            quiet = 0 if self.pending() else quiet + 1
            if quiet >= quiet_rounds:
                return

    def close_watches(self) -> None:
        for w in self.watchers:
            w[4].put_nowait(None)

    def compact(self) -> None:
        """Forget the watch history: resuming from any older resourceVersion now gets 410."""
        self.compacted_rv = self.rv
        self.history.clear()

    def _emit(self, rname, etype, obj):
        ev = {"type": etype, "object": copy.deepcopy(obj)}
        self.history.append((self.rv, rname, ev))
        for wr, wns, lsel, fsel, q in self.watchers:
            if self._wants(wr, wns, lsel, fsel, rname, obj):
                q.put_nowait(copy.deepcopy(ev))

    @staticmethod
    def _wants(wr, wns, lsel, fsel, rname, obj):
        md = obj["metadata"]
        return (wr == rname and (wns is None or md.get("namespace") == wns)
                and labels_match(lsel, md.get("labels")) and fields_match(fsel, obj))

    async def watch(self, res, namespace=None, resource_version=None, label_selector=None,
                    field_selector=None, timeout_seconds=None, allow_bookmarks=False,
                    raise_errors=True, decode_line=None) -> AsyncIterator[dict]:
        """As Client.watch; with decode_line, each event is encoded as the apiserver writes it
        (compact JSON, type first) and skipped when decode_line(line) is False."""
        r = as_resource(res)
        self._act("watch", r, namespace, None)
        q: asyncio.Queue = asyncio.Queue()
        if resource_version in (None, "", "0"):
            for o in await self.list(r, namespace, label_selector, field_selector):
                q.put_nowait({"type": "ADDED", "object": o})
        else:
            rv = int(resource_version)
            if rv < self.compacted_rv:
                err = status_error(410, "Expired", f"too old resource version: {rv} ({self.compacted_rv})")
                if raise_errors:
                    raise err
                yield {"type": "ERROR", "object": err.status}
                return
            for erv, rname, ev in self.history:
                if erv > rv and self._wants(r.name, namespace, label_selector, field_selector,
                                            rname, ev["object"]):
                    q.put_nowait(copy.deepcopy(ev))
        w = (r.name, namespace, label_selector, field_selector, q)
        self.watchers.append(w)
        try:
            while True:
                ev = await q.get()
                if ev is None:
                    return
                if decode_line is not None and not decode_line(jsonio.dumps(ev)):
                    self.skipped_lines += 1
                    continue
                yield ev
        finally:
            self.watchers.remove(w)

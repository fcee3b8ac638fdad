"""Status batching: when a controller's sync woken only by status changes runs again.

A ReplicaSet whose pods turn Running one after another (2,000 in two seconds) would otherwise
sync, and write its status, once per round trip: each status write came back on the watch and
woke the next sync. An update that changes only what the status counts asks `changed(key)`: the
key is queued at once when its last sync started `period` seconds ago or more (or never), else
once, when that much time has passed since then; later such updates before it are counted by
that sync. Anything that means creating or deleting objects queues the key at once, outside
this. Kubernetes' Job and EndpointSlice controllers batch pod updates the same way.

The policy only answers; the controller queues (its work queue may be replaced, as tests do).
"""
from __future__ import annotations


class StatusBatch:
    """Per key: when its last sync started, and when its batched sync is due (monotonic seconds)."""

    def __init__(self, period: float):
        self.period = period
        self.started: dict[str, float] = {}   # key -> when its last sync started
        self.due_at: dict[str, float] = {}    # key -> when its queued status-only sync is due

    def changed(self, key: str, now: float) -> float | None:
        """A status-only change of `key` at `now`: 0 to queue it at once, a delay to queue it
        after, None when a batched sync is queued already."""
        if key in self.due_at:
            return None
        last = self.started.get(key)
        if last is None or now - last >= self.period:
            return 0
        due = self.due_at[key] = last + self.period
        return due - now

    def syncing(self, key: str, now: float) -> None:
        """`key`'s sync starts at `now` (a batched sync that was due is taken by it)."""
        due = self.due_at.get(key)
        if due is not None and due <= now:
            del self.due_at[key]
        self.started[key] = now

    def forget(self, key: str) -> None:
        """`key` is gone: nothing kept for it."""
        self.started.pop(key, None)
        self.due_at.pop(key, None)

    def next_due(self) -> float | None:
        """The earliest time a batched sync is due, None if none."""
        return min(self.due_at.values(), default=None)

"""CrashLoopBackOff / ImagePullBackOff delays: 10 s doubling up to 5 minutes per key.

A key's delay resets once the thing it guards has run fine for `reset_after` seconds
(Kubernetes: 10 minutes), or when `reset(key)` is called.
"""
from __future__ import annotations

import time


class Backoff:
    def __init__(self, initial: float = 10.0, maximum: float = 300.0, reset_after: float = 600.0,
                 clock=time.monotonic):
        self.initial, self.maximum, self.reset_after = initial, maximum, reset_after
        self.clock = clock
        self._entries: dict = {}          # key -> (delay, last failure time)

    def delay(self, key) -> float:
        """The current delay for ``key`` (0 when it never failed)."""
        e = self._entries.get(key)
        return e[0] if e else 0.0

    def failed(self, key, at: float | None = None) -> float:
        """Record a failure at ``at``; returns the delay to wait before the next attempt."""
        now = self.clock() if at is None else at
        e = self._entries.get(key)
        if e is None or now - e[1] > self.reset_after + e[0]:
            delay = self.initial
        else:
            delay = min(e[0] * 2, self.maximum)
        self._entries[key] = (delay, now)
        return delay

    def remaining(self, key, now: float | None = None) -> float:
        """Seconds until ``key`` may be retried (0 when it may be retried now)."""
        e = self._entries.get(key)
        if e is None:
            return 0.0
        now = self.clock() if now is None else now
        return max(0.0, e[1] + e[0] - now)

    def reset(self, key) -> None:
        self._entries.pop(key, None)

    def forget_prefix(self, prefix) -> None:
        for k in [k for k in self._entries if isinstance(k, tuple) and k[:1] == (prefix,)]:
            del self._entries[k]

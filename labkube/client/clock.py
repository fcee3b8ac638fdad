"""Clocks: the real one and a fake one for tests (monotonic seconds plus RFC 3339 wall time)."""
from __future__ import annotations

import asyncio
import datetime
import time


def rfc3339(dt: datetime.datetime) -> str:
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s: str | None) -> datetime.datetime | None:
    if not s:
        return None
    s = s.replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(s)
    except ValueError:
        return None


class Clock:
    """Real time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.timezone.utc)

    def now_str(self) -> str:
        return rfc3339(self.now())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def wait_event(self, event: asyncio.Event, timeout: float | None) -> None:
        """Wait until the event is set or `timeout` seconds of this clock's time have passed."""
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def wait_future(self, fut: asyncio.Future, timeout: float | None) -> None:
        """Wait until `fut` is done or `timeout` seconds of this clock's time have passed; at the
        timeout, a future still pending gets the result None (it is not cancelled)."""
        if timeout is None:
            await fut
            return
        timer = asyncio.get_running_loop().call_later(max(timeout, 0), _resolve, fut)
        try:
            await fut
        finally:
            timer.cancel()


def _resolve(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


class FakeClock(Clock):
    """Time that only moves when a test calls advance(); sleep() returns at once after advancing."""

    def __init__(self, start: datetime.datetime | None = None):
        self._wall = start or datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
        self._mono = 1000.0
        self._timers: list[tuple[float, asyncio.Event | asyncio.Future]] = []

    def monotonic(self) -> float:
        return self._mono

    def now(self) -> datetime.datetime:
        return self._wall

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        self._wall += datetime.timedelta(seconds=seconds)
        due = [t for t in self._timers if t[0] <= self._mono]
        self._timers = [t for t in self._timers if t[0] > self._mono]
        for _, ev in due:
            if isinstance(ev, asyncio.Event):
                ev.set()
            else:
                _resolve(ev)

    async def wait_event(self, event: asyncio.Event, timeout: float | None) -> None:
        if timeout is not None:
            if timeout <= 0:
                return
            self._timers.append((self._mono + timeout, event))
        await event.wait()

    async def wait_future(self, fut: asyncio.Future, timeout: float | None) -> None:
        if timeout is not None:
            if timeout <= 0:
                _resolve(fut)
                return
            self._timers.append((self._mono + timeout, fut))
        await fut

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)

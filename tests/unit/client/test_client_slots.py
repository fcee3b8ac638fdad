"""Client.request's in-flight slots (max_in_flight), taken with acquire/release instead of
`async with`, against the earlier `async with` form (kept here as `reference_request`): the same
requests reach the pool in the same order, the same answers and errors come back, and the same
slots are free after, over random runs of concurrent requests (limited or not) whose pool
answers, fails, or makes them wait, with callers cancelled while waiting for a slot or in flight."""
from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import pytest

from labkube import jsonio
from labkube.client.errors import ApiError
from labkube.client.kubeconfig import KubeConfig
from labkube.client.rest import Client


async def reference_request(self: Client, method: str, path: str, *, query: dict | None = None, body: Any = None,
                            content_type: str = "application/json", raw: bool = False,
                            timeout: float | None = None, limited: bool = True, reply: bool = True) -> Any:
    """Client.request before it took its slot with acquire/release (2022d44), query aside."""
    pool = self._pool if self._pool is not None else self._ensure_pool()
    data = jsonio.dumps(body) if body is not None else None
    if self._slots is None:
        self._slots = asyncio.Semaphore(self.max_in_flight)
    async with (self._slots if limited else contextlib.nullcontext()):
        status, payload = await pool.request(method, path, data, content_type, timeout or self._timeout)
    if status >= 400:
        raise ApiError.from_body(status, payload)
    if not reply:
        return None
    if raw:
        return payload.decode("utf-8", "replace")
    if not payload:
        return {}
    return jsonio.loads(payload)


class FakePool:
    """Records the requests it is given; each waits for the test to answer it (a reply or an error)."""

    def __init__(self, log: list):
        self.log = log
        self.waiting: dict[str, asyncio.Future] = {}
        self._closed = False

    async def request(self, method, target, body=None, content_type="application/json", timeout=None):
        self.log.append(("sent", target))
        fut = self.waiting[target] = asyncio.get_running_loop().create_future()
        try:
            return await fut
        finally:
            self.waiting.pop(target, None)

    def close(self):
        pass


async def run(request, seed: int) -> list:
    rng = random.Random(seed)
    log: list = []
    c = Client(KubeConfig(server="http://127.0.0.1:1"), max_in_flight=rng.choice([1, 2, 3]))
    c._pool = pool = FakePool(log)
    tasks: dict[str, asyncio.Task] = {}

    async def one(name: str, limited: bool):
        try:
            got = await request(c, "GET", name, limited=limited, reply=rng.random() < 0.8)
            log.append(("got", name, got))
        except asyncio.CancelledError:
            log.append(("cancelled", name))
            raise
        except Exception as e:  # noqa: BLE001 - the error is part of what is compared
            log.append(("error", name, type(e).__name__, str(e)))

    for step in range(120):
        op = rng.choice(["start", "start", "answer", "fail", "cancel", "pass"])
        if op == "start":
            name = f"/r{step}"
            tasks[name] = asyncio.get_running_loop().create_task(one(name, rng.random() < 0.85))
        elif op in ("answer", "fail") and any(not f.done() for f in pool.waiting.values()):
            fut = pool.waiting[rng.choice(sorted(n for n, f in pool.waiting.items() if not f.done()))]
            if op == "answer":
                fut.set_result(rng.choice([(200, b'{"a":1}'), (200, b""), (404, b'{"message":"no"}')]))
            else:
                fut.set_exception(ConnectionError("dropped"))
        elif op == "cancel":
            live = sorted(n for n, t in tasks.items() if not t.done())
            if live:
                tasks[rng.choice(live)].cancel()
        for _ in range(rng.randint(0, 3)):
            await asyncio.sleep(0)
        log.append(("slots", c._slots._value if c._slots is not None else None))
    for t in tasks.values():
        t.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    log.append(("end", c._slots._value if c._slots is not None else None))
    return log


@pytest.mark.parametrize("seed", range(40))
async def test_slots_same_as_reference(seed):
    assert await run(Client.request, seed) == await run(reference_request, seed)

"""labkube.client.http: the pool's warm-up (prewarm, keep_warm, size) against a plain-TCP server on
127.0.0.1 that answers every request with the number of the connection it came on, so a test
sees which connection carried what and how many the pool opened."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from labkube.client.http import ConnectionPool


class Numbered:
    """Answers each request with 200 and the number (1, 2, ...) of its connection; a request for
    /hang gets no reply until the connection closes; on the connections numbered in `drop_on`
    a request is read and the connection closed unanswered (a keep-alive close the client had
    not seen yet when it sent)."""

    def __init__(self, drop_on=()):
        self.drop_on = set(drop_on)
        self.opened = 0
        self.closed = 0
        self.hanging = 0
        self.server: asyncio.base_events.Server | None = None

    @property
    def live(self) -> int:
        return self.opened - self.closed

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        number = self.opened
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                target = head.split(b" ", 2)[1]
                if number in self.drop_on:
                    break
                if target == b"/hang":
                    self.hanging += 1
                    await reader.read()            # until the client closes
                    break
                body = str(number).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed += 1
            writer.close()

    async def stop(self) -> None:
        self.server.close()


async def until(cond, limit: float = 5.0) -> None:
    """Wait for cond() (a condition, not a duration: the limit only keeps a broken test from hanging)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not cond():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.001)


async def pool_with(srv: Numbered, idle: int, hanging: int, **kw) -> tuple[ConnectionPool, list[asyncio.Task]]:
    """A pool holding `idle` idle connections and `hanging` requests in flight."""
    pool = ConnectionPool(await srv.start(), None, {}, **kw)
    tasks = [asyncio.create_task(pool.request("GET", "/hang")) for _ in range(hanging)]
    await until(lambda: srv.hanging == hanging)
    await asyncio.gather(*(pool.request("GET", "/x") for _ in range(idle)))
    return pool, tasks


async def finish(pool: ConnectionPool, srv: Numbered, tasks=()) -> None:
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    pool.close()
    await until(lambda: srv.live == 0)         # nothing left open behind the test
    await srv.stop()


# (idle connections, requests in flight, n, parallel) -> connections opened
PREWARM = [
    ("empty pool, none asked", 0, 0, 0, 4, 0),
    ("empty pool", 0, 0, 5, 4, 5),
    ("empty pool, one at a time", 0, 0, 5, 1, 5),
    ("empty pool, all at once", 0, 0, 5, 10, 5),
    ("idle ones count", 3, 0, 5, 4, 2),
    ("already more idle than asked", 7, 0, 5, 4, 0),
    ("requests in flight count", 1, 2, 5, 4, 2),
    ("in flight alone cover it", 0, 6, 5, 4, 0),
]


@pytest.mark.parametrize("name,idle,hanging,n,parallel,opened", PREWARM, ids=[r[0] for r in PREWARM])
async def test_prewarm_opens_what_is_missing(name, idle, hanging, n, parallel, opened):
    srv = Numbered()
    pool, tasks = await pool_with(srv, idle, hanging)
    try:
        before = srv.opened
        assert await pool.prewarm(n, parallel) == opened
        await until(lambda: srv.opened == before + opened)
        assert pool.size() == max(n, idle + hanging)
        assert len(pool._idle) == idle + opened
        assert all(c.used for c in pool._idle)     # may have been closed while idle, as any reused one
    finally:
        await finish(pool, srv, tasks)


# requests sent at once after a warm-up of n -> new connections they open, each reply the same as
# on a pool without the warm-up but for which connection carried it
REUSE = [
    ("fewer requests than warm connections", 4, 2, 0),
    ("as many", 4, 4, 0),
    ("more: only the excess connects", 4, 6, 2),
    ("no warm-up", 0, 3, 3),
]


@pytest.mark.parametrize("name,n,requests,connects", REUSE, ids=[r[0] for r in REUSE])
async def test_requests_take_the_warm_connections(name, n, requests, connects):
    srv = Numbered()
    pool = ConnectionPool(await srv.start(), None, {})
    try:
        await pool.prewarm(n)
        before = srv.opened
        replies = await asyncio.gather(*(pool.request("POST", "/x", b"{}") for _ in range(requests)))
        assert srv.opened - before == connects
        assert all(status == 200 for status, _ in replies)
        assert len({body for _, body in replies}) == requests      # one connection each
        assert pool.size() == max(n, requests)
    finally:
        await finish(pool, srv)


# of n warm connections, how many sat idle past keepalive -> what size counts, what a warm-up reopens
AGED = [
    ("none aged", 4, 0),
    ("some aged", 4, 3),
    ("all aged", 4, 4),
]


@pytest.mark.parametrize("name,n,aged", AGED, ids=[r[0] for r in AGED])
async def test_warm_connections_past_keepalive_are_neither_counted_nor_used(name, n, aged):
    srv = Numbered()
    pool = ConnectionPool(await srv.start(), None, {}, keepalive=60.0)
    try:
        await pool.prewarm(n)
        for c in pool._idle[:aged]:                # the oldest, at the front: idle 61 s as the pool sees it
            c.idle_since -= 61.0
        stale = pool._idle[:aged]
        assert pool.size() == n - aged
        assert all(c.closed for c in stale)        # closed by the pool, never handed to a request
        await until(lambda: srv.live == n - aged)
        assert await pool.prewarm(n) == aged
        assert pool.size() == n
        assert not any(c in pool._idle for c in stale)
    finally:
        await finish(pool, srv)


async def test_a_warm_connection_aged_on_top_is_not_reused():
    """_take checks keepalive too: a request never goes out on a warm connection past it."""
    srv = Numbered()
    pool = ConnectionPool(await srv.start(), None, {}, keepalive=60.0)
    try:
        await pool.prewarm(1)
        pool._idle[0].idle_since -= 61.0
        assert await pool.request("GET", "/x") == (200, b"2")      # a second connection carried it
    finally:
        await finish(pool, srv)


@pytest.mark.parametrize("method,retried", [("GET", True), ("DELETE", True), ("POST", False), ("PATCH", False)])
async def test_a_warm_connection_closed_under_the_request(method, retried):
    """A warm connection the server drops on the request is handled as a reused one: an idempotent
    request goes again on a fresh connection, a POST or PATCH fails (it may have been applied)."""
    srv = Numbered(drop_on={1})
    pool = ConnectionPool(await srv.start(), None, {})
    try:
        await pool.prewarm(1)
        body = b"{}" if method in ("POST", "PATCH") else None
        if retried:
            assert await pool.request(method, "/x", body) == (200, b"2")
        else:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await pool.request(method, "/x", body)
        assert srv.opened == (2 if retried else 1)
    finally:
        await finish(pool, srv)


async def test_keep_warm_runs_one_warm_up_in_the_background():
    srv = Numbered()
    pool = ConnectionPool(await srv.start(), None, {})
    try:
        pool.keep_warm(6)
        first = pool._warming
        assert first is not None
        pool.keep_warm(6)                          # one at a time
        pool.keep_warm(9)
        assert pool._warming is first
        assert await first == 6
        assert pool._warming is None and srv.opened == 6
        pool.keep_warm(6)                          # warm: nothing to do
        assert pool._warming is None
        pool.keep_warm(8)
        assert await pool._warming == 2
        assert pool.size() == 8
    finally:
        await finish(pool, srv)


async def test_closing_the_pool_during_a_warm_up_leaves_nothing_open():
    srv = Numbered()
    pool = ConnectionPool(await srv.start(), None, {})
    pool.keep_warm(20)
    warming = pool._warming
    await until(lambda: srv.opened >= 2)
    await finish(pool, srv)
    await asyncio.gather(warming, return_exceptions=True)
    assert warming.done()
    assert pool._idle == [] and srv.live == 0
    pool.keep_warm(5)                              # a closed pool does not warm up
    assert pool._warming is None or pool._warming is warming


async def test_a_warm_up_nobody_answers_fails_quietly():
    srv = Numbered()
    base = await srv.start()
    srv.server.close()
    await srv.server.wait_closed()
    pool = ConnectionPool(base, None, {})
    with pytest.raises(aiohttp.ClientOSError):
        await pool.prewarm(3)
    pool.keep_warm(3)                              # in the background: the error is retrieved, not raised
    warming = pool._warming
    await asyncio.gather(warming, return_exceptions=True)
    await until(lambda: pool._warming is None)
    assert pool.size() == 0
    pool.close()

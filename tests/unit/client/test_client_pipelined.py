"""labkube.client.pipelined.PipelinedPool: requests pipelined on a few connections, against a fake
plain-TCP server on 127.0.0.1 that reads whatever arrives, records each read, and answers each
request it finds in order as the test's `answer` says (reply bytes, then keep the connection,
close it, or hold the reply back)."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from labkube.client import pipelined
from labkube.client.pipelined import PipelinedPool


def reply(body: bytes, status: str = "200 OK", extra: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


def echo(conn: int, i: int, request: bytes):
    """The default answer: the request line's target as the body, connection kept."""
    return reply(request.split(b" ")[1]), "keep"


class Fake:
    """answer(connection number, request number on it, request bytes) -> (reply bytes, "keep",
    "close" (after the reply), "hold" (no reply: the connection waits, replies never come) or an
    asyncio.Event (the reply is written once it is set, the connection kept))."""

    def __init__(self, answer=echo):
        self.answer = answer
        self.reads: list[tuple[int, bytes]] = []        # (connection number, bytes of one read)
        self.requests: list[tuple[int, bytes]] = []
        self.connections = 0
        self.server = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader, writer) -> None:
        conn = self.connections
        self.connections += 1
        buf, n = b"", 0
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                self.reads.append((conn, chunk))
                buf += chunk
                while (end := buf.find(b"\r\n\r\n")) >= 0:
                    head = buf[:end + 4]
                    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    if len(buf) < end + 4 + length:
                        break
                    request, buf = buf[:end + 4 + length], buf[end + 4 + length:]
                    self.requests.append((conn, request))
                    out, after = self.answer(conn, n, request)
                    n += 1
                    if after == "hold":
                        await asyncio.sleep(3600)
                    if isinstance(after, asyncio.Event):
                        await after.wait()
                    writer.write(out)
                    if after == "close":
                        await writer.drain()
                        return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        self.server.close()


@pytest.fixture
async def fake():
    made = []

    async def make(answer=echo, **kw):
        f = Fake(answer)
        pool = PipelinedPool(await f.start(), None, {"User-Agent": "t"}, **kw)
        made.append((f, pool))
        return f, pool
    yield make
    for f, pool in made:
        pool.close()
        await f.stop()


def writes(monkeypatch) -> list[int]:
    """How many requests each write of a PipelinedConnection carried."""
    sizes = []
    flush = pipelined.PipelinedConnection._flush

    def counted(self):
        before = len(self.sent)
        flush(self)
        if len(self.sent) > before:
            sizes.append(len(self.sent) - before)
    monkeypatch.setattr(pipelined.PipelinedConnection, "_flush", counted)
    return sizes


async def test_requests_of_one_loop_pass_go_in_one_write_and_get_their_own_replies(fake, monkeypatch):
    sizes = writes(monkeypatch)
    f, pool = await fake(connections=4)
    got = await asyncio.gather(*(pool.request("POST", f"/p{i}", b"{}") for i in range(10)))
    assert got == [(200, f"/p{i}".encode()) for i in range(10)]
    assert sizes == [10] and f.connections == 1
    assert [r.split(b" ")[1] for _, r in f.requests] == [f"/p{i}".encode() for i in range(10)]
    assert b"Content-Length: 2\r\n\r\n{}" in f.requests[0][1]


async def test_a_write_carries_at_most_batch_requests_and_batch_bytes(fake, monkeypatch):
    sizes = writes(monkeypatch)
    _, pool = await fake(connections=1, batch=4)
    got = await asyncio.gather(*(pool.request("GET", f"/g{i}") for i in range(10)))
    assert got == [(200, f"/g{i}".encode()) for i in range(10)]
    assert sizes == [4, 4, 2]
    sizes.clear()
    _, pool = await fake(connections=1, batch_bytes=250)
    body = b"x" * 100
    await asyncio.gather(*(pool.request("POST", "/b", body) for _ in range(3)))
    assert sizes == [1, 1, 1]       # each request is ~190 bytes: two would pass 250


async def test_requests_queue_behind_a_write_in_flight_and_go_together_after_it(fake, monkeypatch):
    sizes = writes(monkeypatch)
    release = asyncio.Event()
    f, pool = await fake(lambda conn, i, request: (reply(request.split(b" ")[1]), release if i == 0 else "keep"),
                         connections=1)
    first = asyncio.ensure_future(pool.request("GET", "/first"))
    while not f.requests:
        await asyncio.sleep(0.01)
    later = [asyncio.ensure_future(pool.request("GET", f"/l{i}")) for i in range(3)]
    await asyncio.sleep(0.05)
    assert sizes == [1] and not any(t.done() for t in later)
    release.set()
    assert await first == (200, b"/first")
    assert [await t for t in later] == [(200, f"/l{i}".encode()) for i in range(3)]
    assert sizes == [1, 3] and f.connections == 1


async def test_a_new_connection_is_opened_when_the_open_ones_are_busy_up_to_connections(fake):
    release, release2 = asyncio.Event(), asyncio.Event()

    def answer(conn, i, request):
        held = release if conn == 0 and i == 0 else release2 if conn == 1 and i == 2 else "keep"
        return reply(request.split(b" ")[1]), held
    f, pool = await fake(answer, connections=2)
    a = asyncio.ensure_future(pool.request("GET", "/a"))
    while not f.requests:
        await asyncio.sleep(0.01)
    assert await pool.request("GET", "/b") == (200, b"/b")     # connection 0 busy: b opens connection 1
    assert await pool.request("GET", "/c") == (200, b"/c")     # connection 1 idle again: c takes it
    d = asyncio.ensure_future(pool.request("GET", "/d"))       # connection 1 idle: d takes it (held there)
    while len(f.requests) < 4:
        await asyncio.sleep(0.01)
    # both busy, no more may be opened: e is queued on the least loaded (a tie: the first, connection 0)
    e = asyncio.ensure_future(pool.request("GET", "/e"))
    await asyncio.sleep(0.05)
    assert not e.done() and len(f.requests) == 4
    release.set()
    assert [await a, await e] == [(200, b"/a"), (200, b"/e")]
    release2.set()
    assert await d == (200, b"/d")
    assert [(conn, r.split(b" ")[1]) for conn, r in f.requests] == [
        (0, b"/a"), (1, b"/b"), (1, b"/c"), (1, b"/d"), (0, b"/e")]
    assert f.connections == 2


async def test_a_close_mid_pipeline_retries_the_idempotent_requests_once_and_fails_the_others(fake):
    def close_after_first(conn, i, request):
        if conn == 0:
            return reply(b"first"), "close"
        return echo(conn, i, request)
    f, pool = await fake(close_after_first, connections=1)
    got = await asyncio.gather(pool.request("GET", "/a"), pool.request("GET", "/b"), pool.request("POST", "/c", b"{}"),
                               pool.request("PUT", "/d", b"{}"), pool.request("PATCH", "/e", b"{}"),
                               return_exceptions=True)
    assert got[0] == (200, b"first")
    assert got[1] == (200, b"/b") and got[3] == (200, b"/d")           # sent again on a new connection
    assert isinstance(got[2], aiohttp.ServerDisconnectedError) and isinstance(got[4], aiohttp.ServerDisconnectedError)
    assert [r.split(b" ")[1] for c, r in f.requests if c > 0] == [b"/b", b"/d"]


async def test_an_idempotent_request_is_sent_again_only_once(fake):
    f, pool = await fake(lambda conn, i, request: (b"", "close"), connections=1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await pool.request("GET", "/a")
    assert len(f.requests) == 2


async def test_a_request_not_yet_written_goes_out_on_another_connection_whatever_its_method(fake, monkeypatch):
    sizes = writes(monkeypatch)

    def close_after_first(conn, i, request):
        return reply(b"one", extra="Connection: close\r\n"), "close" if conn == 0 else "keep"
    f, pool = await fake(close_after_first, connections=1, batch=1)
    got = await asyncio.gather(pool.request("POST", "/a", b"{}"), pool.request("POST", "/b", b"{}"))
    assert got == [(200, b"one"), (200, b"one")]
    assert [(c, r.split(b" ")[1]) for c, r in f.requests] == [(0, b"/a"), (1, b"/b")]
    assert sizes == [1, 1]


async def test_a_malformed_reply_fails_its_request_and_the_connection_is_dropped(fake):
    def bad_first(conn, i, request):
        return (b"NOT HTTP\r\n\r\n", "keep") if conn == 0 else echo(conn, i, request)
    f, pool = await fake(bad_first, connections=1)
    with pytest.raises(aiohttp.ClientConnectionError):
        await pool.request("POST", "/a", b"{}")
    assert await pool.request("GET", "/b") == (200, b"/b")
    assert f.connections == 2


@pytest.mark.parametrize("framing,raw,body", [
    ("chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=1\r\n\":1}\r\n0\r\n\r\n", b'{"a":1}'),
    ("chunked with trailers", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: y\r\n\r\n", b"{}"),
    ("interim 100 Continue first", b"HTTP/1.1 100 Continue\r\n\r\n" + reply(b"ok"), b"ok"),
    ("204", b"HTTP/1.1 204 No Content\r\n\r\n", b""),
])
async def test_reply_framings_in_a_pipeline(fake, framing, raw, body):
    f, pool = await fake(lambda conn, i, request: (raw, "keep") if i == 1 else echo(conn, i, request), connections=1)
    got = await asyncio.gather(*(pool.request("GET", f"/{i}") for i in range(3)))
    assert got == [(200, b"/0"), (204 if framing == "204" else 200, body), (200, b"/2")]


async def test_a_body_delimited_by_the_close(fake):
    f, pool = await fake(lambda conn, i, request: (b"HTTP/1.1 200 OK\r\n\r\nplain text", "close"), connections=1)
    assert await pool.request("GET", "/x") == (200, b"plain text")


async def test_timeouts(fake, monkeypatch):
    """A request whose reply does not come in time fails with TimeoutError and its connection is
    closed; the requests behind it on that connection are sent again if idempotent; a request
    later goes out on a fresh connection."""
    monkeypatch.setattr(pipelined, "SWEEP_S", 0.02)

    def hold_first_connection(conn, i, request):
        return (b"", "hold") if conn == 0 else echo(conn, i, request)
    f, pool = await fake(hold_first_connection, connections=1)
    got = await asyncio.gather(pool.request("POST", "/a", b"{}", timeout=0.1), pool.request("GET", "/b"),
                               return_exceptions=True)
    assert isinstance(got[0], TimeoutError) and got[1] == (200, b"/b")
    assert await pool.request("GET", "/c", timeout=5) == (200, b"/c")
    assert f.connections == 2


async def test_a_cancelled_request_leaves_its_connection_in_step(fake):
    """Cancelled after it was written: its reply, when it comes, is read and dropped; cancelled
    before: it is not written."""
    release = asyncio.Event()
    f, pool = await fake(lambda conn, i, request: (reply(request.split(b" ")[1]), release if i == 0 else "keep"),
                         connections=1)
    t = asyncio.ensure_future(pool.request("GET", "/gone"))
    while not f.requests:
        await asyncio.sleep(0.01)
    queued = asyncio.ensure_future(pool.request("GET", "/never"))
    u = asyncio.ensure_future(pool.request("GET", "/kept"))
    await asyncio.sleep(0)
    t.cancel()
    queued.cancel()
    release.set()
    assert await u == (200, b"/kept")
    assert await pool.request("GET", "/next") == (200, b"/next")
    assert [r.split(b" ")[1] for _, r in f.requests] == [b"/gone", b"/kept", b"/next"]
    assert f.connections == 1


async def test_idle_connections_past_keepalive_are_not_reused(fake):
    f, pool = await fake(connections=1, keepalive=0.0)
    assert await pool.request("GET", "/a") == (200, b"/a")
    await asyncio.sleep(0.01)
    assert await pool.request("GET", "/b") == (200, b"/b")
    assert f.connections == 2


async def test_nobody_listening_is_a_client_os_error():
    f = Fake()
    url = await f.start()
    await f.stop()
    f.server.close()
    await f.server.wait_closed()
    pool = PipelinedPool(url, None, {})
    with pytest.raises(aiohttp.ClientOSError):
        await pool.request("GET", "/x")
    pool.close()


async def test_a_closed_pool_refuses_requests(fake):
    _, pool = await fake()
    pool.close()
    with pytest.raises(aiohttp.ClientConnectionError):
        await pool.request("GET", "/x")


async def test_warm_up_opens_at_most_connections(fake):
    f, pool = await fake(connections=3)
    assert await pool.prewarm(10) == 3
    assert pool.size() == 3 and f.connections == 3
    assert await pool.request("GET", "/a") == (200, b"/a")
    assert f.connections == 3


async def test_client_pipelined_shares_the_server_and_headers_and_closes_with_its_client():
    from labkube.client import Client, KubeConfig
    f = Fake()
    url = await f.start()
    try:
        async with Client(KubeConfig(server=url), user_agent="ua", max_in_flight=7) as c:
            p = c.pipelined(3)
            assert (p.pipeline, p.max_in_flight) == (3, 7)
            await asyncio.gather(*(p.request("GET", f"/x{i}", raw=True) for i in range(5)))
            assert isinstance(p._pool, PipelinedPool) and p._pool.connections == 3
            assert b"User-Agent: ua\r\n" in f.requests[0][1] and f.connections == 1
        assert p._pool is None
    finally:
        await f.stop()

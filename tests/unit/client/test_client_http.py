"""labkube.client.http: the lean HTTP/1.1 pool against a scripted plain-TCP server on 127.0.0.1
(each reply written byte for byte, so framing, keep-alive and closes are what the test says)."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from labkube.client.http import ConnectionPool


class Scripted:
    """A server that answers each request with the next scripted reply: bytes to write, then
    'close' (close the connection after it) or 'keep'; records the raw requests it read."""

    def __init__(self, replies: list[tuple[bytes, str]]):
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.replies:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                reply, after = self.replies.pop(0)
                if reply:
                    writer.write(reply)
                    await writer.drain()
                if after == "close":
                    break
                if after == "hang":
                    await asyncio.sleep(3600)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        self.server.close()


def reply(body: bytes, status: str = "200 OK", extra: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


FRAMINGS = [
    ("content-length", [(reply(b'{"a":1}'), "keep")], 200, b'{"a":1}'),
    ("chunked", [(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3\r\n{\"a\r\n4;ext=1\r\n\":1}\r\n0\r\n\r\n", "keep")], 200, b'{"a":1}'),
    ("chunked with trailers", [(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"2\r\n{}\r\n0\r\nX-Trailer: y\r\n\r\n", "keep")], 200, b"{}"),
    ("until the server closes", [(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nplain text", "close")],
     200, b"plain text"),
    ("interim 100 Continue first", [(b"HTTP/1.1 100 Continue\r\n\r\n" + reply(b"ok", "202 Accepted"), "keep")], 202, b"ok"),
    ("204 without a body", [(b"HTTP/1.1 204 No Content\r\n\r\n", "keep")], 204, b""),
]


@pytest.mark.parametrize("name,replies,status,body", FRAMINGS, ids=[f[0] for f in FRAMINGS])
async def test_reply_framings(name, replies, status, body):
    srv = Scripted(replies)
    pool = ConnectionPool(await srv.start(), None, {"User-Agent": "t"})
    try:
        assert await pool.request("GET", "/x") == (status, body)
    finally:
        pool.close()
        await srv.stop()


async def test_request_bytes_and_keep_alive():
    srv = Scripted([(reply(b"{}", "201 Created"), "keep"), (reply(b"{}"), "keep")])
    pool = ConnectionPool(await srv.start(), None, {"User-Agent": "t", "Accept": "application/json"})
    try:
        assert await pool.request("POST", "/api/v1/namespaces/a/pods/p/binding", b'{"k":1}') == (201, b"{}")
        assert await pool.request("GET", "/api/v1/pods?labelSelector=a%3Db") == (200, b"{}")
    finally:
        pool.close()
        await srv.stop()
    assert srv.connections == 1                          # the second request reused the connection
    first = srv.requests[0].decode()
    assert first.startswith("POST /api/v1/namespaces/a/pods/p/binding HTTP/1.1\r\n")
    assert "\r\nHost: 127.0.0.1:" in first and "\r\nUser-Agent: t\r\n" in first
    assert "\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"k\":1}" in first
    assert srv.requests[1].decode().startswith("GET /api/v1/pods?labelSelector=a%3Db HTTP/1.1\r\n")


async def test_connection_close_reply_is_not_reused():
    srv = Scripted([(reply(b"1", extra="Connection: close\r\n"), "close"), (reply(b"2"), "keep")])
    pool = ConnectionPool(await srv.start(), None, {})
    try:
        assert (await pool.request("GET", "/a"))[1] == b"1"
        assert (await pool.request("GET", "/b"))[1] == b"2"
    finally:
        pool.close()
        await srv.stop()
    assert srv.connections == 2


@pytest.mark.parametrize("method,retried", [("GET", True), ("PUT", True), ("DELETE", True),
                                            ("POST", False), ("PATCH", False)])
async def test_a_reused_connection_closed_under_the_request(method, retried):
    """The server closes a kept-alive connection without a reply: an idempotent request is sent
    again on a fresh connection, a POST or PATCH fails (it may have been applied)."""
    srv = Scripted([(reply(b"first"), "keep"), (b"", "close"), (reply(b"again"), "keep")])
    pool = ConnectionPool(await srv.start(), None, {})
    try:
        await pool.request("GET", "/warm")
        if retried:
            assert await pool.request(method, "/x", b"{}") == (200, b"again")
        else:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await pool.request(method, "/x", b"{}")
    finally:
        pool.close()
        await srv.stop()


async def test_a_cut_reply_and_a_malformed_one_fail_and_drop_the_connection():
    srv = Scripted([(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "close"),
                    (b"SSH-2.0-nope\r\n\r\n", "keep"), (reply(b"ok"), "keep")])
    pool = ConnectionPool(await srv.start(), None, {})
    try:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await pool.request("POST", "/cut", b"{}")
        with pytest.raises(aiohttp.ClientConnectionError, match="malformed"):
            await pool.request("POST", "/bad", b"{}")
        assert await pool.request("GET", "/ok") == (200, b"ok")
    finally:
        pool.close()
        await srv.stop()
    assert srv.connections == 3


async def test_a_timed_out_request_does_not_leave_its_connection_for_the_next():
    srv = Scripted([(b"", "hang"), (reply(b"ok"), "keep")])
    pool = ConnectionPool(await srv.start(), None, {})
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await pool.request("GET", "/slow")
        assert await pool.request("GET", "/ok") == (200, b"ok")
    finally:
        pool.close()
        await srv.stop()
    assert srv.connections == 2


async def test_a_request_past_its_timeout_fails_and_its_connection_is_closed():
    srv = Scripted([(b"", "hang"), (reply(b"ok"), "keep")])
    pool = ConnectionPool(await srv.start(), None, {})
    try:
        with pytest.raises(TimeoutError):
            await pool.request("GET", "/slow", timeout=0.1)
        assert await pool.request("GET", "/ok", timeout=5) == (200, b"ok")
        assert not pool._busy                  # nothing left waiting for the deadline timer
    finally:
        pool.close()
        await srv.stop()
    assert srv.connections == 2


async def test_a_request_in_flight_when_its_pool_closes_still_times_out():
    srv = Scripted([(b"", "hang")])
    pool = ConnectionPool(await srv.start(), None, {})
    try:
        slow = asyncio.create_task(pool.request("GET", "/slow", timeout=0.1))
        await asyncio.sleep(0.01)
        pool.close()
        await asyncio.wait({slow}, timeout=5)
        assert slow.done() and isinstance(slow.exception(), TimeoutError)
    finally:
        await srv.stop()


async def test_idle_connections_past_keepalive_are_not_reused():
    srv = Scripted([(reply(b"1"), "keep"), (reply(b"2"), "keep")])
    pool = ConnectionPool(await srv.start(), None, {}, keepalive=0.0)
    try:
        await pool.request("GET", "/a")
        await asyncio.sleep(0.01)
        assert (await pool.request("GET", "/b"))[1] == b"2"
    finally:
        pool.close()
        await srv.stop()
    assert srv.connections == 2


async def test_nobody_listening_is_a_client_os_error():
    srv = Scripted([])
    base = await srv.start()
    await srv.stop()
    srv.server.close()
    await srv.server.wait_closed()
    pool = ConnectionPool(base, None, {})
    with pytest.raises(aiohttp.ClientOSError) as e:
        await pool.request("GET", "/x")
    assert isinstance(e.value, OSError)


async def test_a_path_with_unsafe_characters_is_percent_encoded():
    srv = Scripted([(reply(b"{}", "404 Not Found"), "keep")])
    pool = ConnectionPool(await srv.start() + "/prefix/", None, {})
    try:
        assert (await pool.request("GET", "/api/v1/namespaces/a b/pods/é"))[0] == 404
    finally:
        pool.close()
        await srv.stop()
    assert srv.requests[0].startswith(b"GET /prefix/api/v1/namespaces/a%20b/pods/%C3%A9 HTTP/1.1\r\n")

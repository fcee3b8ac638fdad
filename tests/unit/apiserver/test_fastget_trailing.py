"""A direct request followed on its connection by bytes that are no request, a partial request,
a request the direct paths do not take or a second write to the same object: in the same read,
or in a read that comes while the direct write is still in flight (fastget's held requests, here
kept in flight by a gate in front of fastwrite.write). The direct-path server sends byte for
byte what aiohttp alone sends for the same bytes: every reply, in request order, then the close
where aiohttp closes (after the 400 reply to bytes that are no request), never silence and no
reply lost."""
import asyncio
import re

import pytest
from apiserver_helpers import PODS, pod
from fastpath_helpers import get, normalised, paired_servers
from test_fastwrite import RUNNING, USERS, binding, status_patch

from labkube.apiserver import fastwrite
from labkube.apiserver.fastget import FastRequestHandler

SETUP = [("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "default"}}),
         *((PODS, pod(n)) for n in ("a", "b", "on1"))]
GARBAGE = b"garbage garbage\r\n\r\n"
W = binding("a")
A = get(PODS + "/a")


@pytest.fixture
async def servers(tmp_path):
    async for started in paired_servers(tmp_path, SETUP, USERS):
        yield started


async def _replies(reader, count: int | None) -> list[bytes]:
    """`count` replies (Content-Length framed); None: every reply until the server closes, and
    b"<closed>" last."""
    out = []
    while count is None or len(out) < count:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10) if count is not None else \
            await asyncio.wait_for(_head_or_eof(reader), 10)
        if head is None:
            out.append(b"<closed>")
            break
        out.append(head + await reader.readexactly(int(re.search(rb"Content-Length: (\d+)", head).group(1))))
    return out


async def _head_or_eof(reader):
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        assert e.partial == b""
        return None


# (case, the first read's bytes, the next read's bytes (sent while the first read's direct write
# is in flight; b"": none), replies before the next read's bytes are sent to aiohttp alone
# (so that they make a read of their own there too), replies (None: until the server closes))
CASES = [
    ("a binding, then garbage", W + GARBAGE, b"", 0, None),
    ("a binding, then garbage while it is in flight", W, GARBAGE, 1, None),
    ("a binding, then a partial GET", W + A[:10], A[10:], 1, 2),
    ("a binding, then a partial GET, then garbage while it is in flight", W + A[:10], b"zz\r\n" + GARBAGE, 1, None),
    ("a binding, then a list", W + get(PODS), b"", 0, 2),
    ("a binding, then a list while it is in flight", W, get(PODS), 1, 2),
    ("a binding twice", W + W, b"", 0, 2),
    ("a binding, then the same binding while it is in flight", W, W, 1, 2),
    ("a GET, then garbage", A + GARBAGE, b"", 0, None),
    ("a GET, then garbage in the next read", A, GARBAGE, 1, None),
    ("a status patch, then garbage", status_patch("on1", RUNNING) + GARBAGE, b"", 0, None),
    ("two bindings (a pipelined run), then garbage while they are in flight", W + binding("b"), GARBAGE, 2, None),
    ("a binding, then a GET and garbage while it is in flight", W, A + b"zz", 1, None),
]


@pytest.mark.parametrize("first,then,before,count", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_trailing_bytes_answered_as_aiohttp_alone(servers, monkeypatch, first, then, before, count):
    (_, fast_port, _), (_, plain_port, _) = servers[0]
    reader, writer = await asyncio.open_connection("127.0.0.1", plain_port, ssl=servers[1])
    writer.write(first)
    plain = await _replies(reader, before)
    if then:
        writer.write(then)
    plain += await _replies(reader, None if count is None else count - before)
    writer.close()

    real = fastwrite.write
    gate, in_flight, fed = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def gated(*args):
        in_flight.set()
        await gate.wait()
        return await real(*args)

    received = FastRequestHandler.data_received

    def noted(self, data):
        received(self, data)
        if in_flight.is_set() and data:
            fed.set()

    monkeypatch.setattr(fastwrite, "write", gated)
    monkeypatch.setattr(FastRequestHandler, "data_received", noted)
    reader, writer = await asyncio.open_connection("127.0.0.1", fast_port, ssl=servers[1])
    writer.write(first)
    fast = []
    if then and first.startswith(b"GET "):  # no write: the GET is answered at once, as aiohttp's was
        fast = await _replies(reader, before)
        writer.write(then)
    elif then:
        await in_flight.wait()
        writer.write(then)
        await fed.wait()  # the server has the bytes while the write is in flight
    gate.set()
    fast += await _replies(reader, None if count is None else count - len(fast))
    writer.close()
    assert [normalised(r) for r in fast] == [normalised(r) for r in plain]
    if count is None:
        assert fast[-1] == b"<closed>" and fast[-2].startswith(b"HTTP/1.0 400 Bad Request")

"""The direct GET path (labkube.apiserver.fastget): which requests it answers, and that its
answers are byte for byte what the aiohttp path sends for the same request."""
import asyncio
import re

import pytest
from apiserver_helpers import PODS, pod
from fastpath_helpers import exchange, exchange_with_both, get, normalised, paired_servers, post

from labkube.apiserver import fastget

NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}


@pytest.fixture
async def servers(tmp_path):
    """The same writes on a server with the direct path and on one with aiohttp's alone."""
    setup = [("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "default"}}),
             (PODS, pod("web")), ("/api/v1/nodes", NODE)]
    async for started in paired_servers(tmp_path, setup):
        yield started


TABLE = "Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

# (case, request bytes, responses expected, which requests the direct path answers, client certificate)
CASES = [
    ("namespaced object", get(PODS + "/web"), 1, [PODS + "/web"], True),
    ("cluster-scoped object", get("/api/v1/nodes/n1"), 1, ["/api/v1/nodes/n1"], True),
    ("group resource", get("/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical"), 1,
     ["/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical"], True),
    ("JSON Accept", get(PODS + "/web", "Accept: application/json"), 1, [PODS + "/web"], True),
    ("several pipelined, in order", get(PODS + "/web") + get("/api/v1/nodes/n1") + get(PODS + "/web"), 3,
     [PODS + "/web", "/api/v1/nodes/n1", PODS + "/web"], True),
    ("missing object: 404 from aiohttp", get(PODS + "/nope"), 1, [], True),
    ("query string", get(PODS + "/web?resourceVersion=0"), 1, [], True),
    ("Table output", get(PODS + "/web", TABLE), 1, [], True),
    ("subresource", get(PODS + "/web/status"), 1, [], True),
    ("list", get(PODS), 1, [], True),
    ("unknown resource", get("/api/v1/namespaces/default/gizmos/x"), 1, [], True),
    ("componentstatuses", get("/api/v1/componentstatuses/etcd-0"), 1, [], True),
    ("escaped path", get(PODS + "/w%65b"), 1, [], True),
    ("dot segment", get("/api/v1/namespaces/default/nodes/../pods/web"), 1, [], True),
    ("empty segment", get("/api/v1/namespaces/default//pods/web"), 1, [], True),
    ("Connection: close", get(PODS + "/web", "Connection: close"), 1, [], True),
    ("Expect: 100-continue", get(PODS + "/web", "Expect: 100-continue"), 1, [], True),
    ("no client certificate: 401", get(PODS + "/web"), 1, [], False),
    ("HTTP/1.0", f"GET {PODS}/web HTTP/1.0\r\nHost: x\r\n\r\n".encode(), 1, [], True),
    ("GET behind a slow request stays behind it", get(PODS) + get(PODS + "/web"), 2, [], True),
    # forms the hand-written reader (fastparse.py) reads, and forms it leaves to aiohttp's parser
    ("header names in lower case", f"GET {PODS}/web HTTP/1.1\r\nhost: x\r\naccept: application/json\r\n\r\n".encode(),
     1, [PODS + "/web"], True),
    ("Connection: keep-alive", get(PODS + "/web", "Connection: keep-alive"), 1, [PODS + "/web"], True),
    ("Accept twice", get(PODS + "/web", "Accept: application/json", "Accept: application/yaml"), 1, [PODS + "/web"], True),
    ("Table in a second Accept", get(PODS + "/web", "Accept: application/json", TABLE), 1, [PODS + "/web"], True),
    ("folded header line", get(PODS + "/web", "Accept: application/json", " ;as=Table;v=v1;g=meta.k8s.io"), 1, [], True),
    ("Content-Length: 0", get(PODS + "/web", "Content-Length: 0"), 1, [PODS + "/web"], True),
    ("impersonation", get(PODS + "/web", "Impersonate-User: jane"), 1, [], True),
    ("non-ASCII header value", get(PODS + "/web").replace(b"Host: x", "Host: x\r\nX-Note: caf\u00e9".encode()), 1,
     [PODS + "/web"], True),
]


@pytest.mark.parametrize("raw,count,direct,cert", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_direct_answers_equal_aiohttp_answers(servers, raw, count, direct, cert):
    fast, plain, fast_seen, plain_seen = await exchange_with_both(servers, raw, count, cert)
    assert [normalised(r) for r in fast] == [normalised(r) for r in plain]
    answered_directly = list(plain_seen)
    for path in fast_seen:
        answered_directly.remove(path)
    assert answered_directly == direct


async def test_path_keys_remembered_within_a_bound(servers, monkeypatch):
    (_, fast_port, fast_seen), _ = servers[0]
    monkeypatch.setattr(fastget, "_KEYS", {})
    monkeypatch.setattr(fastget, "_KEYS_MAX", 2)
    paths = [PODS + "/web", "/api/v1/nodes/n1", "/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical"]
    fast_seen.clear()
    for resp in await exchange(fast_port, servers[1], b"".join(get(p) for p in paths + paths), 2 * len(paths)):
        assert resp.startswith(b"HTTP/1.1 200 ")
    assert fast_seen == [] and 0 < len(fastget._KEYS) <= 2


async def test_client_not_reading_meets_aiohttps_back_pressure(servers):
    """With the connection's writing paused (the client's buffers are full), aiohttp answers:
    it writes the response and waits for the drain before reading the next request."""
    (runner, fast_port, fast_seen), _ = servers[0]
    reader, writer = await asyncio.open_connection("127.0.0.1", fast_port, ssl=servers[1])

    async def get_web():
        writer.write(get(PODS + "/web"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        await reader.readexactly(int(re.search(rb"Content-Length: (\d+)", head).group(1)))
        return head

    fast_seen.clear()
    assert (await get_web()).startswith(b"HTTP/1.1 200 ") and fast_seen == []
    paused = [h for h in runner.server.connections if h.transport is not None and not h.writing_paused]
    for h in paused:
        h.pause_writing()
    try:
        assert (await get_web()).startswith(b"HTTP/1.1 200 ") and fast_seen == [PODS + "/web"]
    finally:
        for h in paused:
            h.resume_writing()
    writer.close()


async def test_a_request_in_pieces_and_one_after_aiohttp(servers):
    """A GET whose head arrives in two writes, plain GETs after a request aiohttp handled and after
    creates (direct and through aiohttp), on one connection: the same bytes as aiohttp alone sends."""
    replies = []
    for (_, port, seen) in servers[0]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=servers[1])
        got = []
        for pieces in ([b"GET " + PODS.encode() + b"/web HTT", b"P/1.1\r\nHost: x\r\n\r\n"],
                       [get(PODS)], [get(PODS + "/web")], [get("/api/v1/nodes/n1")],
                       [post(PODS, pod("second"))], [get(PODS + "/second")],
                       [post(PODS + "?fieldManager=x", pod("third"))], [get(PODS + "/third")]):
            for piece in pieces:
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.05)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            got.append(normalised(head + await reader.readexactly(length)))
        writer.close()
        replies.append(got)
    assert replies[0] == replies[1]
    assert [r[:12] for r in replies[0]] == [b"HTTP/1.1 200"] * 4 + [b"HTTP/1.1 201", b"HTTP/1.1 200"] * 2


WEB, CLOSE, NOPE, LIST = get(PODS + "/web"), get(PODS + "/web", "Connection: close"), get(PODS + "/nope"), get(PODS)


@pytest.mark.parametrize("raw,parsed_by_aiohttp", [
    (WEB, []),  # read by fastparse.py and answered
    (NOPE, [NOPE]),  # read by fastparse.py, not stored: aiohttp's parser and path answer it
    (CLOSE, [CLOSE]),  # not read by fastparse.py
    (WEB + WEB, []),  # two in one read (pipelined): read by fastparse.py and answered together
    (WEB + LIST + WEB, [WEB + LIST + WEB]),  # pipelined, one no direct GET: all to aiohttp's parser
    (LIST + WEB, [LIST + WEB]),  # pipelined, the first no direct GET: all to aiohttp's parser
], ids=["plain GET", "missing object", "Connection: close", "pipelined", "pipelined, a list between",
        "pipelined, a list first"])
async def test_plain_gets_skip_aiohttps_parser(servers, monkeypatch, raw, parsed_by_aiohttp):
    fed = []
    feed = fastget._Parser.feed_data
    monkeypatch.setattr(fastget._Parser, "feed_data", lambda self, data: fed.append(data) or feed(self, data))
    (_, fast_port, _), _ = servers[0]
    replies = await exchange(fast_port, servers[1], raw, raw.count(b"GET "))
    assert all(r.startswith(b"HTTP/1.1 ") for r in replies)
    assert [d for d in fed if d] == parsed_by_aiohttp


async def test_gets_after_a_parsed_request_skip_aiohttps_parser(servers, monkeypatch):
    """Once aiohttp's parser was given whole requests (a list, a create with its body that the
    direct path leaves to it), the next plain GET on the connection is read without it again."""
    fed = []
    feed = fastget._Parser.feed_data
    monkeypatch.setattr(fastget._Parser, "feed_data", lambda self, data: fed.append(data) or feed(self, data))
    (_, fast_port, _), _ = servers[0]
    reader, writer = await asyncio.open_connection("127.0.0.1", fast_port, ssl=servers[1])
    sent = [get(PODS), get(PODS + "/web"), post(PODS + "?fieldManager=x", pod("fourth")), get(PODS + "/fourth")]
    for raw in sent:
        writer.write(raw)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        await reader.readexactly(int(re.search(rb"Content-Length: (\d+)", head).group(1)))
    writer.close()
    assert [d for d in fed if d] == [sent[0], sent[2]]  # b"": aiohttp re-reading after a request

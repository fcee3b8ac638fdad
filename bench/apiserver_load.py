"""Load generators for bench/apiserver.py; each runs in its own process (own event loop),
so the clients never share a CPU loop with the server they measure.

`run(job)` is the process entry point: job["kind"] is "create" (pods on the apiserver),
"put" (the same JSON values as raw etcd puts through its HTTP/JSON gateway), "get" or
"watch". Every job returns a dict with latencies in milliseconds and its timing.

The request/response clients are deliberately lean, so that the 2 cores the clients share
with the server go to the server: one keep-alive HTTP/1.1 connection per client (TLS
handshake before the clock starts), request bytes written straight to the transport and
responses framed by Content-Length (or chunked) in a small asyncio protocol, on uvloop
when installed. A request's latency runs from the moment its bytes are handed to the
transport to the moment its whole response has arrived.
"""
from __future__ import annotations

import asyncio
import base64
import json
import random
import ssl
import time
from urllib.parse import urlsplit

import aiohttp

try:
    import orjson

    def _dumps(obj) -> bytes:
        return orjson.dumps(obj)
    _loads = orjson.loads
except ImportError:  # pragma: no cover - the venv has orjson
    def _dumps(obj) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()
    _loads = json.loads

NS = "default"
PODS = f"/api/v1/namespaces/{NS}/pods"


def pod(i: int, t0: float | None = None) -> dict:
    """The benchmark's pod: one container with requests, two labels (a typical small manifest)."""
    md = {"name": f"bench-{i}", "labels": {"app": "bench", "shard": str(i % 10)}}
    if t0 is not None:
        md["annotations"] = {"bench/t0": repr(t0)}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"],
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


def _ssl(job) -> ssl.SSLContext | None:
    if not job.get("pki"):
        return None
    from pathlib import Path

    from apiserver_procs import client_ssl
    return client_ssl(Path(job["pki"]))


def _session(job, limit: int) -> aiohttp.ClientSession:
    ctx = _ssl(job)
    conn = aiohttp.TCPConnector(limit=limit, ssl=ctx if ctx is not None else False)
    return aiohttp.ClientSession(job["url"], connector=conn, timeout=aiohttp.ClientTimeout(total=120))


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with one request in flight at a time."""

    def __init__(self):
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.transport = None
        self.closed: asyncio.Future = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        if not self.closed.done():
            self.closed.set_result(None)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    def data_received(self, data):
        self.buf += data
        if self.waiter is not None and not self.waiter.done():
            self._frame()

    def _frame(self) -> None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        start = end + 4
        if "content-length" in fields:
            stop = start + int(fields["content-length"])
            if len(self.buf) < stop:
                return
            body = bytes(self.buf[start:stop])
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            body, stop = _dechunk(self.buf, start)
            if body is None:
                return
        else:
            raise ConnectionError("response without Content-Length or chunked encoding")
        del self.buf[:stop]
        self.waiter.set_result((status, body))

    async def request(self, raw: bytes) -> tuple[int, bytes, float]:
        """(status, body, latency in ms from handing the bytes to the transport)."""
        self.waiter = asyncio.get_running_loop().create_future()
        t = time.perf_counter()
        self.transport.write(raw)
        if self.buf:
            self._frame()
        status, body = await self.waiter
        return status, body, (time.perf_counter() - t) * 1000


def _dechunk(buf: bytearray, pos: int):
    out = bytearray()
    while True:
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            return None, 0
        size = int(bytes(buf[pos:nl]).split(b";")[0], 16)
        if len(buf) < nl + 2 + size + 2:
            return None, 0
        out += buf[nl + 2:nl + 2 + size]
        pos = nl + 2 + size + 2
        if size == 0:
            return bytes(out), pos


class _Client:
    """Request bytes for one server: `Host` and framing headers prepared once."""

    def __init__(self, job):
        u = urlsplit(job["url"])
        self.host, self.port = u.hostname, u.port or (443 if u.scheme == "https" else 80)
        self.ssl = _ssl(job) if u.scheme == "https" else None
        # the headers the Python client sends (kubectl -o json too): JSON asked for and a User-Agent
        self.prefix = f"Host: {self.host}:{self.port}\r\nAccept: application/json\r\nUser-Agent: bench-apiserver\r\n"

    def raw(self, method: str, path: str, body: bytes | None = None) -> bytes:
        if body is None:
            return f"{method} {path} HTTP/1.1\r\n{self.prefix}\r\n".encode()
        return (f"{method} {path} HTTP/1.1\r\n{self.prefix}Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Conn, self.host, self.port, ssl=self.ssl)
        return conn


async def _closed_loop(job, ids, build, ok_status: int, warm: bytes) -> dict:
    """`concurrency` clients on their own keep-alive connections, each sending its next
    request (build(i) -> bytes) as soon as the last one answered."""
    lat, errors = [], 0
    it = iter(ids)
    client = _Client(job)
    conns = await asyncio.gather(*(client.connect() for _ in range(job["concurrency"])))
    for c in conns:  # every connection has done its TLS handshake and one request before the clock
        await c.request(warm)
    delay = job["start_at"] - time.time()
    if delay > 0:
        await asyncio.sleep(delay)

    async def one(conn: _Conn):
        nonlocal errors
        for i in it:
            status, _, ms = await conn.request(build(client, i))
            lat.append(ms)
            errors += status != ok_status
    t0, c0 = time.time(), time.process_time()
    await asyncio.gather(*(one(c) for c in conns))
    out = {"lat_ms": lat, "errors": errors, "start": max(t0, job["start_at"]), "end": time.time(),
           "cpu": time.process_time() - c0}
    for c in conns:
        c.transport.close()
    return out


async def _create(job) -> dict:
    def build(client, i):
        return client.raw("POST", PODS, _dumps(pod(i)))
    return await _closed_loop(job, job["ids"], build, 201, _Client(job).raw("GET", "/readyz"))


async def _put(job) -> dict:
    template = job["value"]

    def build(client, i):
        key = f"/registry/pods/{NS}/bench-{i}"
        body = {"key": base64.b64encode(key.encode()).decode(),
                "value": base64.b64encode(template.replace("bench-NAME", f"bench-{i}").encode()).decode()}
        return client.raw("POST", "/v3/kv/put", _dumps(body))
    return await _closed_loop(job, job["ids"], build, 200, _Client(job).raw("GET", "/health"))


async def _get(job) -> dict:
    rnd = random.Random(job["seed"])
    names, n = job["names"], job["count"]

    def build(client, i):
        return client.raw("GET", f"{PODS}/{names[rnd.randrange(len(names))]}")
    return await _closed_loop(job, range(n), build, 200, _Client(job).raw("GET", "/readyz"))


async def _watch(job) -> dict:
    """`watchers` streams from one resourceVersion; each event's delay is now - its bench/t0."""
    delays, seen = [], 0
    ready = job.pop("ready")
    want, deadline = job["events"], job["deadline"]
    async with _session(job, job["watchers"]) as s:
        async def one():
            nonlocal seen
            url = f"{PODS}?watch=1&resourceVersion={job['rv']}&allowWatchBookmarks=false"
            async with s.get(url, timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as r:
                started.append(1)
                if len(started) == job["watchers"] and not opened.done():
                    opened.set_result(None)
                got = 0
                while got < want and time.time() < deadline:
                    try:
                        line = await asyncio.wait_for(r.content.readline(), max(0.1, deadline - time.time()))
                    except asyncio.TimeoutError:
                        break
                    if not line:
                        break
                    now = time.time()
                    ev = _loads(line)
                    t0 = ((ev.get("object") or {}).get("metadata") or {}).get("annotations", {}).get("bench/t0")
                    if t0 is not None:
                        delays.append((now - float(t0)) * 1000)
                        got += 1
                seen += got
        opened = asyncio.get_running_loop().create_future()
        started: list = []
        tasks = [asyncio.create_task(one()) for _ in range(job["watchers"])]
        await asyncio.wait_for(opened, 60)
        ready.put(job["watchers"])
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"lat_ms": delays, "received": seen}


def run(job: dict) -> dict:
    kind = job["kind"]
    fn = {"create": _create, "put": _put, "get": _get, "watch": _watch}[kind]
    try:
        import uvloop
    except ImportError:
        return asyncio.run(fn(job))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(fn(job))

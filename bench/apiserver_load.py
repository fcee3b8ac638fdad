"""Load generators for bench/apiserver.py; each runs in its own process (own event loop),
so the clients never share a CPU loop with the server they measure.

`run(job)` is the process entry point: job["kind"] is "create" (pods on the apiserver),
"put" (the same JSON values as raw etcd puts through its HTTP/JSON gateway), "get" or
"watch". Every job returns a dict with latencies in milliseconds and its timing.
"""
from __future__ import annotations

import asyncio
import base64
import json
import random
import time

import aiohttp

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


def _session(job, limit: int) -> aiohttp.ClientSession:
    ctx = None
    if job.get("pki"):
        from apiserver_procs import client_ssl
        from pathlib import Path
        ctx = client_ssl(Path(job["pki"]))
    conn = aiohttp.TCPConnector(limit=limit, ssl=ctx if ctx is not None else False)
    return aiohttp.ClientSession(job["url"], connector=conn, timeout=aiohttp.ClientTimeout(total=120))


async def _closed_loop(job, ids, request) -> dict:
    """`concurrency` clients, each sending its next request as soon as the last one answered."""
    lat, errors = [], 0
    it = iter(ids)
    async with _session(job, job["concurrency"]) as s:
        # open every client's keep-alive connection (TLS handshake) before the clock starts
        await asyncio.gather(*(request(s, None) for _ in range(job["concurrency"])))
        delay = job["start_at"] - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

        async def client():
            nonlocal errors
            for i in it:
                t = time.perf_counter()
                ok = await request(s, i)
                lat.append((time.perf_counter() - t) * 1000)
                errors += not ok
        t0, c0 = time.time(), time.process_time()
        await asyncio.gather(*(client() for _ in range(job["concurrency"])))
        return {"lat_ms": lat, "errors": errors, "start": max(t0, job["start_at"]), "end": time.time(),
                "cpu": time.process_time() - c0}


async def _create(job) -> dict:
    async def request(s, i):
        if i is None:
            async with s.get("/readyz") as r:
                return r.status == 200
        async with s.post(PODS, json=pod(i)) as r:
            await r.read()
            return r.status == 201
    return await _closed_loop(job, job["ids"], request)


async def _put(job) -> dict:
    template = job["value"]

    async def request(s, i):
        if i is None:
            async with s.get("/health") as r:
                return r.status == 200
        key = f"/registry/pods/{NS}/bench-{i}"
        body = {"key": base64.b64encode(key.encode()).decode(),
                "value": base64.b64encode(template.replace("bench-NAME", f"bench-{i}").encode()).decode()}
        async with s.post("/v3/kv/put", json=body) as r:
            await r.read()
            return r.status == 200
    return await _closed_loop(job, job["ids"], request)


async def _get(job) -> dict:
    rnd = random.Random(job["seed"])
    names, n = job["names"], job["count"]

    async def request(s, i):
        path = "/readyz" if i is None else f"{PODS}/{names[rnd.randrange(len(names))]}"
        async with s.get(path) as r:
            await r.read()
            return r.status == 200
    return await _closed_loop(job, range(n), request)


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
                    ev = json.loads(line)
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
    return asyncio.run(fn(job))

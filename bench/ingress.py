"""The ingress reverse proxy's cost per request, in one process on loopback (no lab needed).

A small aiohttp "pod" and the ingress ReverseProxy run in this process; a client makes `--requests`
GETs (`--concurrency` at a time, keep-alive) straight to the pod, then the same through the proxy,
alternating `--rounds` times. The process's CPU time per request of each, and the difference (what
the proxy adds: its server side, its client side to the pod), are printed as JSON and one line.
CPU, not wall-clock: the machine is shared.

    .venv/bin/python bench/ingress.py [--requests 3000] [--concurrency 8] [--rounds 3] [--json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from labkube.ingress.server import ReverseProxy, listen  # noqa: E402

BODY = b"x" * 612               # nginx's welcome page is about this size


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def page(_request):
    return web.Response(body=BODY)


async def load(url: str, host: str, requests: int, concurrency: int) -> float:
    """CPU seconds of this process per request for `requests` GETs of url."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:
        left = requests

        async def worker():
            nonlocal left
            while left > 0:
                left -= 1
                async with s.get(url, headers={"Host": host}) as r:
                    assert r.status == 200 and await r.read() == BODY
        await worker()                                   # warm the connection up
        left = requests
        start = time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return (time.process_time() - start) / requests


async def main(args) -> dict:
    app = web.Application()
    app.router.add_get("/", page)
    pod_runner = web.AppRunner(app, access_log=None)
    await pod_runner.setup()
    pod = free_port()
    await web.TCPSite(pod_runner, "127.0.0.1", pod).start()
    proxy = ReverseProxy(lambda host, path: (200, ("127.0.0.1", pod), "bench/pod:80"))
    await proxy.start()
    port = free_port()
    runner = await listen(proxy, "127.0.0.1", port, 0, None)
    direct, proxied = [], []
    try:
        for _ in range(args.rounds):
            direct.append(await load(f"http://127.0.0.1:{pod}/", "pod.bench", args.requests, args.concurrency))
            proxied.append(await load(f"http://127.0.0.1:{port}/", "pod.bench", args.requests, args.concurrency))
    finally:
        await runner.cleanup()
        await proxy.close()
        await pod_runner.cleanup()
    d, p = statistics.median(direct), statistics.median(proxied)
    return {"requests": args.requests, "concurrency": args.concurrency, "rounds": args.rounds,
            "direct_cpu_us_per_request": round(d * 1e6, 1), "proxied_cpu_us_per_request": round(p * 1e6, 1),
            "proxy_cpu_us_per_request": round((p - d) * 1e6, 1)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = asyncio.run(main(args))
    if args.json:
        print(json.dumps(out))
    print(f"ingress proxy: {out['proxy_cpu_us_per_request']} us CPU per request "
          f"(direct {out['direct_cpu_us_per_request']}, through the proxy {out['proxied_cpu_us_per_request']}; "
          f"median of {args.rounds} rounds of {args.requests} at concurrency {args.concurrency})")

#!/usr/bin/env python3
"""CPU cost of a new TLS connection to the apiserver, on both ends.

Starts a bare apiserver (labkube.testing.LocalCluster: no scheduler, no controllers) and, on
uvloop with the kubeconfig's SSL context (built once, as every labkube client does), opens N
fresh connections, each carrying one `GET /version` before it is closed; then, as the control,
the same N requests on one kept-alive connection. The apiserver's CPU (/proc/PID/stat) and this
process's (getrusage) are read around each phase; the per-connection cost of a handshake is the
fresh phase's CPU minus the kept-alive phase's, divided by N. Connections are opened `--burst` at
a time (a client pool growing in a burst), bursts one after the other. Prints one JSON object
(with --json) and a one-line summary.

  flock /run/lock/labctl-lab.lock .venv/bin/python bench/tls_connect.py --json
  ... --connections 2000 --pause 5      (and py-spy record --pid <printed pid> meanwhile)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import ssl
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labkube.client import KubeConfig  # noqa: E402
from labkube.testing import LocalCluster  # noqa: E402
from apiserver_procs import cpu_s  # noqa: E402  (a process's user + system CPU seconds)

REQUEST = b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"


def own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Probe(asyncio.Protocol):
    """Sends requests on a connection and waits for each whole reply (Content-Length bodies)."""

    def __init__(self, loop):
        self.loop, self.transport, self.buf, self.reply = loop, None, bytearray(), None
        self.lost = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0 or self.reply is None:
            return
        head = bytes(self.buf[:end]).lower()
        i = head.find(b"content-length:")
        length = int(head[i + 15:].split(b"\r\n", 1)[0]) if i >= 0 else 0
        if len(self.buf) >= end + 4 + length:
            status = int(self.buf[9:12])
            del self.buf[:end + 4 + length]
            self.reply.set_result(status)

    def connection_lost(self, exc):
        if self.reply is not None and not self.reply.done():
            self.reply.set_exception(ConnectionError("closed before the reply"))
        if not self.lost.done():
            self.lost.set_result(None)

    async def get(self) -> int:
        self.reply = self.loop.create_future()
        self.transport.write(REQUEST)
        return await self.reply


async def one_fresh(loop, port, ctx, tickets: list) -> None:
    _, p = await loop.create_connection(lambda: Probe(loop), "127.0.0.1", port, ssl=ctx,
                                        server_hostname="127.0.0.1")
    status = await p.get()
    if status != 200:
        raise RuntimeError(f"GET /version: {status}")
    tickets.append(p.transport.get_extra_info("ssl_object").version())
    p.transport.close()
    await p.lost


async def run(port: int, ctx: ssl.SSLContext, pid: int, n: int, burst: int, pause: float) -> dict:
    loop = asyncio.get_running_loop()
    versions: list = []
    # warm-up: both ends' first connection (imports, lazily built state)
    for _ in range(20):
        await one_fresh(loop, port, ctx, versions)
    if pause:
        print(f"apiserver pid {pid}: fresh connections start in {pause:.0f} s", file=sys.stderr, flush=True)
        await asyncio.sleep(pause)
    out = {}
    for phase in ("fresh", "kept"):
        a0, c0, t0 = cpu_s(pid), own_cpu(), time.perf_counter()
        if phase == "fresh":
            done = 0
            while done < n:
                k = min(burst, n - done)
                await asyncio.gather(*(one_fresh(loop, port, ctx, versions) for _ in range(k)))
                done += k
        else:
            _, p = await loop.create_connection(lambda: Probe(loop), "127.0.0.1", port, ssl=ctx,
                                                server_hostname="127.0.0.1")
            for _ in range(n):
                if await p.get() != 200:
                    raise RuntimeError("GET /version failed")
            p.transport.close()
            await p.lost
        await asyncio.sleep(0.3)  # the apiserver's connection_lost work for the last ones
        out[phase] = {"wall_s": time.perf_counter() - t0 - 0.3,
                      "apiserver_cpu_s": cpu_s(pid) - a0, "client_cpu_s": own_cpu() - c0}
    out["tls_versions"] = sorted(set(versions))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--burst", type=int, default=16, help="connections opened at once")
    ap.add_argument("--pause", type=float, default=0.0, help="seconds to wait before the measured phases")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tls-connect-") as d:
        cluster = LocalCluster(d, scheduler=False, controllers=False,
                               apiserver_cfg={"storage": {"fsync": False}}).start()
        try:
            kc = KubeConfig.load(cluster.kubeconfig)
            ctx = kc.ssl_context()
            pid = cluster.procs["apiserver"].pid
            import uvloop
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                r = runner.run(run(cluster.port, ctx, pid, args.connections, args.burst, args.pause))
        finally:
            cluster.stop()
    n = args.connections
    f, k = r["fresh"], r["kept"]
    result = {
        "connections": n, "burst": args.burst, "tls_versions": r["tls_versions"],
        "fresh": f, "kept": k,
        "apiserver_ms_per_connection": round((f["apiserver_cpu_s"] - k["apiserver_cpu_s"]) * 1000 / n, 3),
        "client_ms_per_connection": round((f["client_cpu_s"] - k["client_cpu_s"]) * 1000 / n, 3),
        "apiserver_ms_per_fresh_get": round(f["apiserver_cpu_s"] * 1000 / n, 3),
        "client_ms_per_fresh_get": round(f["client_cpu_s"] * 1000 / n, 3),
        "apiserver_ms_per_kept_get": round(k["apiserver_cpu_s"] * 1000 / n, 3),
        "client_ms_per_kept_get": round(k["client_cpu_s"] * 1000 / n, 3),
        "connections_per_s": round(n / f["wall_s"], 1),
    }
    if args.json:
        print(json.dumps(result))
    print(f"new TLS connection: apiserver {result['apiserver_ms_per_connection']} ms CPU, client "
          f"{result['client_ms_per_connection']} ms CPU (fresh GET {result['apiserver_ms_per_fresh_get']}/"
          f"{result['client_ms_per_fresh_get']}, kept-alive GET {result['apiserver_ms_per_kept_get']}/"
          f"{result['client_ms_per_kept_get']}), {result['connections_per_s']} connections/s, "
          f"{','.join(r['tls_versions'])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

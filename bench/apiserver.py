#!/usr/bin/env python3
"""Benchmark the apiserver alone against a local etcd 3.4 as the reference (issue 4).

Starts `python -m labkube.apiserver` (throwaway CA, durable SQLite in a tmp dir, fsync on)
and Debian's etcd on 127.0.0.1, and drives both from separate client processes (aiohttp;
the load never runs on the server's event loop):

  creates   N pods by 50 concurrent clients (closed loop): creates/s, write p50/p99 (a JSON
            POST with no query, as the Python client's create_namespaced_pod sends it: the
            apiserver's direct create path, labkube/apiserver/fastcreate.py)
  get       GETs of random stored pods by 50 clients: p50/p99 (with `Accept: application/json`
            and no query, as the Python client and `kubectl get -o json` send them: the
            apiserver's direct GET path, labkube/apiserver/fastget.py)
  list      LIST of every stored pod (10,000 in a full run), best of 3
  watch     100 watchers on the pods of the namespace; a writer creates pods carrying
            their send time; delay = delivery time - send time (includes the durable write)
  rss       the apiserver's resident memory with all pods stored
  etcd      the same keys and the same JSON values (a pod as the apiserver stored it) as
            raw puts through etcd's HTTP/JSON gateway (/v3/kv/put), 50 clients; creates and
            puts alternate in two rounds so both meet the same machine load
  cpu       the server's CPU ms per request (create, get, etcd put) and us per watch delivery
            (watch_cpu_us: the watch phase's server CPU over its deliveries, its one writer's
            creates included): steadier than rates on a shared machine

Clients talk HTTPS with a client certificate and keep-alive connections, exactly as
kubectl and the Python client do, through a lean HTTP/1.1 client (apiserver_load.py) so that
the load generator, which shares the machine's cores with the server, costs ~0.1 ms CPU per
request (reported as *_client_cpu_ms, for etcd's puts too: the same closed loop and framing,
plus the base64 encoding of key and value its JSON gateway asks for); latencies run from handing a request's bytes to the
transport to its complete response. In a closed loop of 50 clients the mean latency is
50 / rate (Little's law): *_mean_ms shows how much of a latency is queueing at the server.
No plain-HTTP port is added to the apiserver: that would measure a path no real client takes.
etcd is spoken to in plain HTTP, as etcd is usually run on a master's loopback.

  bench/apiserver.py --json          10,000 pods
  bench/apiserver.py --quick --json  2,000 pods (under a minute); list_10k_s is then scaled

Goals: creates/s >= 2,000 and >= 50% of etcd puts/s, write p99 <= 50 ms, GET p99 <= 10 ms,
LIST 10k <= 1 s, watch p99 <= 50 ms, RSS <= 300 MB with 10k pods.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import apiserver_load as load  # noqa: E402
from apiserver_procs import Apiserver, Etcd  # noqa: E402

CLIENTS, PROCS, WATCHERS = 50, 2, 100


def _child(job, out):
    out.put(load.run(job))


def spawn(jobs: list[dict], at_start=None) -> list[dict]:
    """Run each job in its own process (at_start() runs at the jobs' start_at); wait for all results."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(j, out), daemon=True) for j in jobs]
    for p in procs:
        p.start()
    if at_start is not None:
        time.sleep(max(0.0, jobs[0]["start_at"] - time.time()))
        at_start()
    res = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return res


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q / 100 * len(s)))], 2)


def closed_loop(kind: str, base: dict, ids: range, server, **extra) -> dict:
    """Requests for ids by CLIENTS clients split over PROCS processes: latencies, wall time and
    the server's CPU seconds (CPU per request is steadier than rates on a shared machine)."""
    start_at, cpu0 = time.time() + 3, []
    jobs = [dict(base, kind=kind, ids=list(ids[p::PROCS]), count=len(ids) // PROCS, concurrency=CLIENTS // PROCS,
                 start_at=start_at, seed=p, **extra) for p in range(PROCS)]
    res = spawn(jobs, lambda: cpu0.append(server.cpu_s()))  # after the clients' connections are open
    cpu0 = cpu0[0]
    return {"lat": [x for r in res for x in r["lat_ms"]], "errors": sum(r["errors"] for r in res),
            "took": max(r["end"] for r in res) - min(r["start"] for r in res), "cpu": server.cpu_s() - cpu0,
            "client_cpu": sum(r["cpu"] for r in res)}


def summarise(runs: list[dict]) -> dict:
    """Rate, p50/p99 and CPU ms per request over one or more closed-loop runs."""
    lat = [x for r in runs for x in r["lat"]]
    took, cpu = sum(r["took"] for r in runs), sum(r["cpu"] for r in runs)
    # mean_ms vs clients/per_s (Little's law): in a closed loop the latency is the queue at the server
    return {"per_s": round(len(lat) / took, 1), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
            "mean_ms": round(sum(lat) / max(len(lat), 1), 2),
            "errors": sum(r["errors"] for r in runs), "cpu_ms": round(cpu * 1000 / max(len(lat), 1), 3),
            "client_cpu_ms": round(sum(r["client_cpu"] for r in runs) * 1000 / max(len(lat), 1), 3)}


def writes(api: Apiserver, etcd: Etcd | None, n: int, rounds: int) -> dict:
    """Pod creates and, in alternating rounds right after each, the same puts on etcd (so both
    see the same machine load); etcd's values are the first pod as the apiserver stored it."""
    base, creates, puts, stored = {"url": api.url, "pki": str(api.pki)}, [], [], None
    for r in range(rounds):
        ids = range(r * n // rounds, (r + 1) * n // rounds)
        creates.append(closed_loop("create", base, ids, api))
        if etcd is not None:
            stored = stored or _get(api, f"{load.PODS}/bench-0").decode().replace('"bench-0"', '"bench-NAME"')
            puts.append(closed_loop("put", {"url": etcd.url, "value": stored}, ids, etcd))
    c = summarise(creates)
    out = dict(creates_per_s=c["per_s"], write_p50_ms=c["p50_ms"], write_p99_ms=c["p99_ms"], write_mean_ms=c["mean_ms"],
               create_errors=c["errors"], create_cpu_ms=c["cpu_ms"], create_client_cpu_ms=c["client_cpu_ms"])
    if puts:
        e = summarise(puts)
        out.update(etcd_puts_per_s=e["per_s"], etcd_put_p50_ms=e["p50_ms"], etcd_put_p99_ms=e["p99_ms"],
                   etcd_errors=e["errors"], etcd_put_cpu_ms=e["cpu_ms"], etcd_put_client_cpu_ms=e["client_cpu_ms"],
                   creates_vs_etcd=round(c["per_s"] / e["per_s"], 3))
    return out


def _get(api: Apiserver, path: str) -> bytes:
    with urllib.request.urlopen(api.url + path, context=api.ssl(), timeout=120) as r:
        return r.read()


def measure_list(api: Apiserver) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(3):
        t = time.perf_counter()
        body = _get(api, load.PODS)
        best = min(best, time.perf_counter() - t)
        count = len(json.loads(body)["items"])
    return best, count


def measure_watch(api: Apiserver, base: dict, first_id: int, events: int) -> dict:
    rv = json.loads(_get(api, load.PODS + "?limit=1"))["metadata"]["resourceVersion"]
    ctx = mp.get_context("spawn")
    ready, out = ctx.Queue(), ctx.Queue()
    deadline = time.time() + 30 + events / 20
    jobs = [dict(base, kind="watch", rv=rv, watchers=WATCHERS // PROCS, events=events, deadline=deadline, ready=ready)
            for _ in range(PROCS)]
    procs = [ctx.Process(target=_child, args=(j, out), daemon=True) for j in jobs]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=90)
    time.sleep(0.5)
    cpu0 = api.cpu_s()  # the watchers' connections and handshakes are done
    conn = http.client.HTTPSConnection("127.0.0.1", api.port, context=api.ssl(), timeout=30)  # kept alive
    acks = []  # the writer's own create latency: how much of a delivery delay is the durable write
    for i in range(first_id, first_id + events):  # one writer, 50 writes/s: the delay, not the load
        t0 = time.time()
        conn.request("POST", load.PODS, json.dumps(load.pod(i, t0)), {"Content-Type": "application/json"})
        conn.getresponse().read()
        acks.append((time.time() - t0) * 1000)
        time.sleep(0.02)
    conn.close()
    res = [out.get(timeout=120) for _ in procs]
    cpu = api.cpu_s() - cpu0
    for p in procs:
        p.join()
    lat = [x for r in res for x in r["lat_ms"]]
    return {"p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "delivered": len(lat), "expected": events * WATCHERS, "cpu_s": cpu,
            "write_p50_ms": pct(acks, 50), "write_p99_ms": pct(acks, 99)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true", help="2,000 pods instead of 10,000 (under a minute)")
    ap.add_argument("--pods", type=int, help="number of pods to create (overrides --quick)")
    ap.add_argument("--no-etcd", action="store_true", help="skip the etcd reference")
    args = ap.parse_args(argv)
    n = args.pods or (2000 if args.quick else 10000)
    out: dict = {"pods": n, "clients": CLIENTS, "watchers": WATCHERS}
    with tempfile.TemporaryDirectory(prefix="bench-apiserver-") as tmp:
        etcd = None if args.no_etcd else Etcd(Path(tmp))
        try:
            api = Apiserver(Path(tmp))
            try:
                out.update(writes(api, etcd, n, 2))
                if etcd is not None:
                    etcd.stop()
                    etcd = None
                base = {"url": api.url, "pki": str(api.pki)}
                g = summarise([closed_loop("get", base, range(min(n, 10000) * 2), api,
                                           names=[f"bench-{i}" for i in range(n)])])
                out.update(gets_per_s=g["per_s"], get_p50_ms=g["p50_ms"], get_p99_ms=g["p99_ms"],
                           get_mean_ms=g["mean_ms"], get_cpu_ms=g["cpu_ms"], get_client_cpu_ms=g["client_cpu_ms"])
                lt, count = measure_list(api)
                out.update(list_s=round(lt, 3), list_items=count, list_10k_s=round(lt * 10000 / max(count, 1), 3))
                out["rss_mb"] = round(api.rss_mb(), 1)
                w = measure_watch(api, base, n, 100 if args.quick else 200)
                # server CPU per delivered event, the phase's few creates (~0.5 ms each, ~5 us per delivery) included
                out["watch_cpu_us"] = round(w["cpu_s"] * 1e6 / max(w["delivered"], 1), 1)
                out.update(watch_p50_ms=w["p50_ms"], watch_p99_ms=w["p99_ms"], watch_delivered=w["delivered"],
                           watch_expected=w["expected"], watch_write_p50_ms=w["write_p50_ms"],
                           watch_write_p99_ms=w["write_p99_ms"])
            finally:
                api.stop()
        finally:
            if etcd is not None:
                etcd.stop()
    summary = (f"apiserver: {out['creates_per_s']:.0f} creates/s (etcd {out.get('etcd_puts_per_s', 0):.0f} puts/s, "
               f"{100 * out.get('creates_vs_etcd', 0):.0f}%), write p99 {out['write_p99_ms']} ms, "
               f"GET p99 {out['get_p99_ms']} ms, LIST 10k {out['list_10k_s']} s, watch p99 {out['watch_p99_ms']} ms, "
               f"RSS {out['rss_mb']} MB")
    out["summary"] = summary
    print(json.dumps(out) if args.json else summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The kubelet's /metrics/resource: usage read from cgroup v1 and v2 files, the host's /proc
figures, and the Prometheus text the metrics-server scrapes."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from labkube.kubelet import resourcemetrics
from labkube.kubelet.runtime import cgroups
from labkube.kubelet.server import KubeletServer
from labkube.metrics.prometheus import parse

POD = "/labkube-w1/podu1"


def write(root, files: dict[str, str]):
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


@pytest.mark.parametrize("files, want", [
    ({"cpuacct/labkube-w1/podu1/cpuacct.usage": "2500000000\n",
      "memory/labkube-w1/podu1/memory.usage_in_bytes": "10485760\n",
      "memory/labkube-w1/podu1/memory.stat": "cache 4096\ntotal_inactive_file 2097152\n"}, (2.5, 8388608)),
    ({"cpuacct/labkube-w1/podu1/cpuacct.usage": "1000\n",                         # no memory.stat: usage
      "memory/labkube-w1/podu1/memory.usage_in_bytes": "4096\n"}, (1e-6, 4096)),
    ({"cpuacct/labkube-w1/podu1/cpuacct.usage": "0\n",                            # never below zero
      "memory/labkube-w1/podu1/memory.usage_in_bytes": "4096\n",
      "memory/labkube-w1/podu1/memory.stat": "total_inactive_file 8192\n"}, (0.0, 0)),
    ({"cgroup.controllers": "cpu memory\n", "labkube-w1/podu1/cpu.stat": "usage_usec 1500000\nuser_usec 1\n",
      "labkube-w1/podu1/memory.current": "9000\n", "labkube-w1/podu1/memory.stat": "inactive_file 1000\n"},
     (1.5, 8000)),
    ({"memory/labkube-w1/podu1/memory.usage_in_bytes": "4096\n"}, None),          # gone from cpuacct
    ({}, None),
])
def test_cgroup_usage(tmp_path, files, want):
    write(tmp_path, files)
    assert cgroups.usage(POD, root=str(tmp_path)) == want


def test_host_figures_from_proc():
    stat = "cpu  100 20 30 4000 50 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
    assert resourcemetrics.host_cpu_seconds(stat) == (100 + 20 + 30 + 6 + 7 + 8) / resourcemetrics.USER_HZ
    meminfo = "MemTotal:       2000 kB\nMemFree:         100 kB\nMemAvailable:    500 kB\n"
    assert resourcemetrics.host_memory_working_set(meminfo) == 1500 * 1024


STAT = "{pid} ({comm}) S 1 1 1 0 -1 4194560 100 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 1 0 10 8192 {rss} 0\n"


def test_processes_of_the_node_pid_namespace(tmp_path):
    procs = {"1": ("labnode supervisor", 10, 5, 300, 200, 100),      # its reaped children's time counts
             "42": ("python) -m (x", 7, 3, 0, 0, 50),                 # a name with spaces and parentheses
             "77": ("sh", 0, 0, 0, 0, 0)}
    for pid, (comm, utime, stime, cutime, cstime, rss) in procs.items():
        write(tmp_path, {f"{pid}/stat": STAT.format(pid=pid, comm=comm, utime=utime, stime=stime, cutime=cutime,
                                                     cstime=cstime, rss=rss)})
    write(tmp_path, {"self/stat": "ignored", "meminfo": "MemTotal: 1 kB\n", "99/status": "no stat: exited"})
    cpu, mem = resourcemetrics.processes_usage(str(tmp_path))
    assert cpu == 525 / resourcemetrics.USER_HZ and mem == 150 * resourcemetrics.PAGE_SIZE


def test_start_time_is_the_init_process_start_when_known():
    assert resourcemetrics.boot_time("cpu 1 2 3\nbtime 1700000000\nprocesses 9\n") == 1700000000.0
    status = SimpleNamespace(id="c1", started_at=1700000500.0)
    with_pid = SimpleNamespace(runtime=SimpleNamespace(extra={"c1": {"pid_start": 450 * resourcemetrics.USER_HZ}}))
    assert resourcemetrics.start_time(with_pid, status, 1700000000.0) == 1700000450.0
    assert resourcemetrics.start_time(with_pid, status, None) == 1700000500.0             # no boot time
    assert resourcemetrics.start_time(SimpleNamespace(runtime=SimpleNamespace()), status, 1.0) == 1700000500.0


def fake_kubelet(node_metrics="pods", use_cgroups=True):
    def worker(ns, name, uid, containers):
        recs = {c: [SimpleNamespace(state=state, id=f"{name}-{c}", started_at=100.0)] for c, state in containers.items()}
        return SimpleNamespace(namespace=ns, name=name, uid=uid, records=recs,
                               sandbox=SimpleNamespace(cgroup_parent=f"/labkube-w1/pod{uid}"),
                               current=lambda c, recs=recs: recs[c][-1])
    workers = {"u1": worker("default", "web", "u1", {"app": "running", "side": "running", "init": "exited"}),
               "u2": worker("kube-system", "dns", "u2", {"dns": "running"})}
    return SimpleNamespace(pods=SimpleNamespace(workers=workers), runtime=SimpleNamespace(use_cgroups=use_cgroups),
                           cfg=SimpleNamespace(node_name="w1", node_metrics=node_metrics))


READINGS = {"/labkube-w1/podu1/web-app": (3.0, 300), "/labkube-w1/podu1/web-side": (1.0, 100),
            "/labkube-w1/podu1": (4.0, 400), "/labkube-w1": (10.0, 1000)}     # dns's cgroup has vanished


def values(families):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_collect_reports_running_containers_pods_and_the_node():
    got = values(resourcemetrics.collect(fake_kubelet(), read=READINGS.get, now=lambda: 1700000000.0))
    web = (("container", "app"), ("namespace", "default"), ("pod", "web"))
    assert got[("container_cpu_usage_seconds_total", web)] == 3.0
    assert got[("container_memory_working_set_bytes", web)] == 300
    assert got[("container_start_time_seconds", web)] == 100.0
    assert got[("pod_cpu_usage_seconds_total", (("namespace", "default"), ("pod", "web")))] == 4.0
    assert got[("node_cpu_usage_seconds_total", ())] == 10.0
    assert got[("node_memory_working_set_bytes", ())] == 1000
    assert not any(k[0].startswith("container_") and ("container", "init") in k[1] for k in got)
    assert not any(("pod", "dns") in k[1] for k in got)


@pytest.mark.parametrize("node_metrics, use_cgroups, want", [
    ("pods", True, (10.0, 1000)),
    ("host", True, (77.0, 7)),
    ("host", False, (77.0, 7)),
    ("processes", True, (55.0, 5)),
    ("processes", False, (55.0, 5)),
    ("pods", False, None),
])
def test_node_figures_follow_node_metrics(node_metrics, use_cgroups, want):
    fams = resourcemetrics.collect(fake_kubelet(node_metrics, use_cgroups), read=READINGS.get,
                                   host=lambda: (77.0, 7), processes=lambda: (55.0, 5), now=lambda: 1.0)
    got = values(fams)
    node = (got.get(("node_cpu_usage_seconds_total", ())), got.get(("node_memory_working_set_bytes", ())))
    assert node == (want if want else (None, None))


async def test_metrics_resource_route_serves_prometheus_text(monkeypatch):
    kl = fake_kubelet()
    monkeypatch.setattr(cgroups, "usage", READINGS.get)
    srv = KubeletServer.__new__(KubeletServer)
    srv.kl = kl
    app = web.Application()
    app.router.add_get("/metrics/resource", srv.resource_metrics)
    async with TestClient(TestServer(app)) as c:
        r = await c.get("/metrics/resource")
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        samples = parse(await r.text())
    assert {s.name for s in samples} >= {"node_cpu_usage_seconds_total", "container_cpu_usage_seconds_total",
                                        "pod_memory_working_set_bytes"}
    assert all(s.timestamp_ms is not None for s in samples)


"""Cluster smoke checks: nodes Ready, a pod is scheduled onto a worker, runs and logs, a
deployment converges and heals, and everything is cleaned up again. The lone pod's checks
and the deployment's run side by side; results are listed in the same order every time.

    results = await run_smoke("/var/lib/labctl/lab/admin.kubeconfig")
    python -m labkube.smoke --kubeconfig FILE [--namespace NS] [--timeout SECONDS] [--min-nodes N]

`timeout` is the budget for all checks together (cleanup gets at least 30 s more). Each
check is a CheckResult(name, ok, detail, seconds); the command prints one line per check
and exits 0 when all passed, 1 otherwise, 2 when the kubeconfig is unusable, 3 when the
apiserver cannot be reached.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

import aiohttp

from labkube.client import ApiError, Client, KubeConfig, KubeConfigError
from labkube.client.clock import Clock

CP_LABEL = "node-role.kubernetes.io/control-plane"
MESSAGE = "smoke-ok"


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0
    unreachable: bool = False         # failed because the apiserver could not be reached


class Smoke:
    def __init__(self, client, namespace: str, timeout: float, clock: Clock | None = None,
                 image: str = "busybox", poll: float = 0.5, log_wait: float = 30, min_nodes: int = 1):
        self.c = client
        self.ns = namespace
        self.clock = clock or Clock()
        self.deadline = self.clock.monotonic() + timeout
        self.image = image
        self.poll = poll
        self.log_wait = log_wait
        self.min_nodes = min_nodes
        self.results: list[CheckResult] = []

    async def wait(self, fn, limit: float | None = None):
        """Poll fn() until it returns something truthy; returns the last value (falsy on timeout)."""
        end = self.deadline if limit is None else min(self.deadline, self.clock.monotonic() + limit)
        while True:
            try:
                val = await fn()
            except ApiError as e:
                val = None
                if e.code not in (404, 409):
                    raise
            if val or self.clock.monotonic() >= end:
                return val
            await self.clock.sleep(self.poll)

    async def check(self, name: str, coro) -> CheckResult:
        r = await self.measure(name, coro)
        self.results.append(r)
        return r

    async def measure(self, name: str, coro) -> CheckResult:
        """Run one check: its CheckResult, not yet recorded in self.results."""
        start = self.clock.monotonic()
        try:
            ok, detail = await coro
        except ApiError as e:
            ok, detail = False, f"API error {e.code} {e.reason}: {e.message}"
            unreachable = False
        except Exception as e:  # noqa: BLE001 - a smoke check reports, it does not crash
            ok, detail = False, f"{type(e).__name__}: {e}"
            unreachable = isinstance(e, (OSError, aiohttp.ClientConnectionError))
        else:
            unreachable = False
        return CheckResult(name, ok, detail, round(self.clock.monotonic() - start, 2), unreachable and not ok)

    # -- checks -------------------------------------------------------------------------------

    async def nodes_ready(self):
        async def all_ready():
            nodes = await self.c.list("nodes")
            ok = len(nodes) >= max(1, self.min_nodes) and all(_ready(n) == "True" for n in nodes)
            return nodes if ok else None
        if await self.wait(all_ready, 60):
            nodes = await self.c.list("nodes")
            return True, f"{len(nodes)}/{len(nodes)} Ready: " + ", ".join(n["metadata"]["name"] for n in nodes)
        nodes = await self.c.list("nodes")
        if not nodes:
            return False, "no nodes registered"
        if len(nodes) < self.min_nodes:
            return False, f"{len(nodes)}/{self.min_nodes} nodes registered: " + ", ".join(
                n["metadata"]["name"] for n in nodes)
        bad = [f"{n['metadata']['name']} ({_ready(n)})" for n in nodes if _ready(n) != "True"]
        return False, "not Ready: " + ", ".join(bad)

    async def namespace(self):
        """A fresh namespace with its `default` ServiceAccount: a leftover one (an earlier run
        that did not clean up) is deleted first. The pods name that ServiceAccount, and the
        apiserver refuses them until the controller-manager has made it (a short wait on a
        fast cluster; on VMs under emulation it can take longer than the apiserver's own
        look-up retries), so the pod checks start once it exists (or the budget is spent)."""
        async def gone():
            try:
                ns = await self.c.get("namespaces", self.ns)
            except ApiError as e:
                if e.code == 404:
                    return True
                raise
            if not ns["metadata"].get("deletionTimestamp"):
                await self.c.delete("namespaces", self.ns)
            return None
        if not await self.wait(gone, 60):
            return False, f"leftover namespace {self.ns} is still terminating"
        try:
            await self.c.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.ns}})
        except ApiError as e:
            if e.code != 409:
                raise

        async def default_account():
            return await self.c.get("serviceaccounts", "default", namespace=self.ns)
        if not await self.wait(default_account):    # the pod checks then report the refusal
            return True, f"{self.ns} (no default ServiceAccount yet: is the controller-manager running?)"
        return True, self.ns

    def container(self, cmd: str) -> dict:
        return {"name": "smoke", "image": self.image, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", cmd]}

    async def pod_runs(self):
        await self.c.create("pods", {"apiVersion": "v1", "kind": "Pod",
                                     "metadata": {"name": "smoke-pod", "labels": {"app": "smoke-pod"}},
                                     "spec": {"terminationGracePeriodSeconds": 1,
                                              "containers": [self.container(f"echo {MESSAGE}; sleep 3600")]}},
                            namespace=self.ns)

        async def running():
            p = await self.c.get("pods", "smoke-pod", namespace=self.ns)
            st = p.get("status") or {}
            return p if st.get("phase") == "Running" and st.get("podIP") else None
        p = await self.wait(running)
        if not p:
            p = await self.c.get("pods", "smoke-pod", namespace=self.ns)
            return False, f"not running: phase {p['status'].get('phase')}, node {p['spec'].get('nodeName') or '-'}" \
                          + _last_event_hint(await self._events("smoke-pod"))
        node = await self.c.get("nodes", p["spec"]["nodeName"])
        if CP_LABEL in (node["metadata"].get("labels") or {}) or any(
                t.get("key") == CP_LABEL for t in (node.get("spec") or {}).get("taints") or []):
            return False, f"scheduled onto control-plane node {p['spec']['nodeName']}"
        return True, f"on {p['spec']['nodeName']}, IP {p['status']['podIP']}"

    async def pod_logs(self):
        last = {"why": ""}

        async def logged():
            try:
                text = await self.c.logs("smoke-pod", self.ns)
            except ApiError as e:        # e.g. 400 "waiting to start" right after Running
                last["why"] = f": {e.code} {e.message}"
                return None
            last["why"] = f": got {text[-80:]!r}" if text else ": empty log"
            return text if MESSAGE in text else None
        text = await self.wait(logged, self.log_wait)
        return (True, f"log says {MESSAGE}") if text else (False, f"log lacks {MESSAGE!r}{last['why']}")

    async def _events(self, name: str) -> list[dict]:
        try:
            return await self.c.list("events", namespace=self.ns, field_selector=f"involvedObject.name={name}")
        except ApiError:
            return []

    async def live_pods(self) -> list[dict]:
        pods = await self.c.list("pods", namespace=self.ns, label_selector="app=smoke-web")
        return [p for p in pods if not p["metadata"].get("deletionTimestamp")]

    async def deployment(self):
        await self.c.create("deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "smoke-web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "smoke-web"}},
                     "template": {"metadata": {"labels": {"app": "smoke-web"}},
                                  "spec": {"terminationGracePeriodSeconds": 1,
                                           "containers": [self.container("sleep 3600")]}}}}, namespace=self.ns)

        async def available():
            d = await self.c.get("deployments", "smoke-web", namespace=self.ns)
            st = d.get("status") or {}
            return d if st.get("availableReplicas", 0) >= 2 and st.get("updatedReplicas", 0) >= 2 else None
        if await self.wait(available):
            return True, "2/2 available"
        d = await self.c.get("deployments", "smoke-web", namespace=self.ns)
        st = d.get("status") or {}
        return False, f"{st.get('availableReplicas', 0)}/2 available, {len(await self.live_pods())} pods"

    async def self_heal(self):
        pods = await self.live_pods()
        if not pods:
            return False, "no pods to delete"
        victim = pods[0]["metadata"]["name"]
        await self.c.delete("pods", victim, namespace=self.ns, grace_period_seconds=1)

        async def replaced():
            live = [p for p in await self.live_pods() if p["metadata"]["name"] != victim]
            ok = [p for p in live if (p.get("status") or {}).get("phase") == "Running"]
            return ok if len(ok) >= 2 else None
        live = await self.wait(replaced)
        if not live:
            return False, f"{victim} deleted, no replacement running"
        new = sorted({p["metadata"]["name"] for p in live} - {p["metadata"]["name"] for p in pods})
        return True, f"replaced {victim} with {', '.join(new) or '?'}"

    async def cleanup(self):
        self.deadline = max(self.deadline, self.clock.monotonic() + 30)
        for name in [d["metadata"]["name"] for d in await self.c.list("deployments", namespace=self.ns)]:
            await _ignore_404(self.c.delete("deployments", name, namespace=self.ns, propagation_policy="Background"))
        for name in [r["metadata"]["name"] for r in await self.c.list("replicasets", namespace=self.ns)]:
            await _ignore_404(self.c.delete("replicasets", name, namespace=self.ns, propagation_policy="Background"))
        for p in await self.c.list("pods", namespace=self.ns):
            await _ignore_404(self.c.delete("pods", p["metadata"]["name"], namespace=self.ns, grace_period_seconds=1))
        await _ignore_404(self.c.delete("namespaces", self.ns))

        async def gone():
            try:
                await self.c.get("namespaces", self.ns)
                return None
            except ApiError as e:
                if e.code == 404:
                    return True
                raise
        if await self.wait(gone):
            return True, f"namespace {self.ns} deleted"
        left = await self.c.list("pods", namespace=self.ns)
        return False, f"namespace {self.ns} still terminating ({len(left)} pods left)"

    async def lone_pod_checks(self) -> list[CheckResult]:
        pod = await self.measure("pod-runs-on-worker", self.pod_runs())
        if not pod.ok:
            return [pod, CheckResult("pod-logs", False, "skipped: pod not running")]
        return [pod, await self.measure("pod-logs", self.pod_logs())]

    async def deployment_checks(self) -> list[CheckResult]:
        dep = await self.measure("deployment-available", self.deployment())
        if not dep.ok:
            return [dep, CheckResult("deployment-self-heals", False, "skipped: deployment not available")]
        return [dep, await self.measure("deployment-self-heals", self.self_heal())]

    async def run(self) -> list[CheckResult]:
        await self.check("nodes-ready", self.nodes_ready())
        ns = await self.check("namespace", self.namespace())
        if ns.ok:
            # the lone pod and the deployment share nothing but the namespace: checked side
            # by side (on slow nodes each waits mostly for scheduling and container starts)
            pod, dep = await asyncio.gather(self.lone_pod_checks(), self.deployment_checks())
            self.results += pod + dep
        await self.check("cleanup", self.cleanup())
        return self.results


def _ready(node: dict) -> str:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status", "Unknown")
    return "Unknown"


def _last_event_hint(events: list[dict]) -> str:
    if not events:
        return ""
    e = max(events, key=lambda e: e.get("lastTimestamp") or "")
    return f"; last event {e.get('reason')}: {e.get('message')}"


async def _ignore_404(coro):
    try:
        await coro
    except ApiError as e:
        if e.code != 404:
            raise


async def run_smoke(kubeconfig_path: str, namespace: str = "labctl-smoke", timeout: float = 120,
                    min_nodes: int = 1) -> list[CheckResult]:
    """min_nodes: how many nodes must have registered (e.g. the inventory's size)."""
    async with Client(KubeConfig.load(kubeconfig_path), user_agent="labkube-smoke") as c:
        return await Smoke(c, namespace, timeout, min_nodes=min_nodes).run()


def format_result(r: CheckResult) -> str:
    return f"{'ok  ' if r.ok else 'FAIL'} {r.name} ({r.seconds:.1f} s){': ' + r.detail if r.detail else ''}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="labkube.smoke", description="cluster smoke checks")
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--namespace", default="labctl-smoke")
    ap.add_argument("--timeout", type=float, default=120, help="seconds for all checks")
    ap.add_argument("--min-nodes", type=int, default=1, help="nodes that must have registered")
    args = ap.parse_args(argv)
    try:
        KubeConfig.load(args.kubeconfig)
    except KubeConfigError as e:
        print(f"labkube.smoke: {e}", file=sys.stderr)
        return 2
    results = asyncio.run(run_smoke(args.kubeconfig, args.namespace, args.timeout, args.min_nodes))
    for r in results:
        print(format_result(r), flush=True)
    if results and results[0].unreachable:
        return 3
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

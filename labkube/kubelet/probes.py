"""Container probes: startup, liveness and readiness (exec, httpGet, tcpSocket).

One task per probe of a running container, with Kubernetes' defaults (period 10 s,
timeout 1 s, success threshold 1, failure threshold 3, no initial delay). Liveness and
readiness start once the startup probe (if any) has succeeded. A failed startup or
liveness probe kills the container (the pod worker then restarts it per the restart
policy); readiness only flips the container's `ready`.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import ssl

import aiohttp

log = logging.getLogger(__name__)
KINDS = ("startupProbe", "livenessProbe", "readinessProbe")


@functools.cache
def probe_tls_context() -> ssl.SSLContext:
    """The one client context of HTTPS probes: the kubelet does not verify the container's
    certificate, so it trusts nothing and checks nothing (no CA bundle loaded: building a default
    context read the system's ~150 CAs, ~25 ms of CPU, on every probe attempt, HTTP ones too)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx


def probe_settings(probe: dict) -> dict:
    return {"initial": float(probe.get("initialDelaySeconds", 0) or 0),
            "period": float(probe.get("periodSeconds", 10) or 10),
            "timeout": float(probe.get("timeoutSeconds", 1) or 1),
            "success": int(probe.get("successThreshold", 1) or 1),
            "failure": int(probe.get("failureThreshold", 3) or 3)}


def resolve_port(port, container: dict) -> int:
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"port {port!r} is not a number nor a named port of container {container.get('name')}")


async def run_probe(probe: dict, container: dict, pod_ip: str, exec_fn, timeout: float) -> tuple[bool, str]:
    """One probe attempt: (success, message)."""
    try:
        if "exec" in probe:
            rc, out = await exec_fn(probe["exec"].get("command") or [], timeout)
            return rc == 0, out.decode(errors="replace").strip()[:200] if rc else ""
        if "httpGet" in probe:
            h = probe["httpGet"]
            scheme = (h.get("scheme") or "HTTP").lower()
            host = h.get("host") or pod_ip
            url = f"{scheme}://{host}:{resolve_port(h.get('port'), container)}{h.get('path') or '/'}"
            headers = {x["name"]: x["value"] for x in h.get("httpHeaders") or []}
            headers.setdefault("User-Agent", "kube-probe/1.31")
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as s:
                async with s.get(url, headers=headers, ssl=probe_tls_context() if scheme == "https" else False,
                                 allow_redirects=True) as r:
                    ok = 200 <= r.status < 400
                    return ok, "" if ok else f"HTTP probe failed with statuscode: {r.status}"
        if "tcpSocket" in probe:
            t = probe["tcpSocket"]
            port = resolve_port(t.get("port"), container)
            _, w = await asyncio.wait_for(asyncio.open_connection(t.get("host") or pod_ip, port), timeout)
            w.close()
            return True, ""
        return True, "probe type not supported: treated as success"
    except asyncio.TimeoutError:
        return False, f"probe timed out after {timeout:g}s"
    except (OSError, aiohttp.ClientError, ValueError) as e:
        return False, str(e) or e.__class__.__name__


class ContainerProbes:
    """The probes of one running container; reports through callbacks on the worker."""

    def __init__(self, container: dict, container_id: str, pod_ip: str, exec_fn, on_change, on_kill,
                 enabled: bool = True, on_unhealthy=None):
        self.container, self.cid, self.pod_ip = container, container_id, pod_ip
        self.exec_fn, self.on_change, self.on_kill = exec_fn, on_change, on_kill
        self.on_unhealthy = on_unhealthy
        self.enabled = enabled
        self.started = "startupProbe" not in container or not enabled
        self.ready = "readinessProbe" not in container or not enabled
        self._started_ev = asyncio.Event()
        if self.started:
            self._started_ev.set()
        self.tasks: list[asyncio.Task] = []

    def start(self) -> None:
        if not self.enabled:
            return
        for kind in KINDS:
            if kind in self.container:
                self.tasks.append(asyncio.create_task(self._loop(kind, self.container[kind])))

    def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        self.tasks.clear()

    async def _loop(self, kind: str, probe: dict) -> None:
        s = probe_settings(probe)
        if kind != "startupProbe":
            await self._started_ev.wait()
        await asyncio.sleep(s["initial"])
        successes = failures = 0
        while True:
            ok, msg = await run_probe(probe, self.container, self.pod_ip, self._exec, s["timeout"])
            successes, failures = (successes + 1, 0) if ok else (0, failures + 1)
            if kind == "readinessProbe":
                if ok and successes >= s["success"] and not self.ready:
                    self.ready = True
                    self.on_change()
                elif not ok and failures >= s["failure"] and self.ready:
                    self.ready = False
                    self.on_change()
            elif kind == "startupProbe":
                if ok:
                    self.started = True
                    self._started_ev.set()
                    self.on_change()
                    return
                if failures >= s["failure"]:
                    await self.on_kill(self.cid, f"Startup probe failed: {msg}")
                    return
            elif not ok and failures >= s["failure"]:
                await self.on_kill(self.cid, f"Liveness probe failed: {msg}")
                return
            if not ok:
                log.debug("%s of %s failed: %s", kind, self.container.get("name"), msg)
                if self.on_unhealthy is not None:
                    self.on_unhealthy(f"{kind[:-5].capitalize()} probe failed: {msg}")
            await asyncio.sleep(s["period"])

    async def _exec(self, command: list, timeout: float):
        return await self.exec_fn(self.cid, command, timeout)

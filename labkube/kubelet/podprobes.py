"""The probes of one pod worker's containers: start them when a container starts, drop them
when it is replaced, and kill a container whose startup or liveness probe failed."""
from __future__ import annotations

from .probes import ContainerProbes

PROBE_KINDS = ("startupProbe", "livenessProbe", "readinessProbe")


class WorkerProbes:
    def __init__(self, worker):
        self.w = worker
        self.by_name: dict[str, ContainerProbes] = {}

    def get(self, name: str) -> ContainerProbes | None:
        return self.by_name.get(name)

    def start(self, c: dict, cid: str) -> None:
        old = self.by_name.pop(c["name"], None)
        if old is not None:
            old.stop()
        if not any(k in c for k in PROBE_KINDS):
            return
        w = self.w
        p = ContainerProbes(c, cid, w.sandbox.ip if w.sandbox else "", w.kl.runtime.exec_sync, w.wake.set,
                            self.kill, enabled=w.kl.cfg.runtime != "fake",
                            on_unhealthy=lambda msg: w.kl.event(w.pod, "Warning", "Unhealthy", msg))
        self.by_name[c["name"]] = p
        p.start()

    def stop_stale(self) -> None:
        for name, p in list(self.by_name.items()):
            cur = self.w.current(name)
            if cur is None or cur.id != p.cid or cur.state != "running":
                p.stop()
                del self.by_name[name]

    def stop_all(self) -> None:
        for p in self.by_name.values():
            p.stop()
        self.by_name.clear()

    async def kill(self, cid: str, message: str) -> None:
        w = self.w
        name = next((n for n, p in self.by_name.items() if p.cid == cid), "?")
        w.kl.event(w.pod, "Normal", "Killing", f"Container {name} failed {message.split(':')[0].lower()}, "
                                               "will be restarted")
        grace = (w.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        await w.kl.runtime.stop_container(cid, float(grace if grace is not None else 30))
        w.wake.set()

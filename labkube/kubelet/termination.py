"""Graceful pod termination (docs/contracts.md, pod deletion): stop signal, grace period,
KILL; remove containers; CNI DEL and netns delete; remove the pod directory; then the
final DELETE with gracePeriodSeconds 0 (skipped when the pod is already gone)."""
from __future__ import annotations

import asyncio
import logging

from . import volumes
from .hooks import pre_stop_then_stop
from .podsandbox import pod_dir

log = logging.getLogger(__name__)


def grace_period(pod: dict) -> float:
    """deletionGracePeriodSeconds if set, else spec.terminationGracePeriodSeconds, else 30."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    g = meta.get("deletionGracePeriodSeconds")
    if g is None:
        g = spec.get("terminationGracePeriodSeconds", 30)
    return float(g if g is not None else 30)


async def terminate_pod(w) -> None:
    kl, rt = w.kl, w.kl.runtime
    grace = grace_period(w.pod)
    w.probe_set.stop_all()
    running = [r for recs in w.records.values() for r in recs if r.state == "running"]
    if running:
        log.info("stopping pod %s/%s (%d containers, grace %ss)", w.namespace, w.name, len(running), grace)
        for r in running:
            kl.event(w.pod, "Normal", "Killing", f"Stopping container {r.name}")
    specs = {c["name"]: c for c in w._all_specs()}
    pod_ip = w.sandbox.ip if w.sandbox else ""

    def hook_failed(name, msg):
        kl.event(w.pod, "Warning", "FailedPreStopHook", f"PreStopHook failed for container {name}: {msg}")

    await asyncio.gather(*(pre_stop_then_stop(rt, specs.get(r.name), r.id, pod_ip, grace, hook_failed)
                           for r in running))
    if not w.removed:
        await w.publish()
    for recs in w.records.values():
        for r in recs:
            await rt.remove_container(r.id)
    if w.sandbox is not None:
        await rt.stop_pod_sandbox(w.sandbox.id)
        await rt.remove_pod_sandbox(w.sandbox.id)
    volumes.cleanup(pod_dir(kl.cfg.root_dir, w.uid))
    kl.backoff.forget_prefix(w.uid)
    if not w.removed:
        await kl.delete_pod(w.pod)
    w.done = True
    kl.forget(w.uid)

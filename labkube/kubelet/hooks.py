"""Container lifecycle hooks: postStart (after the container starts; a failure kills it) and
preStop (before the stop signal, within the grace period). Handlers are exec, httpGet or
tcpSocket, run like probes."""
from __future__ import annotations

import logging
import time

from .probes import run_probe

log = logging.getLogger(__name__)
POST_START_TIMEOUT = 30.0


async def run_hook(kind: str, container: dict, container_id: str, pod_ip: str, exec_sync,
                   timeout: float) -> tuple[bool, str]:
    """Run ``container.lifecycle[kind]`` if present: (ok, message); (True, "") when absent."""
    handler = ((container.get("lifecycle") or {}).get(kind)) or None
    if not handler:
        return True, ""

    async def exec_fn(cmd, t):
        return await exec_sync(container_id, cmd, t)

    return await run_probe(handler, container, pod_ip, exec_fn, max(timeout, 0.1))


async def pre_stop_then_stop(runtime, container: dict | None, container_id: str, pod_ip: str, grace: float,
                             on_failure=None) -> None:
    """preStop hook (if any), then the stop signal with what is left of the grace period."""
    start = time.monotonic()
    if container is not None and grace > 0:
        ok, msg = await run_hook("preStop", container, container_id, pod_ip, runtime.exec_sync, grace)
        if not ok and on_failure is not None:
            on_failure(container.get("name"), msg)
    left = max(0.0, grace - (time.monotonic() - start))
    await runtime.stop_container(container_id, left)

"""The control plane in one process: apiserver, controller-manager and scheduler (k3s-style).

For machines where every interpreter start counts (a one-vCPU VM under emulation): the three
components share one Python, its imports (aiohttp, labkube.client, labkube.api) and one event
loop, instead of three. Each keeps its own config file, kubeconfig (so its own identity and
RBAC), client connection, logger names (`labkube.apiserver...`, `labkube.controllers...`,
`labkube.scheduler...`) and the apiserver its health endpoints; the scheduler and
controller-manager reach the apiserver over its TLS port as they do from their own processes.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass

log = logging.getLogger("labkube.controlplane")


class ConfigError(ValueError):
    """A bad configuration of one of the three components (message names file and field)."""


@dataclass
class Configs:
    """The three components' configuration files, loaded and checked before anything starts."""
    apiserver: object          # labkube.apiserver.config.ApiserverConfig
    controllers_path: str
    controllers: dict
    scheduler_path: str
    scheduler: dict


def load(apiserver_path: str, controllers_path: str, scheduler_path: str) -> Configs:
    """Every file read and checked as each component checks its own; the first error wins."""
    from labkube.apiserver import config as apiconfig
    from labkube.client import component
    from labkube.controllers.manager import ManagerConfig
    from labkube.scheduler.config import SchedulerConfig

    try:
        api = apiconfig.load_config(apiserver_path)
    except apiconfig.ConfigError as e:
        raise ConfigError(str(e)) from e
    try:
        ctrl = component.load_config(controllers_path, ("kubeconfig",))
        ManagerConfig.from_dict(controllers_path, ctrl)
        component.load_kubeconfig(ctrl["kubeconfig"])
        sched = component.load_config(scheduler_path, ("kubeconfig",))
        SchedulerConfig.from_dict(scheduler_path, sched)
        component.load_kubeconfig(sched["kubeconfig"])
    except (component.ConfigError, ValueError) as e:
        raise ConfigError(str(e)) from e
    return Configs(api, controllers_path, ctrl, scheduler_path, sched)


async def run(cfgs: Configs, access_log: bool = False) -> int:
    """Serve the apiserver and run the controllers and scheduler beside it until SIGTERM/SIGINT
    (status 0) or until one of them fails (the others are stopped; status 1, so the service
    manager restarts the whole control plane, as it would a separate component).

    The apiserver's serve() owns SIGTERM and SIGINT (it closes its store cleanly on them); once it
    has returned, the controllers and scheduler are cancelled."""
    from labkube.apiserver.app import serve
    from labkube.controllers.__main__ import run as run_controllers
    from labkube.scheduler.__main__ import run as run_scheduler

    api = asyncio.create_task(serve(cfgs.apiserver, access_log=access_log), name="apiserver")
    # the others start once the apiserver listens: started beside its store's opening, their
    # informers' lists only failed and backed off (and took the CPU the apiserver needed)
    if not await until_listening(cfgs.apiserver, api):
        err = None if api.cancelled() else api.exception()
        if err is None:
            return 0        # stopped (SIGTERM) before it listened
        log.error("apiserver exiting: %s: %s", type(err).__name__, err)
        return 1
    tasks = {
        api: "apiserver",
        asyncio.create_task(run_controllers(cfgs.controllers_path, cfgs.controllers),
                            name="controller-manager"): "controller-manager",
        asyncio.create_task(run_scheduler(cfgs.scheduler_path, cfgs.scheduler), name="scheduler"): "scheduler",
    }
    status = 0
    pending = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            err = None if t.cancelled() else t.exception()
            if err is not None:
                log.error("%s exiting: %s: %s", tasks[t], type(err).__name__, err)
                status = 1
            elif t is not api and not t.cancelled():
                log.error("%s ended on its own", tasks[t])
                status = 1
        if api in done:
            for t in pending:
                t.cancel()
        elif status and not api.done():
            # one component failed: stop the apiserver the way SIGTERM does (its store closes cleanly)
            os.kill(os.getpid(), signal.SIGTERM)
    log.info("stopped")
    return status


async def until_listening(cfg, api: asyncio.Task, interval: float = 0.1) -> bool:
    """True once the apiserver accepts TCP connections on the last address it listens on (it
    opens them in order), False if its task ends first."""
    host = cfg.listen_addresses[-1]
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    while not api.done():
        try:
            _, writer = await asyncio.open_connection(host, cfg.secure_port)
        except OSError:
            await asyncio.sleep(interval)
            continue
        writer.close()
        return True
    return False

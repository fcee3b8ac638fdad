"""The node supervisor: PID 1 of a netns node, standing in for systemd.

It makes the node's private mounts, sets its hostname, starts the units marked enabled
(sshd first of all), restarts them by their Restart= policy, reaps every orphan of the
node, and answers `labnode-svc` over a unix socket. SIGTERM stops every service and
ends the node. Stdlib only: it runs before anything is installed on the node.

Run by the provider as:
  ip netns exec labctl-NODE unshare --uts --mount --pid --fork --mount-proc \
      PYTHON -m labctl.providers.netns.supervisor --node NODE --root NODEDIR
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .units import Unit, UnitError, parse_unit

log = logging.getLogger("labnode")

UNIT_DIR = Path("/etc/labkube/units")
ENABLED_DIR = UNIT_DIR / "enabled"
LOG_DIR = Path("/var/log/labkube")
CONTROL_DIR = Path("/run/labnode")
SOCKET = CONTROL_DIR / "supervisor.sock"
# node-private directories: (directory under NODEDIR, mount point)
PRIVATE_DIRS = [("etc-labkube", "/etc/labkube"), ("var-lib-labkube", "/var/lib/labkube"),
                ("var-log", "/var/log"), ("root-home", "/root"), ("run", "/run"), ("tmp", "/tmp")]
# lab-wide directories: (directory under the lab's state dir, mount point), the same source on
# every node, so they are shared by the nodes (as a network volume would be) yet removed with
# the lab's state by `labctl down`, never left on the host
LAB_SHARED_DIRS = [("volumes", "/var/lib/labkube-volumes")]
CGROUP_V1 = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def make_private_mounts(root: Path) -> None:
    """Bind the node's own directories over the shared ones (tmp last: root may live there).

    /run and /tmp start empty at every boot, as on a machine where they are tmpfs. The lab-wide
    directories come first, while the state directory is still reachable.
    """
    lab_dir = root.parent.parent          # NODEDIR is <state>/nodes/<node>
    for sub, target in LAB_SHARED_DIRS:
        (lab_dir / sub).mkdir(parents=True, exist_ok=True)
        os.makedirs(target, exist_ok=True)
        _mount("--bind", str(lab_dir / sub), target)
    for sub, target in PRIVATE_DIRS:
        if sub in ("run", "tmp"):
            shutil.rmtree(root / sub, ignore_errors=True)
        (root / sub).mkdir(parents=True, exist_ok=True)
        os.makedirs(target, exist_ok=True)
        _mount("--bind", str(root / sub), target)
    os.chmod("/tmp", 0o1777)
    # crun needs a cgroup tree it recognises; the host's is hybrid and refused
    _mount("-t", "tmpfs", "-o", "mode=755", "cgroup", "/sys/fs/cgroup")
    for ctrl in CGROUP_V1:
        os.makedirs(f"/sys/fs/cgroup/{ctrl}", exist_ok=True)
        subprocess.run(["mount", "-t", "cgroup", "-o", ctrl, "cgroup", f"/sys/fs/cgroup/{ctrl}"],
                       capture_output=True)
    os.makedirs("/run/netns", exist_ok=True)
    _mount("-t", "tmpfs", "-o", "mode=755", "netns", "/run/netns")
    for d in ("/run/sshd", str(CONTROL_DIR / "bin"), str(LOG_DIR)):
        os.makedirs(d, exist_ok=True)


def install_control_tool(src: str) -> None:
    tool = CONTROL_DIR / "bin" / "labnode-svc"
    tool.write_text("#!/usr/bin/python3\n" + src)
    tool.chmod(0o755)


class Service:
    """A unit and the state of its process."""

    def __init__(self, unit: Unit):
        self.unit = unit
        self.pid: int | None = None
        self.wanted = False
        self.restarts = 0
        self.last_exit: int | None = None
        self.started_at = 0.0
        self.exited = asyncio.Event()

    def status(self) -> dict:
        return {"name": self.unit.name, "active": self.pid is not None, "pid": self.pid,
                "enabled": (ENABLED_DIR / self.unit.name).exists(), "restarts": self.restarts,
                "last_exit": self.last_exit, "description": self.unit.description}


class Supervisor:
    def __init__(self) -> None:
        self.services: dict[str, Service] = {}
        self.stopping = False

    # ---- units -------------------------------------------------------------------
    def load(self, name: str) -> Service:
        unit = parse_unit(UNIT_DIR / f"{name}.service")
        svc = self.services.get(name)
        if svc is None:
            svc = self.services[name] = Service(unit)
        else:
            svc.unit = unit
        return svc

    # ---- processes ---------------------------------------------------------------
    def spawn(self, svc: Service) -> None:
        unit = svc.unit
        env = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8", "HOME": "/root", **unit.environment}
        logfile = str(LOG_DIR / f"{unit.name}.log")
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, logfile, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644),
                   (os.POSIX_SPAWN_DUP2, 1, 2)]
        cwd = os.getcwd()
        try:
            os.chdir(unit.working_directory)
            svc.pid = os.posix_spawnp(unit.exec_start[0], unit.exec_start, env,
                                      file_actions=actions, setsid=True)
        except OSError as exc:
            svc.pid = None
            raise UnitError(f"{unit.name}: cannot start {unit.exec_start[0]}: {exc.strerror}")
        finally:
            os.chdir(cwd)
        svc.started_at = time.monotonic()
        svc.exited.clear()
        log.info("started %s (pid %s)", unit.name, svc.pid)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for svc in self.services.values():
                if svc.pid == pid:
                    self.on_exit(svc, os.waitstatus_to_exitcode(status))

    def on_exit(self, svc: Service, code: int) -> None:
        log.info("%s exited with %s", svc.unit.name, code)
        svc.pid, svc.last_exit = None, code
        svc.exited.set()
        policy = svc.unit.restart
        if svc.wanted and not self.stopping and (policy == "always" or (policy == "on-failure" and code != 0)):
            quick_death = time.monotonic() - svc.started_at < 5
            delay = svc.unit.restart_sec * (min(2 ** svc.restarts, 30) if quick_death else 1)
            asyncio.get_running_loop().call_later(delay, self.restart_after_exit, svc)

    def restart_after_exit(self, svc: Service) -> None:
        if svc.wanted and svc.pid is None and not self.stopping:
            svc.restarts += 1
            try:
                self.spawn(svc)
            except UnitError as exc:
                log.error("%s", exc)

    async def stop(self, svc: Service) -> None:
        svc.wanted = False
        if svc.pid is None:
            return
        os.kill(svc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(svc.exited.wait(), svc.unit.timeout_stop_sec)
        except asyncio.TimeoutError:
            if svc.pid is not None:
                os.kill(svc.pid, signal.SIGKILL)
                await svc.exited.wait()

    async def start(self, svc: Service) -> None:
        svc.wanted = True
        if svc.pid is None:
            self.spawn(svc)

    # ---- control -----------------------------------------------------------------
    async def handle(self, request: dict) -> dict:
        cmd, name = request.get("cmd"), request.get("name")
        if cmd == "list":
            return {"services": [s.status() for s in self.services.values()]}
        if cmd == "daemon-reload":
            for n in list(self.services):
                if (UNIT_DIR / f"{n}.service").exists():
                    self.load(n)
            return {"status": {}}
        if not (UNIT_DIR / f"{name}.service").exists():
            return {"error": f"unit {name}.service not found", "missing": True,
                    "status": {"name": name, "active": False, "pid": None, "enabled": False, "restarts": 0}}
        svc = self.load(name)
        if cmd == "start":
            await self.start(svc)
        elif cmd == "stop":
            await self.stop(svc)
        elif cmd == "restart":
            await self.stop(svc)
            await self.start(svc)
        elif cmd == "reload":
            if svc.pid:
                os.kill(svc.pid, signal.SIGHUP)
        elif cmd == "enable":
            ENABLED_DIR.mkdir(parents=True, exist_ok=True)
            (ENABLED_DIR / name).touch()
        elif cmd == "disable":
            (ENABLED_DIR / name).unlink(missing_ok=True)
        elif cmd != "status":
            return {"error": f"unknown command {cmd!r}"}
        return {"status": svc.status()}

    async def serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = json.loads(await reader.readline())
            reply = await self.handle(request)
        except (UnitError, OSError, ValueError) as exc:
            reply = {"error": str(exc)}
        writer.write(json.dumps(reply).encode() + b"\n")
        await writer.drain()
        writer.close()

    async def shutdown(self) -> None:
        self.stopping = True
        await asyncio.gather(*(self.stop(s) for s in self.services.values()), return_exceptions=True)
        asyncio.get_running_loop().stop()

    async def boot(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGCHLD, self.reap)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(self.shutdown()))
        SOCKET.unlink(missing_ok=True)
        await asyncio.start_unix_server(self.serve_client, path=str(SOCKET))
        enabled = sorted(p.name for p in ENABLED_DIR.glob("*")) if ENABLED_DIR.exists() else []
        for name in sorted(enabled, key=lambda n: n != "sshd"):
            try:
                await self.start(self.load(name))
            except UnitError as exc:
                log.error("%s", exc)
        log.info("node ready")


def main() -> None:
    parser = argparse.ArgumentParser(description="netns node supervisor (PID 1)")
    parser.add_argument("--node", required=True)
    parser.add_argument("--root", required=True, help="the node's private directory on the host")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(asctime)s labnode[" + args.node + "] %(message)s")
    os.chdir("/")
    # read everything needed from the checkout first: it may live under /tmp, which the
    # node's private /tmp hides once mounted
    tool_source = Path(__file__).with_name("labnode_svc.py").read_text()
    subprocess.run(["hostname", args.node], check=True)
    make_private_mounts(Path(args.root))
    install_control_tool(tool_source)
    sup = Supervisor()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(sup.boot())
    loop.run_forever()
    log.info("node stopped")


if __name__ == "__main__":
    main()

"""The real runtime: crun with a private state dir per node, one bundle per container.

Bundle `<root_dir>/containers/<id>/`: config.json (built in process), an overlay rootfs
over the image's unpacked rootfs (upper/, work/), pid, crun.log and meta.json.
Containers start in two steps, `crun create` then `crun start`, stdout+stderr appended to
the container's log file; exit codes come from the kubelet being the subreaper (reaper.py).
Between the two the container's init waits at its exec, already re-parented to the kubelet
(`crun create` has exited), so it is watched before the command runs: with `crun run -d` a
command that ends at once could be gone before the kubelet waited for it, and its exit code
was lost (~5 % of `sh -c 'exit 3'` containers on this machine, 11 of 200; none of 200 with
create + start). A `tty: true`
container gets its terminal over a console socket and a `stdin: true` one a pipe; we keep
their ends (stdio.py) for attach.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import secrets
import shutil
import signal as _signal
import time

from ..cni import Cni
from ..proc import run
from . import cgroups, overlay
from .base import ContainerConfig, ContainerStatus, Runtime, RuntimeError_, Sandbox, SandboxConfig
from .reaper import Reaper, become_subreaper, pid_alive, pid_start_time
from .sandboxes import Sandboxes
from .spec import bounding_set, build_spec
from .state import StateDir
from .stdio import ContainerStdio
from ..streaming.console import ConsoleError, start_with_console

log = logging.getLogger(__name__)


def signal_number(name: str | None) -> int:
    name = (name or "SIGTERM").upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(getattr(_signal.Signals, name))
    except AttributeError:
        return int(_signal.SIGTERM)


class CrunRuntime(Runtime):
    name = "crun"

    def __init__(self, cfg, state_root: str | None = None):
        self.cfg = cfg
        self.crun = cfg.crun
        self.node = cfg.node_name
        self.crun_root = state_root or f"/run/labkube-crun/{cfg.node_name}"
        self.state = StateDir(cfg.root_dir)
        self.cni = Cni(cfg.cni_bin_dir, cfg.root_dir, cfg.pod_cidr)
        self.sandboxes = Sandboxes(self.state, self.cni)
        self.containers: dict[str, ContainerStatus] = {}
        self.extra: dict[str, dict] = {}
        self.stdios: dict[str, ContainerStdio] = {}
        self.reaper = Reaper()
        self.use_cgroups = cgroups.cgroupfs_usable()
        self._version = ""

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        os.makedirs(self.crun_root, exist_ok=True)
        if not become_subreaper():
            log.warning("could not become a child subreaper: exit codes of containers may be lost")
        self._sweeper = asyncio.create_task(self.reaper.run_sweeper())
        for cid, (st, extra) in self.state.load_containers().items():
            self.containers[cid], self.extra[cid] = st, extra
            if st.state == "running":
                if pid_alive(st.pid) and pid_start_time(st.pid) == extra.get("pid_start"):
                    self._watch(cid, st.pid)
                else:
                    self._exited(cid, None)
        log.info("crun runtime: %d sandboxes, %d containers on disk, cgroups %s", len(self.sandboxes.items),
                 len(self.containers), "cgroupfs" if self.use_cgroups else "disabled")

    async def close(self) -> None:
        sweeper = getattr(self, "_sweeper", None)
        if sweeper is not None:
            sweeper.cancel()

    def _crun(self, *args) -> list:
        base = [self.crun, "--root", self.crun_root]
        if not self.use_cgroups:
            base.append("--cgroup-manager=disabled")
        return base + list(args)

    async def version(self) -> str:
        if not self._version:
            r = await run([self.crun, "--version"])
            first = r.stdout.decode().splitlines()[0] if r.rc == 0 and r.stdout else "crun version unknown"
            self._version = first.split()[-1]
        return self._version

    # -- sandboxes ------------------------------------------------------------------------
    async def run_pod_sandbox(self, cfg: SandboxConfig) -> Sandbox:
        if self.use_cgroups and not cfg.cgroup_parent:
            cfg.cgroup_parent = cgroups.pod_parent(self.node, cfg.uid)
        return await self.sandboxes.run(cfg)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await self.sandboxes.stop(sandbox_id)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        sb = self.sandboxes.items.get(sandbox_id)
        await self.sandboxes.remove(sandbox_id)
        if sb is not None and sb.cgroup_parent and self.use_cgroups:
            cgroups.remove_parent(sb.cgroup_parent)

    async def list_sandboxes(self) -> list[Sandbox]:
        return list(self.sandboxes.items.values())

    # -- containers -----------------------------------------------------------------------
    async def create_container(self, sandbox: Sandbox, cfg: ContainerConfig) -> str:
        cid = secrets.token_hex(32)
        bundle = self.state.bundle(cid)
        os.makedirs(bundle)
        st = ContainerStatus(id=cid, name=cfg.name, pod_uid=cfg.pod_uid, state="created",
                             restart_count=cfg.restart_count, image_ref=cfg.image_ref, image_id=cfg.image_id,
                             created_at=time.time(), log_path=cfg.log_path, sandbox_id=sandbox.id)
        # an exec'd command starts where the container's process does (crun exec's own default is /)
        self.containers[cid], self.extra[cid] = st, {"stop_signal": cfg.stop_signal, "cwd": cfg.working_dir or "/"}
        if cfg.tty or cfg.stdin:
            self.extra[cid].update(tty=cfg.tty, stdin=cfg.stdin, stdin_once=cfg.stdin_once)
        try:
            overlay.mount_overlay(cfg.rootfs, bundle)
            cg = cgroups.container_path(sandbox.cgroup_parent, cid) if self.use_cgroups else None
            self.extra[cid]["cgroup"] = cg
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(build_spec(cfg, sandbox, cg, nofile=_nofile(), bounding=bounding_set()), f, indent=1)
        except OSError as e:
            try:                                  # leave nothing behind for a container never made
                overlay.unmount(os.path.join(bundle, "rootfs"))
            except OSError:
                pass
            shutil.rmtree(bundle, ignore_errors=True)
            self.containers.pop(cid, None)
            self.extra.pop(cid, None)
            raise RuntimeError_(f"create container {cfg.name}: {e}", "CreateContainerError") from None
        self._save(cid)
        return cid

    async def start_container(self, container_id: str) -> None:
        st = self.containers[container_id]
        bundle = self.state.bundle(container_id)
        os.makedirs(os.path.dirname(st.log_path), exist_ok=True)
        extra = self.extra[container_id]
        if extra.get("tty"):
            rc, err = await self._create_with_terminal(container_id, bundle)
        else:
            rc, err = await self._create_detached(container_id, bundle, st.log_path, extra)
        if rc == 0:
            with open(f"{bundle}/pid") as f:
                st.pid = int(f.read().strip())
            st.state, st.started_at = "running", time.time()
            self.extra[container_id]["pid_start"] = pid_start_time(st.pid)
            self._save(container_id)
            self._watch(container_id, st.pid)      # before the command runs (module docstring)
            r = await run(self._crun(f"--log=file:{bundle}/crun.log", "start", container_id))
            rc, err = r.rc, r.err
            if rc != 0:
                await run(self._crun("delete", "-f", container_id))   # the init still waiting at its exec
        if rc != 0:
            stdio = self.stdios.pop(container_id, None)
            if stdio is not None:
                stdio.close()
            msg = _tail(os.path.join(bundle, "crun.log")) or err or f"crun exited {rc}"
            self._fail(container_id, msg, "StartError")
            raise RuntimeError_(f"failed to start container {st.name}: {msg}", "StartError")

    def _create_argv(self, cid: str, bundle: str, *opts) -> list:
        return self._crun(f"--log=file:{bundle}/crun.log", "create", *opts, "--bundle", bundle,
                          "--pid-file", f"{bundle}/pid", cid)

    async def _create_detached(self, cid: str, bundle: str, log_path: str, extra: dict) -> tuple[int, str]:
        """`crun create` with stdout+stderr on the log file and stdin from /dev/null, or from a
        pipe we keep when the container wants stdin."""
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        pipe = os.pipe() if extra.get("stdin") else None
        try:
            r = await run(self._create_argv(cid, bundle), stdout=fd, stderr=fd, stdin=pipe[0] if pipe else None,
                          new_session=True)   # a signal to the kubelet's process group must not reach containers
        finally:
            os.close(fd)
            if pipe:
                os.close(pipe[0])
        if pipe:
            self.stdios[cid] = ContainerStdio(log_path, stdin_fd=pipe[1], stdin_once=bool(extra.get("stdin_once")))
            self.stdios[cid].start()
        return r.rc, r.err

    async def _create_with_terminal(self, cid: str, bundle: str) -> tuple[int, str]:
        """`crun create --console-socket`: crun makes the container's terminal and sends us its
        master, which we keep (its output goes to the log file and to attached clients)."""
        try:
            proc, master = await start_with_console(lambda path: self._create_argv(cid, bundle, "--console-socket", path),
                                                    timeout=60)
        except ConsoleError as e:
            return 1, str(e)
        rc = await proc.wait()
        if rc != 0:
            os.close(master)
            return rc, (await proc.stderr.read()).decode(errors="replace").strip()
        extra = self.extra[cid]
        self.stdios[cid] = ContainerStdio(self.containers[cid].log_path, master=master,
                                          stdin_once=bool(extra.get("stdin_once")))
        self.stdios[cid].start()
        return 0, ""

    def stdio(self, container_id: str) -> ContainerStdio | None:
        """The kept stdin/terminal of a running container started with stdin or tty, else None."""
        return self.stdios.get(container_id)

    def _watch(self, cid: str, pid: int) -> None:
        fut = self.reaper.watch(pid)
        fut.add_done_callback(lambda f: self._exited(cid, f.result()))

    def _exited(self, cid: str, code: int | None) -> None:
        st = self.containers.get(cid)
        if st is None or st.state == "exited":
            return
        st.state, st.finished_at = "exited", time.time()
        if code is None:
            st.exit_code, st.reason = 255, "Unknown"
            st.message = "exit code lost: the container was started by an earlier kubelet"
        else:
            st.exit_code, st.reason = code, ("Completed" if code == 0 else "Error")
            cg = self.extra.get(cid, {}).get("cgroup")
            if code == 137 and cg and cgroups.oom_killed(cg):
                st.reason = "OOMKilled"
        self._save(cid)

    def _fail(self, cid: str, msg: str, reason: str) -> None:
        st = self.containers[cid]
        st.state, st.exit_code, st.reason, st.message = "exited", 128, reason, msg
        st.finished_at = time.time()
        if os.path.isdir(self.state.bundle(cid)):
            self._save(cid)

    def _save(self, cid: str) -> None:
        self.state.save_container(self.containers[cid], self.extra.get(cid))

    async def stop_container(self, container_id: str, timeout: float, signal: str | None = None) -> None:
        st = self.containers.get(container_id)
        if st is None or st.state != "running":
            return
        sig = signal_number(signal or self.extra.get(container_id, {}).get("stop_signal"))
        await run(self._crun("kill", container_id, str(sig)))
        if await self.wait_container(container_id, max(timeout, 0)) is None:
            await run(self._crun("kill", container_id, str(int(_signal.SIGKILL))))
            await self.wait_container(container_id, 30)

    async def wait_container(self, container_id: str, timeout: float | None = None) -> ContainerStatus | None:
        st = self.containers.get(container_id)
        if st is None:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while st.state == "running":
            if not pid_alive(st.pid):
                await asyncio.sleep(0.01)          # let the reaper record the code
                if st.state == "running" and not pid_alive(st.pid):
                    self.reaper.poll(st.pid)
                    await asyncio.sleep(0.05)
                    if st.state == "running":
                        self._exited(container_id, None)
                continue
            if deadline is not None and time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.05)
        return st

    async def remove_container(self, container_id: str) -> None:
        st = self.containers.get(container_id)
        if st is not None and st.state == "running":
            await self.stop_container(container_id, 0)
        await run(self._crun("delete", "-f", container_id))
        stdio = self.stdios.pop(container_id, None)
        if stdio is not None:
            stdio.close()
        bundle = self.state.bundle(container_id)
        overlay.unmount(os.path.join(bundle, "rootfs"))
        shutil.rmtree(bundle, ignore_errors=True)
        self.containers.pop(container_id, None)
        self.extra.pop(container_id, None)

    async def container_status(self, container_id: str) -> ContainerStatus | None:
        return self.containers.get(container_id)

    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerStatus]:
        return [c for c in self.containers.values() if pod_uid is None or c.pod_uid == pod_uid]

    def _exec_cwd(self, container_id: str) -> list:
        cwd = (self.extra.get(container_id) or {}).get("cwd")
        return ["--cwd", cwd] if cwd else []

    async def exec_sync(self, container_id: str, cmd: list, timeout: float) -> tuple[int, bytes]:
        r = await run(self._crun("exec", *self._exec_cwd(container_id), container_id, *cmd), timeout=timeout,
                      stderr=asyncio.subprocess.STDOUT)
        return r.rc, r.stdout

    exec_console_socket = True     # exec -t can hand its terminal over a console socket

    def exec_argv(self, container_id: str, cmd: list, tty: bool, console_socket: str | None = None) -> list:
        """`crun exec [-t [--console-socket PATH]] [--cwd DIR] ID CMD...` (DIR: the container's working
        directory, where kubectl exec's command starts, as with Kubernetes): with -t alone crun relays the
        terminal on its stdio into a new one in the container; with a console socket it sends
        that terminal's master there. The exit code is the command's."""
        opts = (["-t"] + (["--console-socket", console_socket] if console_socket else [])) if tty else []
        return self._crun("exec", *opts, *self._exec_cwd(container_id), container_id, *cmd)


def _nofile() -> int:
    """The open-files limit containers get: our own hard limit (crun cannot raise it)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 1048576 if hard == resource.RLIM_INFINITY else min(hard, 1048576)


def _tail(path: str, n: int = 3) -> str:
    try:
        with open(path, errors="replace") as f:
            lines = [ln.strip() for ln in f.read().splitlines() if ln.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])

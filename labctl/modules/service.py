"""service: start/stop/restart/reload services and enable/disable them.

On netns lab nodes (``/run/labnode/bin/labnode-svc`` exists) it drives the
node supervisor: ``labnode-svc {start|stop|restart|reload|enable|disable|status} NAME``,
where ``status`` prints JSON ``{"name", "active", "pid", "enabled", "restarts"}``
and decides whether anything changes.  As with systemd, ``reload NAME`` signals
the service (SIGHUP) and ``daemon_reload: true`` runs ``labnode-svc
daemon-reload`` (the supervisor also re-reads a unit on every command for it).
Elsewhere it uses ``systemctl``, and runs ``systemctl daemon-reload`` first by itself
when the unit's file changed since systemd read it (or systemd has not seen the unit
yet), so a role that writes a unit and then starts it needs no reload step.
"""
from __future__ import annotations

import dataclasses
import json
import shlex

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg, run_python

ARGS = {"name", "state", "enabled", "daemon_reload", "daemon_reexec", "sleep", "pattern",
        "arguments", "args", "runlevel", "scope", "no_block", "masked", "force", "use"}
LABNODE = "/run/labnode/bin/labnode-svc"
q = shlex.quote


def _active(v) -> bool:
    if isinstance(v, str):
        return v.lower() in ("active", "running", "true", "yes", "activating", "reloading")
    return bool(v)


# labnode-svc ARGS on the node. The node's labnode-svc is a Python script: it runs inside
# the SSH helper (no interpreter to start for each status); anything else runs as a
# program. The first line says whether the node has labnode-svc at all.
_LABNODE_PY = r"""
import os, subprocess, sys
tool, argv = sys.argv[1], sys.argv[2:]
if not os.access(tool, os.X_OK):
    print("no-labnode")
    sys.exit(0)
print("labnode")
with open(tool, "rb") as f:
    src = f.read()
if src.startswith(b"#!") and b"python" in src.split(b"\n", 1)[0]:
    sys.argv = [tool] + argv
    exec(compile(src, tool, "exec"), {"__name__": "__main__"})
else:
    p = subprocess.run([tool] + argv, capture_output=True, text=True)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    sys.exit(p.returncode)
"""


def _labnode(ctx, *argv):
    """`labnode-svc ARGV` on the host; None where there is no labnode-svc (systemd hosts)."""
    r = run_python(ctx, _LABNODE_PY, [LABNODE, *argv], timeout=300)
    first, _, rest = r.stdout.partition("\n")
    return dataclasses.replace(r, stdout=rest) if first == "labnode" else None


class _Labnode:
    def __init__(self, ctx, name):
        self.ctx, self.name = ctx, name

    def status(self, r=None) -> dict:
        """The service's state; ``r``: the output of ``labnode-svc status NAME`` if already run."""
        r = r or _labnode(self.ctx, "status", self.name)
        try:
            st = json.loads(r.stdout) if r.stdout.strip() else {}
        except ValueError:
            raise ModuleError(f"labnode-svc status {self.name}: unreadable output {r.stdout.strip()[:200]!r}")
        if r.rc != 0 and not st:
            st = {"name": self.name, "active": False, "enabled": False, "pid": None,
                  "error": (r.stderr or r.stdout).strip()}
        return st

    def do(self, verb):
        r = _labnode(self.ctx, verb, self.name)
        if r.rc != 0:
            raise ModuleError(f"labnode-svc {verb} {self.name} failed: "
                              f"{(r.stderr or r.stdout).strip() or 'exit %d' % r.rc}")

    def do_all(self, verbs: list[str]) -> None:
        for verb in verbs:
            self.do(verb)

    def daemon_reload(self):
        r = _labnode(self.ctx, "daemon-reload")
        if r.rc != 0:
            raise ModuleError(f"labnode-svc daemon-reload failed: {(r.stderr or r.stdout).strip()}")


class _Systemd:
    """systemctl on the host, in as few round trips as possible (each costs seconds on an
    emulated VM): one command reads the load, reload and active states (`systemctl show`)
    and the enabled state, and the actions run in one command that ends with that read.
    The enabled state comes from `systemctl is-enabled`, which reads the [Install] links
    on disk: systemd's own UnitFileState stays stale after `enable --no-reload`."""
    PROPS = "LoadState,NeedDaemonReload,ActiveState"
    ENABLED = ("enabled", "enabled-runtime", "alias", "static", "indirect")

    def __init__(self, ctx, name):
        self.ctx, self.name = ctx, name
        self.props: dict | None = None          # the last `systemctl show`, until something changes

    def _show_cmd(self) -> str:
        n = q(self.name)
        return f"systemctl show -p {self.PROPS} {n}; echo UnitFileState=$(systemctl is-enabled {n} 2>/dev/null)"

    def _read(self, stdout: str) -> dict:
        self.props = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)
        return self.props

    def show(self) -> dict:
        if self.props is None:
            self._read(self.ctx.conn.run(self._show_cmd()).stdout)
        return self.props

    def status(self) -> dict:
        props = self.show()
        a, e = props.get("ActiveState") or "unknown", props.get("UnitFileState") or "unknown"
        return {"name": self.name, "active": a in ("active", "activating", "reloading"),
                "enabled": e in self.ENABLED, "ActiveState": a, "UnitFileState": e}

    def needs_reload(self) -> bool:
        """True when systemd has not read the unit's current file: a unit file written
        since the last daemon-reload (NeedDaemonReload=yes) or one it has never loaded."""
        props = self.show()
        return props.get("NeedDaemonReload") == "yes" or props.get("LoadState") == "not-found"

    @staticmethod
    def _verb_cmd(verb: str, name: str) -> str:
        # enable/disable only change the [Install] links, read at the next boot; without
        # --no-reload systemctl also reloads systemd (every generator again: 15-40 s
        # under VM emulation), which the unit itself does not need
        opt = "--no-reload " if verb in ("enable", "disable") else ""
        return f"systemctl {opt}{verb} {q(name)}"

    def do_all(self, verbs: list[str]) -> None:
        """Run the verbs in order, stopping at the first that fails, then read the state."""
        if not verbs:
            return
        chain = " && ".join(self._verb_cmd(v, self.name) for v in verbs)
        r = self.ctx.conn.run(f"{chain} && {{ {self._show_cmd()}; }}")
        if r.rc != 0:
            self.props = None
            raise ModuleError(f"systemctl {'/'.join(verbs)} {self.name} failed: "
                              f"{(r.stderr or r.stdout).strip() or 'exit %d' % r.rc}")
        self._read(r.stdout)

    def daemon_reload(self):
        self.props = None
        r = self.ctx.conn.run("systemctl daemon-reload")
        if r.rc != 0:
            raise ModuleError(f"systemctl daemon-reload failed: {r.stderr.strip()}")


def run(ctx, args):
    name = args.get("name")
    if not name:
        raise ModuleError("missing required argument 'name'")
    name = str(name)
    state = args.get("state")
    enabled = args.get("enabled")
    if state not in (None, "started", "stopped", "restarted", "reloaded"):
        raise ModuleError(f"unsupported state {state!r} (started, stopped, restarted, reloaded)")
    # which manager, and on netns nodes the status too, in one round trip
    probe = _labnode(ctx, "status", name)
    use_labnode = probe is not None
    svc = _Labnode(ctx, name) if use_labnode else _Systemd(ctx, name)
    reload = not ctx.check_mode and (bool_arg(args.get("daemon_reload")) or
                                     (not use_labnode and svc.needs_reload()))
    if reload:
        svc.daemon_reload()
    before = svc.status(probe) if use_labnode and not reload else svc.status()
    active = _active(before.get("active"))
    actions = []
    if enabled is not None:
        want = bool_arg(enabled)
        if bool(before.get("enabled")) != want:
            actions.append("enable" if want else "disable")
    if state == "started" and not active:
        actions.append("start")
    elif state == "stopped" and active:
        actions.append("stop")
    elif state == "restarted":
        actions.append("restart")
    elif state == "reloaded":
        actions.append("reload" if active else "start")
    if not ctx.check_mode:
        svc.do_all(actions)
    after = svc.status() if actions and not ctx.check_mode else before
    data = {"name": name, "status": after, "state": "started" if _active(after.get("active")) else "stopped",
            "enabled": bool(after.get("enabled")), "manager": "labnode" if use_labnode else "systemd"}
    if state in ("started", "restarted", "reloaded") and not ctx.check_mode and \
            not _active(after.get("active")):
        return TaskResult(changed=bool(actions), failed=True,
                          msg=f"service {name} is not running after {'/'.join(actions) or 'start'}", data=data)
    diff = None
    if actions and ctx.diff_mode:
        diff = {"before": {"active": active, "enabled": bool(before.get("enabled"))},
                "after": {"actions": actions}, "before_header": name, "after_header": name}
    return TaskResult(changed=bool(actions), diff=diff, data=data)

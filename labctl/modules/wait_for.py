"""wait_for: wait on the managed host for a TCP port or a path.

``host``/``port`` with ``state`` started (accepts connections, default) or
stopped (refuses them); ``path`` with ``state`` present/started (exists,
optionally containing ``search_regex``) or absent/stopped.  ``timeout``
(default 300 s), ``delay`` before the first check, ``sleep`` between checks,
``connect_timeout``.  The whole wait runs remotely in one small python3
program (a bash ``/dev/tcp`` loop where there is no python3).  Nothing changes,
so it never reports ``changed``; in check mode it does not wait.
"""
from __future__ import annotations

import json
import shlex

from labctl.engine.context import ModuleError, TaskResult

from ._util import run_python

ARGS = {"host", "port", "path", "state", "timeout", "delay", "sleep", "connect_timeout",
        "search_regex", "msg", "active_connection_states", "exclude_hosts"}

_PY = r'''
import json, os, re, socket, sys, time
a = json.loads(sys.argv[1])
time.sleep(a["delay"])
end = time.time() + a["timeout"]
start = time.time()
def port_open():
    try:
        socket.create_connection((a["host"], a["port"]), timeout=a["connect_timeout"]).close()
        return True
    except OSError:
        return False
def path_ok():
    if not os.path.exists(a["path"]):
        return False
    if a["search_regex"]:
        try:
            with open(a["path"], errors="replace") as f:
                return re.search(a["search_regex"], f.read(), re.M) is not None
        except OSError:
            return False
    return True
while True:
    if a["port"]:
        ok = port_open() == a["up"]
    else:
        ok = path_ok() == a["up"]
    if ok:
        print(json.dumps({"ok": True, "elapsed": round(time.time() - start, 2)}))
        sys.exit(0)
    if time.time() >= end:
        print(json.dumps({"ok": False, "elapsed": round(time.time() - start, 2)}))
        sys.exit(0)
    time.sleep(a["sleep"])
'''


def _bash(a):
    if a["port"]:
        probe = f"(exec 3<>/dev/tcp/{a['host']}/{int(a['port'])}) 2>/dev/null"
    else:
        probe = f"test -e {shlex.quote(a['path'])}"
    cond = probe if a["up"] else f"! {probe}"
    return (f"sleep {a['delay']}; s=$(date +%s); end=$(( s + {int(a['timeout'])} )); "
            f"while :; do if {cond}; then echo '{{\"ok\": true, \"elapsed\": '$(( $(date +%s) - s ))'}}'; exit 0; fi; "
            f"if [ $(date +%s) -ge $end ]; then echo '{{\"ok\": false, \"elapsed\": '$(( $(date +%s) - s ))'}}'; exit 0; fi; "
            f"sleep {a['sleep']}; done")


def run(ctx, args):
    port, path = args.get("port"), args.get("path")
    if not port and not path:
        raise ModuleError("wait_for needs 'port' or 'path'")
    state = args.get("state") or "started"
    if state not in ("started", "stopped", "present", "absent", "drained"):
        raise ModuleError(f"unsupported state {state!r}")
    a = {"host": str(args.get("host") or "127.0.0.1"), "port": int(port) if port else None,
         "path": str(path) if path else None, "up": state in ("started", "present"),
         "timeout": float(args.get("timeout", 300)), "delay": float(args.get("delay", 0)),
         "sleep": float(args.get("sleep", 1)), "connect_timeout": float(args.get("connect_timeout", 5)),
         "search_regex": args.get("search_regex")}
    what = f"{a['host']}:{a['port']}" if port else a["path"]
    if ctx.check_mode:
        return TaskResult(changed=False, msg=f"check mode: did not wait for {what}")
    limit = a["timeout"] + a["delay"] + a["connect_timeout"] + 30
    r = run_python(ctx, _PY, [json.dumps(a)], timeout=limit)
    if r.rc == 127 or (r.rc != 0 and "python3" in r.stderr):
        r = ctx.conn.run(_bash(a), timeout=limit)
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise ModuleError(f"wait_for: probe failed: {(r.stderr or r.stdout).strip()[:300]}") from None
    data = {"elapsed": out["elapsed"], "state": state}
    if port:
        data.update(host=a["host"], port=a["port"])
    else:
        data["path"] = a["path"]
    if not out["ok"]:
        msg = args.get("msg") or f"Timeout when waiting for {what} ({state}) after {a['timeout']:g} s"
        return TaskResult(failed=True, msg=str(msg), data=data)
    return TaskResult(changed=False, data=data)

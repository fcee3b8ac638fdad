"""pip: install Python packages (optionally into a ``virtualenv``), idempotent via ``pip list``.

``name`` (string or list; ``pkg==1.0`` pins), ``requirements``, ``virtualenv``
(created with ``virtualenv_command``, default ``python3 -m venv``), ``state``
present|absent|latest|forcereinstall, ``extra_args`` (e.g. ``--no-index
--find-links /opt/wheelhouse``), ``executable``.
"""
from __future__ import annotations

import json
import re
import shlex

from labctl.engine.context import ModuleError, TaskResult

ARGS = {"name", "requirements", "virtualenv", "virtualenv_command", "virtualenv_python",
        "virtualenv_site_packages", "state", "extra_args", "executable", "chdir", "version",
        "editable", "umask", "break_system_packages"}
q = shlex.quote


def _norm(n):
    return re.sub(r"[-_.]+", "-", n).lower()


def run(ctx, args):
    names = args.get("name") or []
    names = [x.strip() for x in names.split(",")] if isinstance(names, str) else [str(x) for x in names]
    if args.get("version") and len(names) == 1:
        names = [f"{names[0]}=={args['version']}"]
    state = args.get("state") or "present"
    venv = args.get("virtualenv")
    changed = False
    if venv:
        pip = f"{venv}/bin/pip"
        if ctx.conn.run(f"test -x {q(pip)}").rc != 0:
            changed = True
            if ctx.check_mode:
                return TaskResult(changed=True, msg=f"would create virtualenv {venv}")
            cmd = args.get("virtualenv_command") or (args.get("virtualenv_python") or "python3") + " -m venv"
            site = " --system-site-packages" if args.get("virtualenv_site_packages") else ""
            r = ctx.conn.run(f"{cmd}{site} {q(str(venv))}")
            if r.rc != 0:
                raise ModuleError(f"creating virtualenv {venv} failed: {(r.stderr or r.stdout).strip()[-300:]}")
    else:
        pip = args.get("executable") or "python3 -m pip"
    extra = str(args.get("extra_args") or "")
    if args.get("requirements"):
        if ctx.check_mode:
            return TaskResult(changed=changed)
        r = ctx.conn.run(f"{pip} install {extra} -r {q(str(args['requirements']))}")
        if r.rc != 0:
            raise ModuleError(f"pip install -r failed: {(r.stderr or r.stdout).strip()[-400:]}")
        return TaskResult(changed=changed or "Successfully installed" in r.stdout, data={"stdout": r.stdout})
    r = ctx.conn.run(f"{pip} list --format=json 2>/dev/null")
    try:
        have = {_norm(p["name"]): p["version"] for p in json.loads(r.stdout or "[]")}
    except ValueError:
        have = {}
    todo = []
    for n in names:
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(==\s*([^,;\s]+))?", n)
        base = _norm(re.sub(r"\[.*\]", "", m.group(1))) if m else _norm(n)
        if state == "absent":
            if base in have:
                todo.append(n)
        elif state in ("latest", "forcereinstall") or base not in have or \
                (m and m.group(3) and have.get(base) != m.group(3)):
            todo.append(n)
    if not todo:
        return TaskResult(changed=changed, data={"name": names})
    if not ctx.check_mode:
        if state == "absent":
            cmd = f"{pip} uninstall -y " + " ".join(q(n) for n in todo)
        else:
            flags = {"latest": "-U ", "forcereinstall": "--force-reinstall "}.get(state, "")
            cmd = f"{pip} install {flags}{extra} " + " ".join(q(n) for n in todo)
        if args.get("chdir"):
            cmd = f"cd {q(str(args['chdir']))} && {cmd}"
        r = ctx.conn.run(cmd)
        if r.rc != 0:
            raise ModuleError(f"pip failed: {(r.stderr or r.stdout).strip()[-400:]}")
    return TaskResult(changed=True, data={"name": names, "changed_packages": todo})

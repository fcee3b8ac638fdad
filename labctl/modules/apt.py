"""apt: install or remove Debian packages; idempotent through ``dpkg-query``.

``name`` (string, comma list or list), ``state`` present|absent|latest
(``latest`` behaves as present), ``update_cache``, ``cache_valid_time``,
``install_recommends``.  Only what is missing is installed.
"""
from __future__ import annotations

import shlex

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg

ARGS = {"name", "pkg", "package", "state", "update_cache", "cache_valid_time", "install_recommends",
        "force_apt_get", "autoremove", "purge", "deb", "dpkg_options", "default_release", "lock_timeout"}
ENV = {"DEBIAN_FRONTEND": "noninteractive"}


def _names(v):
    if v is None:
        return []
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return [str(x) for x in v]


def installed(ctx, names) -> set:
    if not names:
        return set()
    r = ctx.conn.run("dpkg-query -W -f='${Package} ${db:Status-Abbrev}\\n' "
                     + " ".join(shlex.quote(n.split("=")[0]) for n in names) + " 2>/dev/null")
    out = set()
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith("ii"):
            out.add(parts[0].split(":")[0])
    return out


def run(ctx, args):
    names = _names(args.get("name") or args.get("pkg") or args.get("package"))
    state = args.get("state") or "present"
    if state not in ("present", "installed", "latest", "absent", "removed"):
        raise ModuleError(f"unsupported state {state!r}")
    changed = False
    if bool_arg(args.get("update_cache")):
        valid = args.get("cache_valid_time")
        fresh = False
        if valid:
            r = ctx.conn.run(f"test -n \"$(find /var/lib/apt/lists -maxdepth 0 -mmin -{int(int(valid) / 60) + 1})\"")
            fresh = r.rc == 0
        if not fresh and not ctx.check_mode:
            r = ctx.conn.run("apt-get update -q", env=ENV)
            if r.rc != 0:
                raise ModuleError(f"apt-get update failed: {r.stderr.strip()[-300:]}")
            changed = not valid  # Ansible reports a cache refresh as a change only with cache_valid_time
    have = installed(ctx, names)
    base = [n.split("=")[0] for n in names]
    if state in ("absent", "removed"):
        todo = [n for n in base if n in have]
        verb = "purge" if bool_arg(args.get("purge")) else "remove"
    else:
        todo = [n for n, b in zip(names, base) if b not in have]
        verb = "install"
    if not todo:
        return TaskResult(changed=changed, data={"packages": names})
    if not ctx.check_mode:
        rec = "" if bool_arg(args.get("install_recommends"), False) else "--no-install-recommends "
        cmd = f"apt-get -y -q {rec if verb == 'install' else ''}{verb} " + " ".join(shlex.quote(n) for n in todo)
        r = ctx.conn.run(cmd, env=ENV)
        if r.rc != 0:
            raise ModuleError(f"apt-get {verb} {' '.join(todo)} failed: {(r.stderr or r.stdout).strip()[-400:]}")
    return TaskResult(changed=True, msg=f"{verb}: {' '.join(todo)}",
                      diff={"prepared": f"{verb}: {' '.join(todo)}\n"} if ctx.diff_mode else None,
                      data={"packages": names, verb + "ed": todo})

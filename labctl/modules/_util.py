"""Helpers shared by the file-handling modules (stat, attributes, content, diff).

Everything acts through ``ctx.conn`` (the host's connection) with small
shell commands, so the same code works over SSH and locally.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import threading
import time

from labctl.connections.base import Connection, parse_mode
from labctl.engine.context import ModuleError, TaskResult

q = shlex.quote
DIFF_LIMIT = 256 * 1024


def sh(ctx, cmd, what=None, **kw):
    """Run a command; raise ModuleError (one line) when it fails."""
    r = ctx.conn.run(cmd, **kw)
    if r.rc != 0:
        msg = (r.stderr or r.stdout).strip().splitlines()
        raise ModuleError(f"{what or cmd}: {msg[-1] if msg else 'exit status %d' % r.rc}")
    return r


def run_python(ctx, code: str, args=(), timeout=None):
    """Run a small stdlib-only Python program on the host (sys.argv[1:] = args): inside the
    connection's command helper when it has one (no interpreter to start), else `python3 -c`.
    Through `become` or `environment:` wrappers it always starts python3, as that user and
    with that environment."""
    if isinstance(ctx.conn, Connection):         # not a become/environment wrapper
        return ctx.conn.run_python(code, args, timeout=timeout)
    argv = " ".join(q(str(a)) for a in args)
    return ctx.conn.run(f"python3 -c {q(code)} {argv}", timeout=timeout)


def remote_stat(ctx, path, follow=False, checksum=False) -> dict | None:
    """{'type': 'file'|'directory'|'link'|..., 'mode': 0o644, 'owner', 'group', 'uid', 'gid', 'size', 'target'} or None.

    With ``checksum=True`` a regular file also gets ``sha256`` -- in the same round trip.
    """
    fast = getattr(ctx.conn, "stat", None)
    if fast is not None:
        st = fast(path, follow=follow, checksum=checksum)
        if st is not NotImplemented:
            return st
    flag = "-L " if follow else ""
    p = q(path)
    cmd = (f"stat {flag}-c 'S|%F|%a|%U|%G|%u|%g|%s|%Y' -- {p} 2>/dev/null || exit 0; "
           f"if [ -L {p} ]; then echo \"L|$(readlink -- {p})\"; fi")
    if checksum:
        cmd += f"; if [ -f {p} ]; then echo \"C|$(sha256sum < {p} | cut -d' ' -f1)\"; fi"
    r = ctx.conn.run(cmd)
    st = None
    for line in r.stdout.splitlines():
        tag, _, rest = line.partition("|")
        if tag == "S" and st is None:
            f = rest.split("|")
            kind = f[0]
            t = ("directory" if kind == "directory" else "link" if kind == "symbolic link"
                 else "file" if "regular" in kind else kind)
            st = {"type": t, "mode": int(f[1], 8), "owner": f[2], "group": f[3], "uid": int(f[4]),
                  "gid": int(f[5]), "size": int(f[6]), "mtime": int(f[7]), "target": None}
        elif tag == "L" and st is not None:
            st["target"] = rest
        elif tag == "C" and st is not None:
            st["sha256"] = rest.strip() or None
    if st is not None and st["type"] != "link":
        st["target"] = None
    return st


def fmt_mode(m):
    return None if m is None else "%04o" % m


def apply_attrs(ctx, path, st, mode=None, owner=None, group=None, recurse=False) -> list[str]:
    """Bring mode/owner/group of ``path`` in line; returns the list of changes (done unless check mode)."""
    changes, cmds = [], []
    if mode not in (None, ""):
        try:
            want = parse_mode(mode)
        except ValueError:
            want = None  # symbolic mode: let chmod decide, compare after
        if want is None:
            before = st["mode"] if st else None
            if not ctx.check_mode:
                sh(ctx, f"chmod {'-R ' if recurse else ''}{q(str(mode))} -- {q(path)}", "chmod")
                after = remote_stat(ctx, path)
                if after and after["mode"] != before:
                    changes.append(f"mode {fmt_mode(before)} -> {fmt_mode(after['mode'])}")
        else:
            differs = st is None or (st["mode"] & 0o7777) != want
            if recurse and not differs:
                r = ctx.conn.run(f"find {q(path)} ! -perm {want:04o} | head -n1")
                differs = bool(r.stdout.strip())
            if differs:
                changes.append(f"mode -> {want:04o}")
                cmds.append(f"chmod {'-R ' if recurse else ''}{want:04o} -- {q(path)}")
    for kind, want, cur_key, idkey, tool in (("owner", owner, "owner", "uid", "chown"),
                                             ("group", group, "group", "gid", "chgrp")):
        if want in (None, ""):
            continue
        want = str(want)
        differs = st is None or (want != st[cur_key] and want != str(st[idkey]))
        if recurse and not differs:
            test = "-user" if kind == "owner" else "-group"
            r = ctx.conn.run(f"find {q(path)} ! {test} {q(want)} | head -n1")
            differs = bool(r.stdout.strip())
        if differs:
            changes.append(f"{kind} -> {want}")
            cmds.append(f"{tool} {'-R ' if recurse else ''}{q(want)} -- {q(path)}")
    if cmds and not ctx.check_mode:
        sh(ctx, " && ".join(cmds), "set attributes")
    return changes


def is_text(data: bytes) -> bool:
    if b"\0" in data[:8192] or len(data) > DIFF_LIMIT:
        return False
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


_SUMS: dict = {}
_SUMS_LOCK = threading.Lock()


def local_sha256(path: str) -> str:
    """The sha256 of a file on the control machine, computed once per run however many hosts
    and tasks copy it (remembered by path, inode, size, mtime and ctime; a file changed in
    the last second is hashed every time, since its timestamps may not show a change yet)."""
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _SUMS_LOCK:     # the hosts copying the same file wait for the first one's checksum
        if key in _SUMS:
            return _SUMS[key]
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
        if time.time() - st.st_ctime > 1:
            _SUMS[key] = digest
    return digest


def read_local(path: str):
    """A loader for put_content: the file's bytes, read only when they must be sent or diffed."""
    def load() -> bytes:
        with open(path, "rb") as fh:
            return fh.read()
    return load


def put_content(ctx, dest, data, mode=None, owner=None, group=None, force=True,
                backup=False, validate=None, st=False, checksum=None) -> TaskResult:
    """Make ``dest`` hold ``data`` (checksum compare first); report changed/diff.

    ``data``: bytes, or a zero-argument loader (``read_local``) called only when the bytes
    are needed, with ``checksum`` their sha256. ``st``: a ``remote_stat(..., follow=True,
    checksum=True)`` of dest the caller already has.
    """
    if st is False:
        st = remote_stat(ctx, dest, follow=True, checksum=True)
    if st and st["type"] == "directory":
        raise ModuleError(f"destination {dest} is a directory")
    if not callable(data):
        data, checksum = (lambda raw=data: raw), hashlib.sha256(data).hexdigest()
    want = checksum
    have = (st.get("sha256") if "sha256" in st else ctx.conn.sha256(dest)) if st else None
    changed = have != want and (force or st is None)
    if changed:
        data = data()
    diff = None
    if changed and ctx.diff_mode and is_text(data):
        before = ""
        if st and st["size"] <= DIFF_LIMIT:
            raw = ctx.conn.get(dest)
            before = raw.decode("utf-8", "replace") if is_text(raw) else "<binary>"
        diff = {"before": before, "after": data.decode("utf-8"), "before_header": dest,
                "after_header": dest}
    out = {"dest": dest, "checksum": want}
    if changed and not ctx.check_mode:
        if backup and st:
            sh(ctx, f"cp -p -- {q(dest)} {q(dest)}.$(date +%Y%m%d%H%M%S).bak", "backup")
        if validate:
            tmp = f"{dest}.labctl-validate"
            ctx.conn.put(data, tmp, mode or (st and st["mode"]) or 0o600)
            cmd = validate.replace("%s", q(tmp)) if "%s" in validate else f"{validate} {q(tmp)}"
            r = ctx.conn.run(cmd)
            if r.rc != 0:
                ctx.conn.run(f"rm -f -- {q(tmp)}")
                raise ModuleError(f"failed to validate: {(r.stderr or r.stdout).strip()}")
            ctx.conn.run(f"rm -f -- {q(tmp)}")
        ctx.conn.put(data, dest, mode if mode is not None and _octal(mode) else
                     (st["mode"] if st else None))
        st = remote_stat(ctx, dest, follow=True)
    attrs = apply_attrs(ctx, dest, st, mode, owner, group) if (st or not ctx.check_mode) else []
    if ctx.check_mode and st is None:
        attrs = []
    return TaskResult(changed=changed or bool(attrs), diff=diff, data=out)


def _octal(mode) -> bool:
    try:
        parse_mode(mode)
        return True
    except ValueError:
        return False


def path_arg(args, *names):
    for n in names:
        if args.get(n):
            return str(args[n])
    raise ModuleError(f"missing required argument '{names[0]}'")


def bool_arg(v, default=False):
    from labctl.engine.filters import to_bool
    return default if v is None else to_bool(v)

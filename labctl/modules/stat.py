"""stat: facts about a path on the host (exists, isdir, isreg, islnk, mode, owner, size, checksum)."""
from __future__ import annotations

import shlex

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg, remote_stat

ARGS = {"path", "follow", "get_checksum", "checksum_algorithm", "get_mime", "get_attributes",
        "get_md5"}


def run(ctx, args):
    path = args.get("path")
    if not path:
        raise ModuleError("missing required argument 'path'")
    path = str(path)
    st = remote_stat(ctx, path, follow=bool_arg(args.get("follow")))
    if st is None:
        return TaskResult(changed=False, data={"stat": {"exists": False}})
    out = {"exists": True, "path": path, "isdir": st["type"] == "directory",
           "isreg": st["type"] == "file", "islnk": st["type"] == "link", "mode": "%04o" % st["mode"],
           "uid": st["uid"], "gid": st["gid"], "pw_name": st["owner"], "gr_name": st["group"],
           "size": st["size"], "mtime": st["mtime"]}
    if st["type"] == "link":
        out["lnk_source"] = st["target"]
        out["lnk_target"] = st["target"]
    if st["type"] == "file" and bool_arg(args.get("get_checksum"), True):
        algo = str(args.get("checksum_algorithm") or "sha1")
        if algo not in ("sha1", "sha224", "sha256", "sha384", "sha512", "md5"):
            raise ModuleError(f"unsupported checksum_algorithm {algo!r}")
        r = ctx.conn.run(f"{algo}sum -- {shlex.quote(path)}")
        if r.rc == 0 and r.stdout:
            out["checksum"] = r.stdout.split()[0]
    return TaskResult(changed=False, data={"stat": out})

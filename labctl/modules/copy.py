"""copy: put a file (``src`` from role/playbook ``files/``) or ``content`` on the host.

Checksums are compared before anything is sent; directories are copied
recursively (``src: dir/`` copies the contents, ``src: dir`` the directory).
``mode``/``owner``/``group``/``directory_mode``, ``force: no`` (never
overwrite), ``backup``, ``validate``.
"""
from __future__ import annotations

import os

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg, put_content, q, remote_stat, sh

ARGS = {"src", "content", "dest", "mode", "owner", "group", "force", "backup", "validate",
        "directory_mode", "remote_src", "follow", "decrypt", "local_follow", "unsafe_writes",
        "checksum", "attributes"}


def _copy_tree(ctx, src, dest, args):
    changed, diffs = False, []
    for root, dirs, files in os.walk(src):
        dirs.sort()
        rel = os.path.relpath(root, src)
        rdir = dest if rel == "." else os.path.join(dest, rel)
        if remote_stat(ctx, rdir) is None:
            changed = True
            if not ctx.check_mode:
                sh(ctx, f"mkdir -p -- {q(rdir)}" + (f" && chmod {args['directory_mode']} -- {q(rdir)}"
                                                     if args.get("directory_mode") else ""))
        for f in sorted(files):
            with open(os.path.join(root, f), "rb") as fh:
                data = fh.read()
            r = put_content(ctx, os.path.join(rdir, f), data, args.get("mode"), args.get("owner"),
                            args.get("group"), force=bool_arg(args.get("force"), True))
            changed = changed or r.changed
            if r.diff:
                diffs.append(r.diff)
    return TaskResult(changed=changed, diff=diffs or None, data={"dest": dest, "src": src})


def run(ctx, args):
    dest = args.get("dest")
    if not dest:
        raise ModuleError("missing required argument 'dest'")
    dest = str(dest)
    if bool_arg(args.get("remote_src")):
        raise ModuleError("remote_src is not supported")
    if "content" in args and args["content"] is not None:
        content = args["content"]
        if not isinstance(content, (str, bytes)):
            import json
            content = json.dumps(content)
        data = content.encode() if isinstance(content, str) else content
        if dest.endswith("/"):
            raise ModuleError("with 'content', dest must be a file path, not a directory")
        return put_content(ctx, dest, data, args.get("mode"), args.get("owner"), args.get("group"),
                           force=bool_arg(args.get("force"), True), backup=bool_arg(args.get("backup")),
                           validate=args.get("validate"))
    src = args.get("src")
    if not src:
        raise ModuleError("one of 'src' or 'content' is required")
    local = ctx.find_file(str(src), "files")
    if os.path.isdir(local):
        target = dest if str(src).endswith("/") else os.path.join(dest, os.path.basename(local.rstrip("/")))
        return _copy_tree(ctx, local, target, args)
    st = remote_stat(ctx, dest, follow=True, checksum=True)
    if dest.endswith("/") or (st and st["type"] == "directory"):
        dest = os.path.join(dest, os.path.basename(local))
        st = False
    with open(local, "rb") as fh:
        data = fh.read()
    r = put_content(ctx, dest, data, args.get("mode"), args.get("owner"), args.get("group"),
                    force=bool_arg(args.get("force"), True), backup=bool_arg(args.get("backup")),
                    validate=args.get("validate"), st=st)
    r.data["src"] = local
    return r

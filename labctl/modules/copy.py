"""copy: put a file (``src`` from role/playbook ``files/``) or ``content`` on the host.

Checksums are compared before anything is sent; directories are copied
recursively (``src: dir/`` copies the contents, ``src: dir`` the directory).
``mode``/``owner``/``group``/``directory_mode``, ``force: no`` (never
overwrite), ``backup``, ``validate``.
"""
from __future__ import annotations

import os

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg, local_sha256, put_content, q, read_local, remote_stat, sh

ARGS = {"src", "content", "dest", "mode", "owner", "group", "force", "backup", "validate",
        "directory_mode", "remote_src", "follow", "decrypt", "local_follow", "unsafe_writes",
        "checksum", "attributes"}


def _remote_tree(ctx, dest):
    """{relpath: (type, mode, owner, group, sha256|None)} of everything under dest, in one round trip."""
    fast = getattr(ctx.conn, "tree", None)
    if fast is not None:
        tree = fast(dest)
        if tree is not NotImplemented:
            return tree
    r = ctx.conn.run(f"cd {q(dest)} 2>/dev/null || exit 0; find . -mindepth 1 -printf '%y|%m|%u|%g|%P\\n'; "
                     f"find . -type f -print0 | xargs -0 -r sha256sum")
    tree, sums = {}, {}
    for line in r.stdout.splitlines():
        parts = line.split("|", 4)
        if len(parts) == 5 and len(parts[0]) == 1:
            tree[parts[4]] = [parts[0], int(parts[1], 8), parts[2], parts[3], None]
        elif "  ./" in line:
            h, _, path = line.partition("  ./")
            sums[path] = h
    for path, h in sums.items():
        if path in tree:
            tree[path][4] = h
    return tree


def _copy_tree(ctx, src, dest, args):
    """Copy a local directory tree; one remote listing, then only what differs is sent."""
    from labctl.connections.base import parse_mode
    remote = _remote_tree(ctx, dest) if remote_stat(ctx, dest, follow=True) else None
    mode, owner, group = args.get("mode"), args.get("owner"), args.get("group")
    want_mode = parse_mode(mode) if mode not in (None, "") else None
    force = bool_arg(args.get("force"), True)
    changed, diffs, missing_dirs, fix = False, [], [], []
    if remote is None:
        missing_dirs.append(dest)
    for root, dirs, files in os.walk(src):
        dirs.sort()
        rel = os.path.relpath(root, src)
        rel = "" if rel == "." else rel
        if rel and (remote is None or remote.get(rel, [None])[0] != "d"):
            missing_dirs.append(os.path.join(dest, rel))
        for f in sorted(files):
            relf = os.path.join(rel, f) if rel else f
            path = os.path.join(root, f)
            have = (remote or {}).get(relf)
            target = os.path.join(dest, relf)
            if have and have[0] == "f" and (not force or have[4] == local_sha256(path)):
                if (want_mode is not None and have[1] != want_mode) or \
                        (owner and str(owner) != have[2]) or (group and str(group) != have[3]):
                    fix.append(target)
                continue
            fix.append((target, path))
    if missing_dirs:
        changed = True
        if not ctx.check_mode:
            dmode = args.get("directory_mode")
            sh(ctx, "mkdir -p -- " + " ".join(q(d) for d in missing_dirs)
               + (f" && chmod {dmode} -- " + " ".join(q(d) for d in missing_dirs) if dmode else ""),
               "create directories")
    for item in fix:
        if isinstance(item, tuple):
            target, path = item
            r = put_content(ctx, target, read_local(path), mode, owner, group, force=force,
                            checksum=local_sha256(path),
                            st=None if remote is None or os.path.relpath(target, dest) not in remote else False)
            if r.diff:
                diffs.append(r.diff)
        changed = True
        if not isinstance(item, tuple) and not ctx.check_mode:
            from ._util import apply_attrs
            apply_attrs(ctx, item, remote_stat(ctx, item), mode, owner, group)
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
        if not st and not ctx.check_mode:     # as Ansible: a missing dest ending in "/" is created
            sh(ctx, f"mkdir -p -- {q(dest)}", "create the destination directory")
        dest = os.path.join(dest, os.path.basename(local))
        st = False
    r = put_content(ctx, dest, read_local(local), args.get("mode"), args.get("owner"), args.get("group"),
                    force=bool_arg(args.get("force"), True), backup=bool_arg(args.get("backup")),
                    validate=args.get("validate"), st=st, checksum=local_sha256(local))
    r.data["src"] = local
    return r

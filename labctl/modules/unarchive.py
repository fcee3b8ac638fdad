"""unarchive: unpack a local tar/zip archive (role ``files/`` or an absolute path) on the host.

Idempotent through ``creates`` or, without it, a marker file
``<dest>/.labctl-unarchive-<archive name>.sha256`` holding the archive's
checksum: the archive is sent and unpacked only when it changed.
``remote_src: true`` unpacks an archive already on the host.  Options:
``src``, ``dest`` (must exist), ``creates``, ``extra_opts``, ``owner``/``group``/``mode``
(applied to ``dest``), ``remote_src``.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import uuid

from labctl.engine.context import ModuleError, TaskResult

from ._util import apply_attrs, bool_arg, remote_stat

ARGS = {"src", "dest", "creates", "extra_opts", "owner", "group", "mode", "remote_src", "copy",
        "keep_newer", "list_files", "exclude", "include", "validate_certs", "decrypt"}
q = shlex.quote


def _unpack_cmd(archive, dest, name, extra):
    low = name.lower()
    if low.endswith(".zip"):
        return f"unzip -o {extra} {q(archive)} -d {q(dest)}"
    return f"tar -x {extra} -f {q(archive)} -C {q(dest)}"


def run(ctx, args):
    src, dest = args.get("src"), args.get("dest")
    if not src or not dest:
        raise ModuleError("unarchive needs 'src' and 'dest'")
    src, dest = str(src), str(dest)
    st = remote_stat(ctx, dest, follow=True)
    if st is None or st["type"] != "directory":
        raise ModuleError(f"dest {dest} must be an existing directory")
    if args.get("creates") and remote_stat(ctx, str(args["creates"]), follow=True) is not None:
        return TaskResult(changed=False, msg=f"skipped, since {args['creates']} exists")
    extra = " ".join(q(str(x)) for x in (args.get("extra_opts") or []))
    remote_src = bool_arg(args.get("remote_src")) or args.get("copy") is False
    name = os.path.basename(src)
    marker = os.path.join(dest, f".labctl-unarchive-{name}.sha256")
    if remote_src:
        digest = ctx.conn.sha256(src)
        if digest is None:
            raise ModuleError(f"{src} not found on the host")
        data = None
    else:
        with open(ctx.find_file(src, "files"), "rb") as f:
            data = f.read()
        digest = hashlib.sha256(data).hexdigest()
    have = ctx.conn.run(f"cat {q(marker)} 2>/dev/null").stdout.strip()
    changed = have != digest
    if changed and not ctx.check_mode:
        archive = src
        if data is not None:
            archive = f"/tmp/.labctl-archive-{uuid.uuid4().hex[:12]}-{name}"
            ctx.conn.put(data, archive, 0o600)
        r = ctx.conn.run(_unpack_cmd(archive, dest, name, extra))
        if data is not None:
            ctx.conn.run(f"rm -f {q(archive)}")
        if r.rc != 0:
            raise ModuleError(f"unpacking {name} failed: {(r.stderr or r.stdout).strip()[-300:]}")
        ctx.conn.put((digest + "\n").encode(), marker, 0o644)
    attrs = apply_attrs(ctx, dest, st, args.get("mode"), args.get("owner"), args.get("group"))
    return TaskResult(changed=changed or bool(attrs), data={"dest": dest, "src": src, "checksum": digest})

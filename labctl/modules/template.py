"""template: render a Jinja2 template (role ``templates/`` or playbook ``templates/``) to the host.

The rendered text is compared by checksum before sending; ``--diff`` shows the
change.  Extra variables available in the template: ``template_path``,
``template_host``, ``template_destpath``, ``ansible_managed``.
"""
from __future__ import annotations

import os
import socket

from labctl.engine.context import ModuleError

from ._util import bool_arg, put_content, remote_stat

ARGS = {"src", "dest", "mode", "owner", "group", "force", "backup", "validate", "newline_sequence",
        "trim_blocks", "lstrip_blocks", "variable_start_string", "variable_end_string",
        "block_start_string", "block_end_string", "output_encoding", "follow", "unsafe_writes",
        "attributes"}


def run(ctx, args):
    src, dest = args.get("src"), args.get("dest")
    if not src or not dest:
        raise ModuleError("template needs 'src' and 'dest'")
    dest = str(dest)
    path = ctx.find_file(str(src), "templates")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ModuleError(f"cannot read template {path}: {e}") from None
    st = remote_stat(ctx, dest, follow=True, checksum=True)
    if dest.endswith("/") or (st and st["type"] == "directory"):
        dest = os.path.join(dest, os.path.basename(path).removesuffix(".j2"))
        st = False  # stat the file inside the directory
    scope = ctx.vars.child({"template_path": path, "template_fullpath": path,
                            "template_host": socket.gethostname(), "template_destpath": dest,
                            "template_uid": str(os.getuid()),
                            "ansible_managed": "Ansible managed"})
    opts = {}
    for k in ("trim_blocks", "lstrip_blocks"):
        if args.get(k) is not None:
            opts[k] = bool_arg(args[k])
    for k in ("variable_start_string", "variable_end_string", "block_start_string", "block_end_string"):
        if args.get(k):
            opts[k] = str(args[k])
    rendered = ctx.templar.render_file(text, scope, path, **opts)
    nl = args.get("newline_sequence")
    if nl and nl != "\n":
        rendered = rendered.replace("\n", nl.encode().decode("unicode_escape"))
    r = put_content(ctx, dest, rendered.encode("utf-8"), args.get("mode"), args.get("owner"),
                    args.get("group"), force=bool_arg(args.get("force"), True),
                    backup=bool_arg(args.get("backup")), validate=args.get("validate"), st=st)
    r.data["src"] = path
    return r

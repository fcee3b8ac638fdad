"""file: directories, empty files, symlinks, removal, and mode/owner/group.

``state``: file (default; must exist), directory (``mkdir -p``), absent,
touch (creates; updates times unless ``modification_time/access_time:
preserve``), link (``src`` -> ``path``), hard.  ``recurse`` applies
mode/owner/group below a directory.
"""
from __future__ import annotations

from labctl.engine.context import ModuleError, TaskResult

from ._util import apply_attrs, bool_arg, path_arg, q, remote_stat, sh

ARGS = {"path", "dest", "name", "state", "mode", "owner", "group", "recurse", "src", "force",
        "follow", "modification_time", "access_time", "modification_time_format",
        "access_time_format", "attributes", "seuser", "serole", "setype", "selevel", "unsafe_writes"}


def run(ctx, args):
    path = path_arg(args, "path", "dest", "name")
    st = remote_stat(ctx, path)
    state = args.get("state") or ("directory" if args.get("recurse") else
                                  ("file" if st is None or st["type"] != "directory" else "directory"))
    mode, owner, group = args.get("mode"), args.get("owner"), args.get("group")
    recurse = bool_arg(args.get("recurse"))
    data = {"path": path, "state": state}
    before = {"path": path, "state": "absent" if st is None else st["type"]}
    diff = None

    if state == "absent":
        if st is None:
            return TaskResult(changed=False, data={**data, "state": "absent"})
        if not ctx.check_mode:
            sh(ctx, f"rm -rf -- {q(path)}", f"remove {path}")
        diff = {"before": before, "after": {"path": path, "state": "absent"}}
        return TaskResult(changed=True, diff=diff if ctx.diff_mode else None, data=data)

    changed = False
    if state == "directory":
        if st is not None and st["type"] != "directory":
            if st["type"] == "link" and remote_stat(ctx, path, follow=True) and \
                    remote_stat(ctx, path, follow=True)["type"] == "directory":
                st = remote_stat(ctx, path, follow=True)
            else:
                raise ModuleError(f"{path} exists and is a {st['type']}, not a directory")
        if st is None:
            changed = True
            if not ctx.check_mode:
                sh(ctx, f"mkdir -p -- {q(path)}", f"mkdir {path}")
                st = remote_stat(ctx, path)
    elif state == "file":
        if st is None:
            raise ModuleError(f"file {path} is absent, cannot continue (use state=touch to create it)")
    elif state == "touch":
        preserve = args.get("modification_time") == "preserve" and args.get("access_time") == "preserve"
        if st is None:
            changed = True
            if not ctx.check_mode:
                sh(ctx, f"touch -- {q(path)}", f"touch {path}")
                st = remote_stat(ctx, path)
        elif not preserve:
            changed = True
            if not ctx.check_mode:
                sh(ctx, f"touch -- {q(path)}", f"touch {path}")
    elif state in ("link", "hard"):
        src = args.get("src")
        if not src:
            raise ModuleError("state=link needs 'src'")
        force = bool_arg(args.get("force"))
        if state == "link":
            if st is not None and st["type"] == "link" and st["target"] == str(src):
                pass
            elif st is not None and st["type"] != "link" and not force:
                raise ModuleError(f"{path} exists and is a {st['type']}; use force=yes to replace it")
            else:
                changed = True
                if not ctx.check_mode:
                    flag = "-sfn" if st is None or st["type"] == "link" else "-sfn"
                    if st is not None and st["type"] == "directory":
                        sh(ctx, f"rm -rf -- {q(path)}")
                    sh(ctx, f"ln {flag} -- {q(str(src))} {q(path)}", f"link {path}")
        else:
            same = ctx.conn.run(f"[ {q(path)} -ef {q(str(src))} ]").rc == 0
            if not same:
                changed = True
                if not ctx.check_mode:
                    sh(ctx, f"ln -f -- {q(str(src))} {q(path)}", f"hard link {path}")
        if state == "link":
            # attributes of a symlink apply to its target; only set them when asked
            st = remote_stat(ctx, path, follow=True) if (mode or owner or group) else st
    else:
        raise ModuleError(f"unsupported state {state!r} (file, directory, absent, touch, link, hard)")

    attrs = []
    if st is not None and (mode or owner or group):
        attrs = apply_attrs(ctx, path, st, mode, owner, group, recurse=recurse and state == "directory")
    elif st is None and ctx.check_mode and (mode or owner or group):
        attrs = []
    changed = changed or bool(attrs)
    if changed and ctx.diff_mode:
        diff = {"before": before, "after": {"path": path, "state": state,
                                            **({"changes": attrs} if attrs else {})}}
    final = remote_stat(ctx, path) if (changed and not ctx.check_mode) else st
    if final is not None and final["type"] == "link" and state != "link":
        final = remote_stat(ctx, path, follow=True)
    if final:
        data.update({"mode": "%04o" % final["mode"], "owner": final["owner"], "group": final["group"]})
    return TaskResult(changed=changed, diff=diff, data=data)

"""include_vars: load variables from a YAML file (role ``vars/`` or playbook dir) into the host's vars."""
from __future__ import annotations

from labctl.engine.context import ModuleError, TaskResult
from labctl.inventory.yamlsrc import YamlSourceError, load_yaml

ARGS = {"file", "_raw_params", "name", "dir"}


def run(ctx, args):
    fname = args.get("file") or args.get("_raw_params")
    if not fname:
        raise ModuleError("include_vars needs a file name")
    path = ctx.find_file(str(fname), "vars")
    try:
        data = load_yaml(path) or {}
    except YamlSourceError as e:
        raise ModuleError(str(e)) from None
    if not isinstance(data, dict):
        raise ModuleError(f"{path}: must be a mapping")
    if args.get("name"):
        data = {str(args["name"]): data}
    return TaskResult(changed=False, data={"ansible_facts": data, "ansible_included_var_files": [path]})

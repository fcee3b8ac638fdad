"""Run one module directly with the local connection (shared by the module tests)."""
import json

from labctl.connections import LocalConnection
from labctl.engine.context import ModuleError, TaskContext
from labctl.engine.loader import find_module
from labctl.engine.templating import Scope, Templar, TemplateError


def run_module(name, args, tmp, check=False, diff=False, vars=None, search_dirs=()):
    templar = Templar()
    scope = Scope(templar, dict(vars or {}, inventory_hostname="testhost"))
    ctx = TaskContext(conn=LocalConnection("testhost"), host="testhost", vars=scope, check_mode=check,
                      diff_mode=diff, templar=templar, search_dirs=list(search_dirs) or [str(tmp)])
    rendered = templar.render(args, scope)
    try:
        return find_module(name).run(ctx, rendered).to_dict()
    except (ModuleError, TemplateError) as e:
        return {"failed": True, "msg": str(e), "changed": False}


def normalize(obj, tmp):
    """Replace the tmp dir with {tmp} and drop volatile keys so results can be compared."""
    text = json.dumps(obj, sort_keys=True, default=str).replace(str(tmp), "{tmp}")
    data = json.loads(text)
    for k in ("delta", "elapsed", "mtime", "checksum", "uid", "gid", "owner", "group", "pw_name", "gr_name"):
        _drop(data, k)
    return data


def _drop(d, key):
    if isinstance(d, dict):
        d.pop(key, None)
        for v in d.values():
            _drop(v, key)
    elif isinstance(d, list):
        for v in d:
            _drop(v, key)

"""Running one task on one host (in a worker thread): loops, conditions, retries, the module call."""
from __future__ import annotations

import os
import time
import traceback

from labctl.connections import UnreachableError

from .become import BecomeConnection
from .context import ModuleError, TaskContext, TaskResult
from .filters import to_bool as _truthy
from .loader import find_module
from .model import Task
from .templating import Scope, TemplateError
from .variables import OMIT


class HostExecMixin:
    """The per-host half of the Runner."""

    def _msg(self, t: Task, e) -> str:
        return f"{t.where}: task '{t.display_name()}': {e}"

    def _exec(self, t: Task, h, extra):
        """Run ``t`` on host ``h``; returns (status, result dict)."""
        scope = self.scope(h, t, extra)
        try:
            if t.loop is None:
                res = self._exec_one(t, h, scope)
            else:
                items = self._loop_items(t, scope)
                results = []
                loop_facts: dict = {}
                for idx, item in enumerate(items):
                    lv = self._loop_vars(t, item, idx, len(items))
                    r = self._exec_one(t, h, scope.child({**loop_facts, **lv}))
                    if t.action in ("set_fact", "include_vars") and isinstance(r.get("ansible_facts"), dict) \
                            and not r.get("failed") and not r.get("skipped"):
                        loop_facts.update(r["ansible_facts"])
                    loop_var = t.loop_control.get("loop_var", "item")
                    r[loop_var] = item
                    r["ansible_loop_var"] = loop_var
                    label = t.loop_control.get("label")
                    if label is not None:
                        try:
                            r["_label"] = self.templar.render(label, scope.child(lv))
                        except TemplateError:
                            pass
                    results.append(r)
                    self.emit({"event": "item_result", "host": h, "task": self.title(t), "action": t.action,
                               "status": _status(r), "item": r.get("_label", item),
                               "result": {"censored": "hidden"} if t.no_log else _public(r)})
                    pause = t.loop_control.get("pause")
                    if pause:
                        time.sleep(float(pause))
                res = {"results": results, "changed": any(r.get("changed") for r in results),
                       "msg": "All items completed", "skipped": bool(results) and all(r.get("skipped") for r in results)}
                if any(r.get("failed") for r in results):
                    res["failed"] = True
                    res["msg"] = "One or more items failed"
                if loop_facts:
                    res["ansible_facts"] = loop_facts
                if not results:
                    res["skipped"] = True
                    res["skipped_reason"] = "No items in the list"
            return _status(res), res
        except UnreachableError as e:
            return "unreachable", {"msg": str(e), "unreachable": True}
        except TemplateError as e:
            return "failed", {"msg": self._msg(t, e)}

    def _loop_items(self, t, scope):
        kind = t.loop_control.get("_kind", "loop")
        items = self.templar.render(t.loop, scope)
        if isinstance(items, str) and kind in ("loop", "with_list", "with_items"):
            items = [items] if kind != "loop" else None
            if items is None:
                raise TemplateError(f"loop must be a list, got a string: {t.loop!r}")
        if items is None:
            items = []
        if kind == "with_dict" or (kind == "loop" and isinstance(items, dict)):
            if kind == "loop":
                raise TemplateError(f"loop needs a list, got a dict (use '| dict2items'): {t.loop!r}")
            items = [{"key": k, "value": v} for k, v in items.items()]
        elif kind in ("with_items", "with_flattened"):
            flat = []
            for x in items:
                flat.extend(x if isinstance(x, list) else [x])
            items = flat
        elif kind == "with_sequence":
            items = _sequence(items)
        elif kind == "with_indexed_items":
            items = [[i, x] for i, x in enumerate(items)]
        elif kind == "with_together":
            import itertools
            items = [list(x) for x in itertools.zip_longest(*items)]
        elif kind == "with_nested":
            import itertools
            items = [list(x) for x in itertools.product(*items)]
        elif kind == "with_fileglob":
            import glob
            pats = items if isinstance(items, list) else [items]
            items = sorted(p for pat in pats for p in glob.glob(pat if os.path.isabs(pat) else
                                                                  os.path.join(self.playbook_dir, "files", pat)))
        if not isinstance(items, (list, tuple)):
            raise TemplateError(f"loop must be a list, got {type(items).__name__}")
        return list(items)

    def _loop_vars(self, t, item, idx, n):
        lc = t.loop_control
        out = {lc.get("loop_var", "item"): item, "ansible_loop_var": lc.get("loop_var", "item")}
        if lc.get("index_var"):
            out[lc["index_var"]] = idx
        if lc.get("extended") is not False:
            out["ansible_loop"] = {"index": idx + 1, "index0": idx, "first": idx == 0,
                                   "last": idx == n - 1, "length": n, "revindex": n - idx,
                                   "revindex0": n - idx - 1}
        return out

    def _render_args(self, t, scope, raw_keys):
        out = {}
        for k, v in t.args.items():
            if k in raw_keys:
                out[k] = v
                continue
            rv = self.templar.render(v, scope)
            if rv == OMIT:
                continue
            if isinstance(rv, dict):
                rv = {a: b for a, b in rv.items() if b != OMIT}
            out[k] = rv
        return out

    def _exec_one(self, t: Task, h, scope: Scope) -> dict:
        for cond in t.when:
            if not self.templar.evaluate(cond, scope):
                return {"changed": False, "skipped": True, "skip_reason": "Conditional result was False",
                        "false_condition": cond}
        mod = find_module(t.action)
        raw_keys = getattr(mod, "RAW_ARGS", ())
        args = self._render_args(t, scope, raw_keys)
        check = self.check if t.check_mode is None else _truthy(self.templar.render(t.check_mode, scope))
        diff = self.diff if t.diff is None else _truthy(self.templar.render(t.diff, scope))
        delegate = self.templar.render(t.delegate_to, scope) if t.delegate_to else None
        if delegate in ("localhost", "127.0.0.1") and "localhost" not in self.inventory.hosts:
            conn = self._local
        elif delegate:
            conn = self.conn(str(delegate), self.scope(str(delegate), None, None))
        else:
            conn = self.conn(h, scope)
        search = []
        if t.role is not None:
            search.append(t.role.path)
        search.append(self.playbook_dir)
        ctx = TaskContext(conn=conn, host=h, vars=scope, check_mode=check, diff_mode=diff,
                          templar=self.templar, task=t, search_dirs=search, warn=self.warn)
        become = t.become if t.become is not None else scope.get_raw("ansible_become")
        if become is not None and _truthy(self.templar.render(become, scope)):
            buser = self.templar.render(t.become_user or scope.get_raw("ansible_become_user") or "root", scope)
            cuser = getattr(conn, "user", None)
            if cuser is not None and cuser != buser:
                ctx.conn = conn = BecomeConnection(conn, buser, self.templar.render(
                    t.become_method or scope.get_raw("ansible_become_method") or "sudo", scope))
        if t.environment:
            env = self.templar.render(t.environment, scope)
            if isinstance(env, dict) and env:
                ctx.conn = _EnvConn(conn, {k: v for k, v in env.items() if v != OMIT})
        attempts = 1
        if t.until is not None:
            attempts = max(1, int(self.templar.render(t.retries, scope) or 1) + 1) if t.retries is not None else 4
        res = {}
        for attempt in range(attempts):
            try:
                tr = mod.run(ctx, args)
                if not isinstance(tr, TaskResult):
                    raise ModuleError(f"module {t.action} returned {type(tr).__name__}, not TaskResult")
                res = tr.to_dict()
            except ModuleError as e:
                res = {"changed": False, "failed": True, "msg": str(e)}
            except UnreachableError:
                raise
            except TemplateError as e:
                res = {"changed": False, "failed": True, "msg": self._msg(t, e)}
            except OSError as e:   # e.g. a file transfer to a directory that does not exist
                res = {"changed": False, "failed": True, "msg": f"{t.where}: {t.action}: {e.strerror or e}"
                       + (f": {e.filename}" if getattr(e, "filename", None) else "")}
            except Exception as e:
                res = {"changed": False, "failed": True,
                       "msg": f"{t.where}: module {t.action} crashed: {type(e).__name__}: {e}",
                       "exception": traceback.format_exc()}
            if delegate:
                res["delegated_to"] = str(delegate)
            res = self._apply_conditions(t, scope, res)
            if t.until is None:
                break
            rsc = scope.child({t.register: _public(res)} if t.register else {})
            rsc = rsc.child({k: v for k, v in res.items() if k not in rsc})  # allow bare result keys
            res["attempts"] = attempt + 1
            if self.templar.evaluate(t.until, rsc):
                break
            if attempt + 1 < attempts:
                time.sleep(float(self.templar.render(t.delay, scope) or 0))
        else:
            if t.until is not None:
                res["failed"] = True
                res.setdefault("msg", f"condition 'until: {t.until}' still false after {attempts} attempts")
        if "stdout" in res and "stdout_lines" not in res and isinstance(res["stdout"], str):
            res["stdout_lines"] = res["stdout"].splitlines()
        if "stderr" in res and "stderr_lines" not in res and isinstance(res["stderr"], str):
            res["stderr_lines"] = res["stderr"].splitlines()
        return res

    def _apply_conditions(self, t, scope, res):
        if t.changed_when is None and t.failed_when is None:
            return res
        sc = scope.child({t.register: _public(res)}) if t.register else scope
        if t.changed_when is not None:
            conds = t.changed_when if isinstance(t.changed_when, list) else [t.changed_when]
            res["changed"] = all(self.templar.evaluate(c, sc) for c in conds)
        if t.failed_when is not None:
            conds = t.failed_when if isinstance(t.failed_when, list) else [t.failed_when]
            res["failed_when_result"] = any(self.templar.evaluate(c, sc) for c in conds)
            res["failed"] = res["failed_when_result"]
        return res


class _EnvConn:
    """Wraps a connection to add ``environment:`` variables to every command."""

    def __init__(self, conn, env):
        self._c, self._env = conn, env

    def run(self, cmd, *, stdin=None, timeout=None, env=None):
        return self._c.run(cmd, stdin=stdin, timeout=timeout, env={**self._env, **(env or {})})

    def __getattr__(self, name):
        return getattr(self._c, name)


def _status(res: dict) -> str:
    if res.get("unreachable"):
        return "unreachable"
    if res.get("failed"):
        return "failed"
    if res.get("skipped") and not res.get("changed"):
        return "skipped"
    if res.get("changed"):
        return "changed"
    return "ok"


def _public(res):
    if not isinstance(res, dict):
        return res
    return {k: v for k, v in res.items() if not k.startswith("_")}


def _sequence(spec) -> list[str]:
    """with_sequence: ``start=1 end=5 stride=1 format=n%02d`` or ``count=3`` (or ``1-5``)."""
    if isinstance(spec, dict):
        kv = {k: str(v) for k, v in spec.items()}
    else:
        kv = {}
        for tok in str(spec).split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                kv[k] = v
            elif "-" in tok:
                kv["start"], kv["end"] = tok.split("-", 1)
            else:
                kv["end"] = tok
    start = int(kv.get("start", "1"), 0)
    stride = int(kv.get("stride", "1"), 0)
    if "count" in kv:
        end = start + (int(kv["count"], 0) - 1) * stride
    else:
        end = int(kv.get("end", start), 0)
    fmt = kv.get("format", "%d")
    step = stride if stride else 1
    return [fmt % i for i in range(start, end + (1 if step > 0 else -1), step)]

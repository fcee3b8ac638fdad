"""Run loaded plays against an inventory: Ansible's linear strategy.

Each task runs on all active hosts of the play in parallel (a thread pool of
``forks`` workers) and the next task starts when all hosts have finished it.
A host that fails leaves the play (and later plays); an unreachable host
leaves the run.  Handlers run after pre_tasks, after roles+tasks and after
post_tasks (and at ``meta: flush_handlers``), once each, in definition order,
for the hosts that notified them with a changed task.

This file is the orchestration (plays, blocks, includes, handlers, results);
:mod:`.variables` builds what a task sees (precedence documented there) and
:mod:`.hostexec` runs one task on one host.
"""
from __future__ import annotations

import os
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed

from labctl.connections import LocalConnection, UnreachableError
from labctl.connections import connect as default_connect

from . import facts as facts_mod
from .errors import PlaybookError
from .filters import to_bool as _truthy
from .hostexec import HostExecMixin, _public
from .loader import INHERITED, Loader
from .model import Play, Task
from .results import HostState, PlayResult
from .templating import Scope, Templar, TemplateError, is_template
from .variables import VariablesMixin, _HostVars

CONN_VARS = ("ansible_connection", "ansible_host", "ansible_port", "ansible_user",
             "ansible_ssh_private_key_file", "ansible_private_key_file", "ansible_password",
             "ansible_ssh_pass", "ansible_ssh_timeout", "ansible_timeout", "ansible_ssh_user",
             "ansible_ssh_port", "ansible_python_interpreter", "labctl_ssh_channel_timeout")


class Runner(VariablesMixin, HostExecMixin):
    def __init__(self, playbook_path, inventory, extra_vars=None, limit=None, tags=None,
                 skip_tags=None, check=False, diff=False, forks=10, connection_factory=None,
                 callback=None, start_at_task=None):
        self.playbook_path = os.path.abspath(str(playbook_path))
        self.playbook_dir = os.path.dirname(self.playbook_path)
        self.inventory = inventory
        self.extra_vars = dict(extra_vars or {})
        self.limit = limit
        self.tags = set(_tags(tags)) or {"all"}
        self.skip_tags = set(_tags(skip_tags))
        self.check = check
        self.diff = diff
        self.forks = max(1, int(forks or 10))
        self.connection_factory = connection_factory or default_connect
        self.callback = callback
        self.templar = Templar()
        self.states: dict[str, HostState] = {}
        self.conns: dict = {}
        self._conn_lock = threading.Lock()
        self._local = LocalConnection("localhost")
        self._emit_lock = threading.Lock()
        self.events: list = []
        self._inv_cache: dict = {}
        self.hostvars = _HostVars(self)
        self.play: Play | None = None
        self.play_hosts: list = []
        self.start_at_task = start_at_task   # skip tasks until one with this name (or glob)
        self._vars_files_data: dict = {}

    # -- events ---------------------------------------------------------------
    def emit(self, event: dict):
        event.setdefault("ts", round(time.time(), 3))
        with self._emit_lock:
            self.events.append(event)
            if self.callback is not None:
                self.callback(event)

    def warn(self, msg):
        self.emit({"event": "warning", "msg": msg})

    # -- variables --------------------------------------------------------------
    # -- connections --------------------------------------------------------------
    def conn(self, host, scope: Scope):
        with self._conn_lock:
            c = self.conns.get(host)
        if c is not None:
            return c
        hv = {"inventory_hostname": host}
        for k in CONN_VARS:
            if k in scope:
                hv[k] = scope[k]
        if self.play is not None and self.play.connection:
            hv["ansible_connection"] = self.play.connection
        if hv.get("ansible_connection") == "local":
            c = LocalConnection(host)
        else:
            c = self.connection_factory(hv)
        with self._conn_lock:
            self.conns.setdefault(host, c)
            return self.conns[host]

    def close(self):
        for c in self.conns.values():
            try:
                c.close()
            except Exception:
                pass
        self.conns.clear()

    # -- top level ------------------------------------------------------------------
    def run(self) -> PlayResult:
        plays = Loader(self.playbook_path).load_playbook()
        started = time.monotonic()
        self.emit({"event": "playbook_start", "playbook": self.playbook_path, "check": self.check,
                   "diff": self.diff})
        self._pool = ThreadPoolExecutor(max_workers=self.forks, thread_name_prefix="labctl-host")
        try:
            for play in plays:
                self.run_play(play)
        except KeyboardInterrupt:
            # do not wait for running tasks: closing the connections ends their commands
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.close()
            raise
        except BaseException:
            self._pool.shutdown(wait=True)
            self.close()
            raise
        self._pool.shutdown(wait=True)
        self.close()
        stats = {h: dict(s.stats) for h, s in self.states.items()}
        duration = round(time.monotonic() - started, 3)
        self.emit({"event": "recap", "stats": stats, "duration": duration})
        return PlayResult(stats=stats, events=self.events, duration=duration)

    def _play_hosts(self, play):
        pattern = play.hosts
        if is_template(pattern) or isinstance(pattern, list):
            pattern = self.templar.render(pattern, Scope(self.templar, dict(self.extra_vars)))
        hosts = self.inventory.match(pattern, limit=self.limit)
        if not hosts:
            terms = self.inventory.split_pattern(pattern)
            if any(t in ("localhost", "127.0.0.1") for t in terms):
                hosts = ["localhost"]
        return hosts

    def run_play(self, play: Play):
        self.play = play
        hosts = self._play_hosts(play)
        for h in hosts:
            self.states.setdefault(h, HostState(h))
        hosts = [h for h in hosts if not self.states[h].failed and not self.states[h].unreachable]
        for h in hosts:
            self.states[h].ended = False
            self.states[h].notified = []
        self.emit({"event": "play_start", "play": play.name, "hosts": hosts, "file": play.file})
        if not hosts:
            self.emit({"event": "no_hosts", "play": play.name})
            return
        self._vars_files_data = {}
        pscope = Scope(self.templar, {**play.vars, **self.extra_vars})
        for vf in play.vars_files:
            try:
                name = self.templar.render(vf, pscope)
            except TemplateError as e:
                raise PlaybookError(f"{play.file}:{play.line}: vars_files {vf!r}: {e}") from None
            path = name if os.path.isabs(name) else os.path.join(os.path.dirname(play.file), name)
            self._vars_files_data.update(Loader(self.playbook_path)._vars_file(path))
        batches = _batches(hosts, play.serial)
        for batch in batches:
            self.play_hosts = batch
            if _truthy(play.gather_facts):
                self.gather_facts(batch)
            for section in (play.pre_tasks, play.tasks, play.post_tasks):
                self.run_list(section, batch, {})
                self.flush_handlers(batch)
        self.play = None

    # -- facts ----------------------------------------------------------------------
    def gather_facts(self, hosts):
        todo = [h for h in hosts if self.states[h].active and not self.states[h].facts]
        if not todo:
            return
        self.emit({"event": "task_start", "task": "Gathering Facts", "file": self.play.file,
                   "line": self.play.line, "handler": False})

        cache_dir = os.environ.get("LABCTL_FACT_CACHE")
        ttl = float(os.environ.get("LABCTL_FACT_CACHE_TIMEOUT", "3600"))

        def work(h):
            if cache_dir:
                cached = facts_mod.cache_load(cache_dir, h, ttl)
                if cached is not None:
                    return cached
            scope = self.scope(h, None, None)
            c = self.conn(h, scope)
            f = facts_mod.gather(c)
            if cache_dir:
                facts_mod.cache_save(cache_dir, h, f)
            return f

        futures = {self._pool.submit(work, h): h for h in todo}
        for fut in (list(futures) if self.forks == 1 else as_completed(futures)):  # forks=1: host order
            h = futures[fut]
            try:
                f = fut.result()
            except UnreachableError as e:
                self._record(h, None, "unreachable", {"msg": str(e), "unreachable": True})
                continue
            except Exception as e:
                self._record(h, None, "failed", {"msg": f"fact gathering failed: {e}"})
                continue
            self.states[h].facts = f
            self._record(h, None, "ok", {})

    # -- task lists -------------------------------------------------------------------
    def run_list(self, tasks, hosts, extra):
        for t in tasks:
            active = [h for h in hosts if self.states[h].active]
            if not active:
                return
            if t.action == "block":
                self.run_block(t, active, extra)
            elif t.action == "meta":
                self.run_meta(t, active, extra)
            elif not self.selected(t):
                continue
            elif self.start_at_task and not self._reached(t):
                continue
            elif t.action == "include_tasks":
                self.run_include(t, active, extra)
            else:
                self.run_task(t, active, extra)

    def _reached(self, t: Task) -> bool:
        import fnmatch
        names = {t.name or "", t.display_name()}
        if any(n == self.start_at_task or fnmatch.fnmatchcase(n, self.start_at_task) for n in names if n):
            self.start_at_task = None
            return True
        return False

    def selected(self, t: Task) -> bool:
        tags = set(str(x) for x in t.tags)
        if "always" in tags and "always" not in self.skip_tags:
            return True
        if tags & self.skip_tags or ("tagged" in self.skip_tags and tags) or \
                ("untagged" in self.skip_tags and not tags):
            return False
        if "never" in tags and not (tags - {"never"}) & self.tags:
            return False
        if "all" in self.tags:
            return True
        if "tagged" in self.tags and tags:
            return True
        if "untagged" in self.tags and not tags:
            return True
        return bool(tags & self.tags)

    def run_block(self, b: Task, hosts, extra):
        self.run_list(b.block, hosts, extra)
        if b.rescue:
            failed = [h for h in hosts if self.states[h].failed and not self.states[h].unreachable]
            for h in failed:
                st = self.states[h]
                st.failed = False
                st.stats["failed"] = max(0, st.stats["failed"] - 1)
                st.stats["rescued"] += 1
            if failed:
                self.run_list(b.rescue, failed, extra)
        if b.always:
            ran = [h for h in hosts if not self.states[h].unreachable and not self.states[h].ended]
            saved = {h: self.states[h].failed for h in ran}
            for h in ran:
                self.states[h].failed = False
            self.run_list(b.always, ran, extra)
            for h in ran:
                self.states[h].failed = self.states[h].failed or saved[h]

    def run_meta(self, t: Task, hosts, extra):
        what = t.args.get("_raw_params")
        targets = []
        for h in hosts:
            sc = self.scope(h, t, extra.get(h))
            try:
                if all(self.templar.evaluate(c, sc) for c in t.when):
                    targets.append(h)
            except TemplateError as e:
                self._record(h, t, "failed", {"msg": f"{t.where}: {e}"})
        if what == "flush_handlers":
            self.flush_handlers(hosts)
        elif what == "end_play":
            if targets:
                for h in self.play_hosts:
                    self.states[h].ended = True
        elif what in ("end_host", "end_batch"):
            for h in (targets if what == "end_host" else self.play_hosts):
                self.states[h].ended = True
        elif what == "clear_facts":
            for h in targets:
                self.states[h].facts = {}
        elif what == "clear_host_errors":
            for h in self.play_hosts:
                if not self.states[h].unreachable:
                    self.states[h].failed = False
        elif what == "reset_connection":
            for h in targets:
                c = self.conns.pop(h, None)
                if c:
                    c.close()

    def run_include(self, t: Task, hosts, extra):
        """include_tasks/include_role: the include's own ``when`` and loop decide per host."""
        if t.dynamic_file is None and t.loop is None:
            go = []
            for h in hosts:
                sc = self.scope(h, t, extra.get(h))
                try:
                    if all(self.templar.evaluate(c, sc) for c in t.when):
                        go.append(h)
                except TemplateError as e:
                    self.emit_task_start(t)
                    self._record(h, t, "failed", {"msg": self._msg(t, e)})
            if go:
                self.run_list(t.block, go, extra)
            return
        # dynamic: resolve file (and loop items) per host, group hosts by what they include
        groups: dict = {}
        loader = Loader(self.playbook_path)
        for h in hosts:
            sc = self.scope(h, t, extra.get(h))
            try:
                items = [None] if t.loop is None else self._loop_items(t, sc)
                for idx, item in enumerate(items):
                    isc = sc if t.loop is None else sc.child(self._loop_vars(t, item, idx, len(items)))
                    if not all(self.templar.evaluate(c, isc) for c in t.when):
                        continue
                    fname = self.templar.render(t.dynamic_file if t.dynamic_file is not None
                                                else t.args.get("_raw_params"), isc)
                    params = self.templar.render(t.include_params, isc)
                    if t.loop is not None:
                        params.update(self._loop_vars(t, item, idx, len(items)))
                    key = (str(fname), idx if t.loop is not None else None)
                    groups.setdefault(key, {})[h] = {**(extra.get(h) or {}), **params}
            except TemplateError as e:
                self.emit_task_start(t)
                self._record(h, t, "failed", {"msg": self._msg(t, e)})
        for (fname, _idx), per_host in groups.items():
            path = loader._resolve_task_file(fname, t.file, t.role)
            if path is None:
                for h in per_host:
                    self.emit_task_start(t)
                    self._record(h, t, "failed", {"msg": f"{t.where}: include_tasks: {fname!r} not found"})
                continue
            self.emit({"event": "include", "file": path, "hosts": list(per_host)})
            loader._play = self.play
            loader._seen_roles = {}
            from .loader import _Inherit
            inh = _Inherit(tags=t.tags, vars=t.vars, role=t.role,
                           keywords={k: getattr(t, k) for k in INHERITED})
            try:
                tasks = loader.load_task_file(path, inh)
            except PlaybookError as e:   # a dynamic include is only read now: fail its hosts
                self.emit_task_start(t)
                for h in per_host:
                    self._record(h, t, "failed", {"msg": str(e)})
                continue
            self.run_list(tasks, list(per_host), per_host)

    # -- handlers ---------------------------------------------------------------------
    def _handler_matches(self, handler: Task, name: str) -> bool:
        if handler.name == name or name in [str(x) for x in handler.listen]:
            return True
        return bool(handler.role and f"{handler.role.name} : {handler.name}" == name)

    def notify(self, host, t: Task, scope):
        for n in t.notify:
            try:
                name = self.templar.render(n, scope) if is_template(n) else n
            except TemplateError:
                name = n
            found = False
            for hd in self.play.handlers:
                if self._handler_matches(hd, str(name)):
                    found = True
                    if hd not in self.states[host].notified:
                        self.states[host].notified.append(hd)
            if not found:
                self.warn(f"{t.where}: notify: no handler named {name!r}")

    def flush_handlers(self, hosts):
        if self.play is None:
            return
        for _ in range(10):  # handlers may notify handlers
            ran = False
            for hd in self.play.handlers:
                targets = [h for h in hosts if self.states[h].active and hd in self.states[h].notified]
                if not targets:
                    continue
                for h in targets:
                    self.states[h].notified.remove(hd)
                ran = True
                self.run_task(hd, targets, {}, handler=True)
            if not ran:
                return

    # -- one task on many hosts -----------------------------------------------------------
    def emit_task_start(self, t: Task, handler=False):
        if getattr(self, "_last_started", None) is t:
            return
        self._last_started = t
        self.emit({"event": "task_start", "task": self.title(t), "action": t.action,
                   "file": t.file, "line": t.line, "handler": handler})

    def title(self, t: Task) -> str:
        """The task's display name, its name rendered with play-level variables when it can be."""
        cache = self.__dict__.setdefault("_titles", {})
        if t in cache:
            return cache[t]
        name = t.display_name()
        if t.name and is_template(t.name) and self.play_hosts:
            try:
                sc = self.scope(self.play_hosts[0], t, None)
                rendered = self.templar.render_string(str(t.name), sc)
                name = f"{t.role.name} : {rendered}" if t.role else str(rendered)
            except TemplateError:
                pass
        cache[t] = name
        return name

    def run_task(self, t: Task, hosts, extra, handler=False):
        self._last_started = None
        self.emit_task_start(t, handler)
        run_once = False
        if t.run_once:
            try:
                run_once = _truthy(self.templar.render(t.run_once, self.scope(hosts[0], t, extra.get(hosts[0]))))
            except TemplateError:
                run_once = True
        targets = hosts[:1] if run_once else hosts
        futures = {self._pool.submit(self._exec, t, h, extra.get(h)): h for h in targets}
        results = {}
        for fut in (list(futures) if self.forks == 1 else as_completed(futures)):  # forks=1: host order
            h = futures[fut]
            try:
                status, res = fut.result()
            except Exception as e:  # a bug in the engine or a module: fail the host, keep going
                status, res = "failed", {"msg": f"{t.where}: internal error: {type(e).__name__}: {e}",
                                         "exception": traceback.format_exc()}
            results[h] = (status, res)
            self._finish(t, h, status, res, extra.get(h))
        if self.play is not None and self.play.any_errors_fatal and \
                any(self.states[h].failed for h in results):
            for h in self.play_hosts:
                self.states[h].ended = True
        if run_once and results:
            status, res = results[targets[0]]
            for h in hosts[1:]:
                if t.register:
                    self.states[h].set_facts[t.register] = res
                facts_out = res.get("ansible_facts") if isinstance(res, dict) else None
                if t.action in ("set_fact", "include_vars") and facts_out:
                    self.states[h].set_facts.update(facts_out)
                if status == "changed" and t.notify:
                    self.notify(h, t, self.scope(h, t, extra.get(h)))

    def _finish(self, t, h, status, res, extra):
        st = self.states[h]
        if t.register and status != "unreachable":
            st.set_facts[t.register] = _public(res)
        facts_out = res.get("ansible_facts")
        if facts_out and status not in ("failed", "unreachable", "skipped"):
            if t.action in ("set_fact", "include_vars"):
                st.set_facts.update(facts_out)
            else:
                st.facts.update({(k if k.startswith("ansible_") else "ansible_" + k): v
                                 for k, v in facts_out.items()})
        ignored = False
        if status == "failed":
            try:
                ig = _truthy(self.templar.render(t.ignore_errors, self.scope(h, t, extra))) \
                    if t.ignore_errors else False
            except TemplateError:
                ig = False
            ignored = ig
        self._record(h, t, status, res, ignored=ignored)
        if status == "changed" and t.notify:
            self.notify(h, t, self.scope(h, t, extra))

    def _record(self, h, t, status, res, ignored=False):
        st = self.states[h]
        if status == "unreachable":
            st.unreachable = True
            st.stats["unreachable"] += 1
        elif status == "failed":
            if ignored:
                st.stats["ignored"] += 1
            else:
                st.failed = True
                st.stats["failed"] += 1
        elif status == "skipped":
            st.stats["skipped"] += 1
        else:
            st.stats["ok"] += 1
            if status == "changed":
                st.stats["changed"] += 1
        no_log = bool(t is not None and t.no_log and _truthy(t.no_log))
        self.emit({"event": "host_result", "host": h, "task": self.title(t) if t else "Gathering Facts",
                   "action": t.action if t else "gather_facts", "status": status, "ignored": ignored,
                   "result": {"censored": "output hidden (no_log: true)"} if no_log else _public(res),
                   "diff": None if no_log else res.get("diff")})

    # -- one task on one host (worker thread) ------------------------------------------------
def _tags(v):
    if not v:
        return []
    if isinstance(v, str):
        v = v.split(",")
    out = []
    for x in v:
        out.extend(s.strip() for s in str(x).split(",") if s.strip())
    return out


def _batches(hosts, serial):
    if not serial:
        return [hosts]
    s = str(serial).strip()
    if s.endswith("%"):
        n = max(1, int(len(hosts) * float(s[:-1]) / 100))
    else:
        n = int(s)
    n = max(1, n)
    return [hosts[i:i + n] for i in range(0, len(hosts), n)]

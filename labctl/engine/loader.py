"""Load playbooks, roles and task files into :mod:`labctl.engine.model` objects.

Everything is checked here, before anything runs on any host: YAML syntax,
the shape of plays and tasks, that every module exists and that its options
are known, that roles and imported files exist.  Problems raise
:class:`PlaybookError` with ``file:line``.

Blocks, ``import_tasks`` and roles hand their ``when``, ``tags``, ``vars`` and
other keywords down to the tasks inside them at load time, as Ansible does.
"""
from __future__ import annotations

import importlib
import importlib.util
import os

from labctl.inventory.yamlsrc import YamlSourceError, load_yaml

from .args import parse_args
from .errors import PlaybookError
from .model import Play, Task
from .roles import RolesMixin
from .templating import is_template

TASK_KEYWORDS = {
    "name", "when", "loop", "with_items", "with_list", "with_dict", "with_fileglob", "with_sequence",
    "with_together", "with_nested", "with_subelements", "with_indexed_items", "with_flattened",
    "loop_control", "register", "notify", "listen", "changed_when", "failed_when", "ignore_errors",
    "ignore_unreachable", "tags", "delegate_to", "delegate_facts", "run_once", "vars", "become",
    "become_user", "become_method", "become_flags", "check_mode", "diff", "no_log", "environment",
    "until", "retries", "delay", "args", "any_errors_fatal", "throttle", "timeout", "debugger",
    "collections", "module_defaults", "connection", "local_action", "action", "async", "poll",
    "block", "rescue", "always",
}
PLAY_KEYWORDS = {
    "name", "hosts", "vars", "vars_files", "vars_prompt", "gather_facts", "gather_subset",
    "gather_timeout", "fact_path", "become", "become_user", "become_method", "become_flags",
    "pre_tasks", "roles", "tasks", "post_tasks", "handlers", "serial", "strategy", "tags",
    "connection", "any_errors_fatal", "max_fail_percentage", "ignore_errors", "ignore_unreachable",
    "environment", "module_defaults", "collections", "order", "remote_user", "port", "check_mode",
    "diff", "no_log", "force_handlers", "run_once", "throttle", "timeout", "debugger",
}
ALIASES = {
    "systemd": "service", "systemd_service": "service", "sysvinit": "service",
    "include": "include_tasks", "ansible.posix.sysctl": "sysctl", "community.general.modprobe": "modprobe",
    "ansible.posix.synchronize": "synchronize",
}
ENGINE_ACTIONS = {"include_tasks", "import_tasks", "include_role", "import_role", "meta", "block",
                  "import_playbook"}
FREE_FORM = {"command", "shell", "raw", "script", "include_tasks", "import_tasks", "meta",
             "include_vars", "fail", "debug"}
# keywords inherited from a block/role/include by the tasks inside it
INHERITED = ("ignore_errors", "delegate_to", "run_once", "check_mode", "diff", "no_log",
             "environment", "become", "become_user", "become_method")


_SYNTAX_ENV = None
_SYNTAX_FILE_ENV = None


def _syntax_errors(value, wrap=False):
    """First Jinja2 syntax error in the strings of ``value`` (None if all parse)."""
    global _SYNTAX_ENV
    if _SYNTAX_ENV is None:
        from .templating import Templar
        _SYNTAX_ENV = Templar().env
    if isinstance(value, str):
        src = value
        if wrap and not is_template(value):
            src = "{{ (" + value + ") }}"
        elif wrap and value.strip().startswith("{{") and value.strip().endswith("}}"):
            src = value
        if not is_template(src):
            return None
        try:
            _SYNTAX_ENV.parse(src)
        except Exception as e:  # TemplateSyntaxError
            return f"template error in {value!r}: {getattr(e, 'message', e)}"
        return None
    if isinstance(value, dict):
        for v in value.values():
            err = _syntax_errors(v, wrap)
            if err:
                return err
    elif isinstance(value, list):
        for v in value:
            err = _syntax_errors(v, wrap)
            if err:
                return err
    return None


def _norm_defaults(md) -> dict:
    """module_defaults: {module: {option: value}} with module names normalized (groups are not supported)."""
    if not isinstance(md, dict):
        return {}
    return {normalize_module(str(k)): dict(v) for k, v in md.items() if isinstance(v, dict)}


def normalize_module(name: str) -> str:
    if name in ALIASES:
        return ALIASES[name]
    for prefix in ("ansible.builtin.", "ansible.legacy.", "ansible.posix.", "community.general."):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return ALIASES.get(name, name)


_module_cache: dict = {}


def find_module(name: str):
    """Import ``labctl.modules.<name>`` or return None if there is no such module."""
    if name in _module_cache:
        return _module_cache[name]
    mod = None
    if name.replace("_", "").isalnum():
        full = f"labctl.modules.{name}"
        if importlib.util.find_spec(full) is not None:
            mod = importlib.import_module(full)
            if not hasattr(mod, "run"):
                mod = None
    _module_cache[name] = mod
    return mod


class _Inherit:
    """What a task inherits from the blocks/roles/includes around it."""

    def __init__(self, when=(), tags=(), vars=None, role=None, keywords=None, include_params=None):
        self.when = list(when)
        self.tags = list(tags)
        self.vars = dict(vars or {})
        self.role = role
        self.keywords = dict(keywords or {})
        self.include_params = dict(include_params or {})

    def extend(self, when=None, tags=None, vars=None, role=None, keywords=None, include_params=None):
        kw = dict(self.keywords)
        kw.update(keywords or {})
        return _Inherit(self.when + _as_list(when), self.tags + _as_list(tags),
                        {**self.vars, **(vars or {})}, role if role is not None else self.role, kw,
                        {**self.include_params, **(include_params or {})})


def _as_list(v):
    if v is None:
        return []
    if isinstance(v, (list, tuple)):
        return list(v)
    if isinstance(v, str) and "," in v and not is_template(v):
        return [x.strip() for x in v.split(",") if x.strip()]
    return [v]


def _line(obj):
    return getattr(obj, "src_line", None)


class Loader(RolesMixin):
    def __init__(self, playbook_path):
        self.playbook_path = os.path.abspath(str(playbook_path))
        self.base = os.path.dirname(self.playbook_path)
        self.roles_paths = [os.path.join(self.base, "roles"), self.base]
        env_paths = os.environ.get("ANSIBLE_ROLES_PATH")
        if env_paths:
            self.roles_paths += [p for p in env_paths.split(":") if p]

    # -- helpers --------------------------------------------------------
    def _err(self, file, line, msg):
        where = f"{file}:{line}" if line else str(file)
        return PlaybookError(f"{where}: {msg}")

    def _yaml(self, path):
        try:
            return load_yaml(path)
        except YamlSourceError as e:
            raise PlaybookError(str(e)) from None

    def _vars_file(self, path):
        data = self._yaml(path)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise self._err(path, _line(data), "a variables file must be a mapping")
        return data

    # -- playbook -------------------------------------------------------
    def load_playbook(self, path=None) -> list[Play]:
        path = path or self.playbook_path
        if not os.path.isfile(path):
            raise PlaybookError(f"{path}: playbook not found")
        data = self._yaml(path)
        if data is None:
            return []
        if not isinstance(data, list):
            raise self._err(path, _line(data), "a playbook must be a list of plays")
        plays = []
        for item in data:
            if not isinstance(item, dict):
                raise self._err(path, _line(data), "each play must be a mapping")
            if "import_playbook" in item or "ansible.builtin.import_playbook" in item:
                sub = item.get("import_playbook") or item.get("ansible.builtin.import_playbook")
                plays.extend(self.load_playbook(os.path.join(os.path.dirname(path), str(sub))))
                continue
            plays.append(self.load_play(item, path))
        return plays

    def load_play(self, d, path) -> Play:
        line = _line(d)
        for k in d:
            if k not in PLAY_KEYWORDS:
                raise self._err(path, line, f"unknown play keyword {k!r}")
        if "hosts" not in d:
            raise self._err(path, line, "play has no 'hosts'")
        pvars = d.get("vars") or {}
        if not isinstance(pvars, dict):
            raise self._err(path, line, "play 'vars' must be a mapping")
        for vf in _as_list(d.get("vars_files")):
            if isinstance(vf, str) and not is_template(vf):
                full = vf if os.path.isabs(vf) else os.path.join(os.path.dirname(path), vf)
                if not os.path.isfile(full):
                    raise self._err(path, line, f"vars_files: {vf!r} not found")
                self._vars_file(full)  # syntax check now, before anything runs
        play = Play(name=str(d.get("name") or d["hosts"]), hosts=d["hosts"], file=path, line=line,
                    vars=dict(pvars), vars_files=_as_list(d.get("vars_files")),
                    gather_facts=d.get("gather_facts", True), serial=d.get("serial"),
                    connection=d.get("connection"), tags=_as_list(d.get("tags")),
                    any_errors_fatal=bool(d.get("any_errors_fatal", False)))
        keywords = {k: d[k] for k in INHERITED if k in d}
        if d.get("module_defaults"):
            keywords["_module_defaults"] = _norm_defaults(d["module_defaults"])
        inh = _Inherit(tags=play.tags, keywords=keywords)
        self._play = play
        self._seen_roles = {}
        play.pre_tasks = self.load_tasks(d.get("pre_tasks"), path, inh, "pre_tasks")
        role_blocks = []
        roles_spec = d.get("roles") or []
        if not isinstance(roles_spec, list):
            raise self._err(path, line, "play 'roles' must be a list")
        for spec in roles_spec:
            blk = self.role_block(spec, path, _line(roles_spec), inh)
            if blk is not None:
                role_blocks.append(blk)
        play.tasks = role_blocks + self.load_tasks(d.get("tasks"), path, inh, "tasks")
        play.post_tasks = self.load_tasks(d.get("post_tasks"), path, inh, "post_tasks")
        play.handlers = self.load_tasks(d.get("handlers"), path, inh, "handlers") + play.handlers
        self._check_notify(play)
        return play

    def _check_notify(self, play):
        known = set()
        for h in play.handlers:
            if h.name:
                known.add(h.name)
                if h.role:
                    known.add(f"{h.role.name} : {h.name}")
            known.update(str(x) for x in h.listen)

        def walk(tasks):
            for t in tasks:
                for n in t.notify:
                    if isinstance(n, str) and not is_template(n) and n not in known:
                        raise self._err(t.file, t.line, f"notify: no handler named or listening to {n!r}")
                walk(t.block)
                walk(t.rescue)
                walk(t.always)
        walk(play.pre_tasks + play.tasks + play.post_tasks + play.handlers)

    # -- tasks ------------------------------------------------------------
    def load_task_file(self, path, inh, section="tasks"):
        data = self._yaml(path)
        if data is None:
            return []
        if not isinstance(data, list):
            raise self._err(path, _line(data), f"a {section} file must be a list of tasks")
        return self.load_tasks(data, path, inh, section)

    def load_tasks(self, data, file, inh, section="tasks"):
        if data is None:
            return []
        if not isinstance(data, list):
            raise self._err(file, _line(data), f"'{section}' must be a list of tasks")
        out = []
        for d in data:
            if not isinstance(d, dict):
                raise self._err(file, _line(data), f"each task must be a mapping, got {d!r}")
            out.extend(self.load_task(d, file, inh, section))
        return out

    def _resolve_task_file(self, name, file, role):
        if os.path.isabs(name):
            return name
        cands = []
        if role is not None:
            cands.append(os.path.join(role.path, "tasks", name))
        cands += [os.path.join(os.path.dirname(file), name), os.path.join(self.base, name)]
        for c in cands:
            if os.path.isfile(c):
                return c
        return None

    def load_task(self, d, file, inh, section="tasks"):
        line = _line(d)
        if "block" in d:
            for k in d:
                if k not in TASK_KEYWORDS:
                    raise self._err(file, line, f"unknown keyword {k!r} in block")
            bkw = {k: d[k] for k in INHERITED if k in d}
            if d.get("module_defaults"):
                bkw["_module_defaults"] = {**inh.keywords.get("_module_defaults", {}),
                                           **_norm_defaults(d["module_defaults"])}
            binh = inh.extend(when=d.get("when"), tags=d.get("tags"), vars=d.get("vars"), keywords=bkw)
            t = Task(action="block", name=d.get("name"), file=file, line=line, role=inh.role)
            t.block = self.load_tasks(d.get("block"), file, binh)
            t.rescue = self.load_tasks(d.get("rescue"), file, binh)
            t.always = self.load_tasks(d.get("always"), file, binh)
            return [t]
        action, raw = None, None
        for k, v in d.items():
            if k in TASK_KEYWORDS and k not in ("local_action", "action"):
                continue
            if k in ("local_action", "action"):
                if isinstance(v, dict):
                    v = dict(v)
                    mod = v.pop("module", None)
                    if not mod:
                        raise self._err(file, line, f"{k}: missing 'module'")
                    action, raw = str(mod), v
                else:
                    parts = str(v).split(None, 1)
                    action, raw = parts[0], parts[1] if len(parts) > 1 else ""
                continue
            if action is not None:
                raise self._err(file, line, f"task has more than one module or unknown keyword: "
                                            f"{action!r} and {k!r}")
            action, raw = k, v
        if action is None:
            raise self._err(file, line, "task has no module (e.g. 'command:', 'copy:')")
        action = normalize_module(str(action))
        try:
            args = parse_args(action, raw, free_form=action in FREE_FORM)
        except ValueError as e:
            raise self._err(file, line, f"{action}: {e}") from None
        defaults = dict(inh.keywords.get("_module_defaults", {}))
        if d.get("module_defaults"):
            defaults.update(_norm_defaults(d["module_defaults"]))
        if defaults.get(action) and isinstance(args, dict):
            args = {**defaults[action], **args}
        extra = d.get("args")
        if extra:
            if not isinstance(extra, dict):
                raise self._err(file, line, "'args' must be a mapping")
            args.update(extra)
        loop = d.get("loop")
        loop_kind = "loop" if "loop" in d else None
        for lk in ("with_items", "with_list", "with_dict", "with_fileglob", "with_together",
                   "with_nested", "with_subelements", "with_indexed_items", "with_flattened",
                   "with_sequence"):
            if lk in d:
                loop, loop_kind = d[lk], lk
        lc = d.get("loop_control") or {}
        if not isinstance(lc, dict):
            raise self._err(file, line, "'loop_control' must be a mapping")
        tvars = d.get("vars") or {}
        if not isinstance(tvars, dict):
            raise self._err(file, line, "task 'vars' must be a mapping")
        kw = {k: v for k, v in inh.keywords.items() if not k.startswith("_")}
        kw.update({k: d[k] for k in INHERITED if k in d})
        if "local_action" in d:
            kw["delegate_to"] = "localhost"
        t = Task(action=action, args=args, name=d.get("name"), file=file, line=line,
                 when=inh.when + _as_list(d.get("when")), loop=loop, loop_control=dict(lc),
                 register=d.get("register"), notify=_as_list(d.get("notify")),
                 listen=_as_list(d.get("listen")), changed_when=d.get("changed_when"),
                 failed_when=d.get("failed_when"), tags=inh.tags + _as_list(d.get("tags")),
                 vars={**inh.vars, **tvars}, until=d.get("until"), retries=d.get("retries", 3),
                 delay=d.get("delay", 5), role=inh.role, include_params=dict(inh.include_params),
                 **{k: v for k, v in kw.items()})
        if loop_kind and loop_kind != "loop":
            t.loop_control["_kind"] = loop_kind
        if t.register is not None and (not isinstance(t.register, str) or not t.register.isidentifier()):
            raise self._err(file, line, f"register: {t.register!r} is not a valid variable name")
        if section == "handlers" and not t.name and not t.listen:
            raise self._err(file, line, "a handler needs a 'name' or 'listen'")
        raw_keys = getattr(find_module(t.action), "RAW_ARGS", ()) if t.action not in ENGINE_ACTIONS else ()
        err = (_syntax_errors({k: v for k, v in t.args.items() if k not in raw_keys})
               or _syntax_errors(_as_list(d.get("when")), wrap=True)
               or _syntax_errors(d.get("changed_when"), wrap=True)
               or _syntax_errors(d.get("failed_when"), wrap=True)
               or _syntax_errors([t.loop, t.name]))
        if err:
            raise self._err(file, line, err)
        return self._special(t, d, file, line, inh)

    def _special(self, t, d, file, line, inh):
        a = t.action
        if a == "meta":
            what = t.args.get("_raw_params")
            if what not in ("flush_handlers", "noop", "end_play", "end_host", "clear_facts",
                            "refresh_inventory", "reset_connection", "clear_host_errors", "end_batch"):
                raise self._err(file, line, f"meta: unsupported action {what!r}")
            return [t]
        if a in ("import_tasks", "include_tasks"):
            fname = t.args.get("_raw_params") or t.args.get("file")
            if not fname:
                raise self._err(file, line, f"{a}: missing file name")
            params = {k: v for k, v in t.args.items() if k not in ("_raw_params", "file", "apply")}
            if a == "import_tasks" or (not is_template(fname) and t.loop is None):
                path = self._resolve_task_file(str(fname), file, t.role)
                if path is None:
                    raise self._err(file, line, f"{a}: file {fname!r} not found")
                if a == "import_tasks":
                    iinh = inh.extend(when=d.get("when"), tags=d.get("tags"), vars=d.get("vars"),
                                      include_params=params,
                                      keywords={k: d[k] for k in INHERITED if k in d})
                    return self.load_task_file(path, iinh)
                # static include: the include's own when is checked once, then its tasks run
                iinh = _Inherit(tags=t.tags, vars=t.vars, role=t.role, include_params={**t.include_params, **params},
                                keywords={k: getattr(t, k) for k in INHERITED})
                t.block = self.load_task_file(path, iinh)
                t.action = "include_tasks"
                return [t]
            t.dynamic_file = fname
            t.include_params = {**t.include_params, **params}
            return [t]
        if a in ("import_role", "include_role"):
            name = t.args.get("name")
            if not name:
                raise self._err(file, line, f"{a}: missing 'name'")
            spec = {"role": name, **{k: v for k, v in (d.get("vars") or {}).items()}}
            rinh = inh.extend(when=d.get("when") if a == "import_role" else None, tags=d.get("tags"))
            role = self.load_role(spec, file, line, rinh, tasks_from=t.args.get("tasks_from", "main"),
                                  dedupe=False)
            if role is None:
                return []
            blk = self._role_as_block(role, file, line)
            if a == "include_role":
                t.block = [blk]
                t.action = "include_tasks"
                return [t]
            return [blk]
        mod = find_module(a)
        if mod is None:
            raise self._err(file, line, f"unknown module {a!r} (no labctl/modules/{a}.py)")
        allowed = getattr(mod, "ARGS", None)
        if allowed is not None:
            for k in t.args:
                if not str(k).startswith("_") and k not in allowed:
                    raise self._err(file, line, f"{a}: unsupported option {k!r} "
                                                f"(supported: {', '.join(sorted(allowed))})")
        self._check_local_source(t, file, line)
        return [t]

    def _check_local_source(self, t, file, line):
        """A template/copy ``src`` known at load time must exist; templates must parse."""
        kind = {"template": "templates", "copy": "files"}.get(t.action)
        src = t.args.get("src") if kind else None
        if not isinstance(src, str) or not src or is_template(src) or os.path.isabs(src):
            return
        dirs = ([t.role.path] if t.role is not None else []) + [self.base]
        found = None
        for base in dirs:
            for cand in (os.path.join(base, kind, src), os.path.join(base, src)):
                if os.path.exists(cand):
                    found = cand
                    break
            if found:
                break
        if found is None:
            raise self._err(file, line, f"{t.action}: src {src!r} not found in "
                                        f"{' or '.join(os.path.join(d, kind) for d in dirs)}")
        if kind == "templates" and os.path.isfile(found):
            global _SYNTAX_FILE_ENV
            if _SYNTAX_FILE_ENV is None:
                from .templating import Templar
                _SYNTAX_FILE_ENV = Templar().file_env
            try:
                with open(found, encoding="utf-8") as f:
                    _SYNTAX_FILE_ENV.parse(f.read())
            except UnicodeDecodeError:
                raise self._err(found, None, "template is not UTF-8 text") from None
            except Exception as e:  # TemplateSyntaxError
                raise self._err(found, getattr(e, "lineno", None),
                                f"template syntax error: {getattr(e, 'message', e)}") from None


def load_playbook(path) -> list[Play]:
    """Load and check a whole playbook; raise PlaybookError on any problem."""
    return Loader(path).load_playbook()

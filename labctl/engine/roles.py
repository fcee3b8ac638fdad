"""Loading roles: search path, defaults/vars/meta dependencies, tasks and handlers.

A role runs once per play unless its parameters differ or its meta says
``allow_duplicates`` (``import_role``/``include_role`` always run it); its
handlers join the play's handlers once.  A role's tasks become one block whose
children carry the role (for its variables and ``files/``/``templates/``
lookups) and the ``when``/``tags`` of the ``roles:`` entry.
"""
from __future__ import annotations

import os

from .model import Role, Task
from .templating import is_template


def _line(obj):
    return getattr(obj, "src_line", None)


class RolesMixin:
    """The role half of :class:`labctl.engine.loader.Loader`."""

    def find_role(self, name, file, line):
        if os.path.isabs(name) and os.path.isdir(name):
            return name
        for p in self.roles_paths:
            cand = os.path.join(p, name)
            if os.path.isdir(cand) and (os.path.isdir(os.path.join(cand, "tasks"))
                                        or os.path.isdir(os.path.join(cand, "meta"))
                                        or os.path.isdir(os.path.join(cand, "handlers"))
                                        or os.path.isdir(os.path.join(cand, "defaults"))):
                return cand
        raise self._err(file, line, f"role {name!r} not found (searched {', '.join(self.roles_paths)})")

    @staticmethod
    def _main(path, sub, base="main"):
        for ext in (".yml", ".yaml", ""):
            p = os.path.join(path, sub, base + ext)
            if os.path.isfile(p):
                return p
        return None

    def load_role(self, spec, file, line, inh, tasks_from="main", dedupe=True):
        """A Role with its dependencies loaded, or None if it already ran in this play."""
        from .loader import TASK_KEYWORDS
        if isinstance(spec, str):
            name, params, rline = spec, {}, line
        elif isinstance(spec, dict):
            name = spec.get("role") or spec.get("name")
            rline = _line(spec) or line
            if not name:
                raise self._err(file, rline, "role entry has no 'role' name")
            params = {k: v for k, v in spec.items()
                      if k not in ("role", "name", "tags", "when", "vars") and k not in TASK_KEYWORDS}
            params.update(spec.get("vars") or {})
        else:
            raise self._err(file, line, f"bad role entry {spec!r}")
        if is_template(name):
            raise self._err(file, rline, f"role name {name!r} must not be a template")
        path = self.find_role(str(name), file, rline)
        key = (path, repr(sorted(params.items(), key=lambda kv: str(kv[0]))), tasks_from)
        role = Role(name=os.path.basename(path), path=path, params=params)
        meta_file = self._main(path, "meta")
        meta = self._yaml(meta_file) if meta_file else None
        meta = meta if isinstance(meta, dict) else {}
        if dedupe and key in self._seen_roles and not meta.get("allow_duplicates"):
            return None
        self._seen_roles.setdefault(key, role)
        dfile = self._main(path, "defaults")
        role.defaults = self._vars_file(dfile) if dfile else {}
        vfile = self._main(path, "vars")
        role.vars = self._vars_file(vfile) if vfile else {}
        for dep in meta.get("dependencies") or []:
            dep_role = self.load_role(dep, meta_file, _line(meta.get("dependencies")), inh)
            if dep_role is not None:
                role.deps.append(dep_role)
        self._play.roles.append(role)
        role_when = spec.get("when") if isinstance(spec, dict) else None
        role_tags = spec.get("tags") if isinstance(spec, dict) else None
        rinh = inh.extend(when=role_when, tags=role_tags, role=role)
        tfile = self._main(path, "tasks", tasks_from)
        if tasks_from != "main" and tfile is None:
            raise self._err(file, rline, f"role {role.name}: tasks_from file {tasks_from!r} not found")
        role.tasks = self.load_task_file(tfile, rinh) if tfile else []
        hfile = self._main(path, "handlers")
        if hfile:
            role.handlers = self.load_task_file(hfile, inh.extend(role=role), section="handlers")
            seen = self.__dict__.setdefault("_handler_roles", {})
            if (id(self._play), path) not in seen:   # a role's handlers once per play
                seen[(id(self._play), path)] = True
                self._play.handlers.extend(role.handlers)
        return role

    def role_block(self, spec, file, line, inh):
        role = self.load_role(spec, file, line, inh)
        if role is None:
            return None
        return self._role_as_block(role, file, line)

    def _role_as_block(self, role, file, line):
        children = []
        for dep in role.deps:
            children.append(self._role_as_block(dep, file, line))
        children.extend(role.tasks)
        return Task(action="block", name=f"role {role.name}", file=file, line=line, block=children,
                    role=role)

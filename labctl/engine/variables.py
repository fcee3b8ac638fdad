"""The variables a task sees, in Ansible's precedence order (lowest first):

 1. role defaults (all roles of the play, then the task's role and its deps)
 2. inventory: group vars, group_vars/, host vars, host_vars/ (see labctl.inventory)
 3. facts (gather_facts)
 4. play ``vars``
 5. play ``vars_files``
 6. role vars (all roles of the play, then the task's role and its deps)
 7. block and task ``vars``
 8. ``include_vars``, ``set_fact`` and registered results
 9. role params (``roles: [{role: x, param: 1}]``) and include params
10. extra vars (``-e``)

plus the magic variables (``hostvars``, ``groups``, ``inventory_hostname``,
``ansible_play_hosts``, ``omit`` ...).  ``tests/unit/engine/test_engine_ansible_compat.py``
checks this order against ansible-playbook.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from .model import Task
from .results import HostState
from .templating import Scope

OMIT = "__omit_place_holder__labctl"


class _HostVars(Mapping):
    """``hostvars``: every host's variables (inventory, facts, play vars, set_fact), built on use."""

    def __init__(self, runner):
        self.runner = runner

    def __getitem__(self, host):
        if host not in self.runner.states and host not in self.runner.inventory.hosts:
            raise KeyError(host)
        return self.runner.scope(host, None, None)

    def __contains__(self, host):
        return host in self.runner.inventory.hosts or host in self.runner.states

    def __iter__(self):
        return iter(self.runner.inventory.hosts)

    def __len__(self):
        return len(self.runner.inventory.hosts)


class VariablesMixin:
    """Builds the :class:`Scope` of a host and task (used by the Runner)."""

    def _inv_vars(self, host):
        v = self._inv_cache.get(host)
        if v is None:
            if host in self.inventory.hosts:
                v = self.inventory.host_vars(host)
            else:  # implicit localhost
                v = {"inventory_hostname": host, "inventory_hostname_short": host,
                     "ansible_connection": "local", "group_names": [],
                     "groups": self.inventory.groups_dict()}
            self._inv_cache[host] = v
        return v

    def scope(self, host, task: Task | None, extra: dict | None) -> Scope:
        play = self.play
        st = self.states.get(host) or HostState(host)
        data: dict = {}
        if play is not None:
            for r in play.roles:
                data.update(r.defaults)
        if task is not None and task.role is not None:
            data.update(task.role.chain_defaults())
        data.update(self._inv_vars(host))
        if st.facts:
            data.update(st.facts)
            data["ansible_facts"] = {k[8:] if k.startswith("ansible_") else k: v
                                     for k, v in st.facts.items()}
        if play is not None:
            data.update(play.vars)
            data.update(self._vars_files_data)
            for r in play.roles:
                data.update(r.vars)
        if task is not None:
            if task.role is not None:
                data.update(task.role.chain_vars())
            data.update(task.vars)
        data.update(st.set_facts)
        if task is not None:
            if task.role is not None:
                data.update(task.role.params)
                data["role_name"] = task.role.name
                data["role_path"] = task.role.path
            data.update(task.include_params)
        if extra:
            data.update(extra)
        data.update(self.extra_vars)
        data.update({
            "hostvars": self.hostvars, "playbook_dir": self.playbook_dir,
            "inventory_dir": os.path.dirname(self.inventory.sources[0]) if self.inventory.sources else None,
            "ansible_play_hosts": [h for h in self.play_hosts if self.states[h].active],
            "ansible_play_hosts_all": list(self.play_hosts),
            "ansible_play_batch": [h for h in self.play_hosts if self.states[h].active],
            "play_hosts": [h for h in self.play_hosts if self.states[h].active],
            "ansible_check_mode": self.check, "ansible_diff_mode": self.diff,
            "ansible_run_tags": sorted(self.tags), "ansible_skip_tags": sorted(self.skip_tags),
            "omit": OMIT, "ansible_play_name": play.name if play else None,
            "ansible_version": {"full": "2.19.0", "major": 2, "minor": 19, "revision": 0,
                                "string": "2.19.0 (labctl)"},
        })
        return Scope(self.templar, data)

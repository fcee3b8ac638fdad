"""The loaded form of plays, roles and tasks (plain data; no execution here)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class Role:
    name: str
    path: str
    defaults: dict = field(default_factory=dict)
    vars: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    deps: list = field(default_factory=list)
    tasks: list = field(default_factory=list)
    handlers: list = field(default_factory=list)

    def chain_defaults(self) -> dict:
        out: dict = {}
        for d in self.deps:
            out.update(d.chain_defaults())
        out.update(self.defaults)
        return out

    def chain_vars(self) -> dict:
        out: dict = {}
        for d in self.deps:
            out.update(d.chain_vars())
        out.update(self.vars)
        return out


@dataclass(eq=False)
class Task:
    action: str                      # module name, or block/include_tasks/meta/include_role
    args: dict = field(default_factory=dict)
    name: str | None = None
    file: str = "?"
    line: int | None = None
    when: list = field(default_factory=list)
    loop: object = None
    loop_control: dict = field(default_factory=dict)
    register: str | None = None
    notify: list = field(default_factory=list)
    listen: list = field(default_factory=list)
    changed_when: object = None
    failed_when: object = None
    ignore_errors: object = False
    tags: list = field(default_factory=list)
    delegate_to: object = None
    run_once: object = False
    vars: dict = field(default_factory=dict)
    check_mode: object = None
    diff: object = None
    no_log: object = False
    environment: object = None
    become: object = None
    become_user: object = None
    become_method: object = None
    until: object = None
    retries: object = 3
    delay: object = 5
    role: Role | None = None
    # block / include children
    block: list = field(default_factory=list)
    rescue: list = field(default_factory=list)
    always: list = field(default_factory=list)
    include_params: dict = field(default_factory=dict)
    dynamic_file: object = None      # include_tasks with a templated file name or a loop

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)

    def display_name(self) -> str:
        base = self.name or self.action
        return f"{self.role.name} : {base}" if self.role else base


@dataclass(eq=False)
class Play:
    name: str
    hosts: object
    file: str
    line: int | None = None
    vars: dict = field(default_factory=dict)
    vars_files: list = field(default_factory=list)
    gather_facts: object = True
    pre_tasks: list = field(default_factory=list)
    tasks: list = field(default_factory=list)        # roles (as blocks) first, then tasks
    post_tasks: list = field(default_factory=list)
    handlers: list = field(default_factory=list)
    roles: list = field(default_factory=list)        # every Role instance, incl. dependencies
    serial: object = None
    connection: str | None = None
    tags: list = field(default_factory=list)
    any_errors_fatal: bool = False

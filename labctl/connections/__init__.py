"""Connections to managed hosts: ``connect(host_vars) -> Connection``.

``ansible_connection`` picks the kind: ``ssh`` (default; also ``paramiko``,
``smart``) or ``local``.  SSH uses ``ansible_host`` (else the inventory name),
``ansible_port``, ``ansible_user`` (default root),
``ansible_ssh_private_key_file``, ``ansible_password``/``ansible_ssh_pass``,
``ansible_ssh_timeout``/``ansible_timeout`` (connect timeout, default 10 s),
``labctl_ssh_channel_timeout`` (opening a session and starting the command helper;
default the connect timeout, at least 10 s) and
``ansible_python_interpreter`` (runs the command helper; default python3).
"""
from __future__ import annotations

from .base import CommandResult, Connection, UnreachableError
from .local import LocalConnection
from .ssh import SSHConnection

__all__ = ["connect", "Connection", "CommandResult", "UnreachableError",
           "LocalConnection", "SSHConnection"]


def connect(host_vars: dict) -> Connection:
    """A connection for a host from its (rendered) variables; SSH connects lazily."""
    name = host_vars.get("inventory_hostname") or host_vars.get("ansible_host") or "localhost"
    kind = str(host_vars.get("ansible_connection") or "ssh")
    if kind == "local":
        return LocalConnection(name)
    if kind not in ("ssh", "paramiko", "smart"):
        raise UnreachableError(f"{name}: unsupported ansible_connection {kind!r} (use ssh or local)")
    return SSHConnection(
        name,
        address=host_vars.get("ansible_host") or name,
        port=host_vars.get("ansible_port") or host_vars.get("ansible_ssh_port") or 22,
        user=host_vars.get("ansible_user") or host_vars.get("ansible_ssh_user") or "root",
        key_file=host_vars.get("ansible_ssh_private_key_file") or host_vars.get("ansible_private_key_file"),
        password=host_vars.get("ansible_password") or host_vars.get("ansible_ssh_pass"),
        connect_timeout=float(host_vars.get("ansible_ssh_timeout") or host_vars.get("ansible_timeout") or 10),
        python=host_vars.get("ansible_python_interpreter") or "python3",
        channel_timeout=host_vars.get("labctl_ssh_channel_timeout") or None,
    )

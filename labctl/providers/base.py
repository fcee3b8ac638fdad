"""What every provider offers labctl: create nodes, say how to reach them, destroy them.

A provider turns the inventory's hosts into running machines (network-namespace nodes,
Vagrant VMs ...) and reports an SSH endpoint for each, which the engine's connections use.
"""
from __future__ import annotations

from dataclasses import dataclass, field


class ProviderError(Exception):
    """A machine could not be created, reached or removed; the message is one line."""


@dataclass
class NodeSpec:
    """One machine the inventory asks for."""
    name: str
    address: str
    groups: list[str] = field(default_factory=list)
    vars: dict = field(default_factory=dict)


@dataclass
class Endpoint:
    """How the engine reaches a node over SSH."""
    name: str
    host: str
    port: int = 22
    user: str = "root"
    private_key_file: str = ""


@dataclass
class NodeStatus:
    name: str
    address: str
    state: str            # running | stopped | missing
    pid: int | None = None


class Provider:
    """Interface: subclasses implement every method."""

    name = "base"

    def create(self, nodes: list[NodeSpec]) -> list[Endpoint]:
        raise NotImplementedError

    def destroy(self) -> list[str]:
        """Remove everything; return one line per thing removed."""
        raise NotImplementedError

    def status(self) -> list[NodeStatus]:
        raise NotImplementedError

    def stop_node(self, name: str) -> None:
        raise NotImplementedError

    def start_node(self, name: str) -> None:
        raise NotImplementedError

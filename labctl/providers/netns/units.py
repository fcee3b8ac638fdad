"""Read systemd-style unit files, the service description shared by VMs and netns nodes.

Only what the lab's units use is understood: Description, ExecStart, Environment,
WorkingDirectory, Restart, RestartSec, TimeoutStopSec. Unknown keys are ignored, as
systemd does.
"""
from __future__ import annotations

import configparser
import shlex
from dataclasses import dataclass, field
from pathlib import Path


class UnitError(Exception):
    """A unit file is missing or malformed; the message names the file."""


@dataclass
class Unit:
    name: str
    exec_start: list[str]
    description: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    working_directory: str = "/"
    restart: str = "no"                 # no | always | on-failure
    restart_sec: float = 1.0
    timeout_stop_sec: float = 10.0


def _seconds(text: str, path: Path, key: str) -> float:
    text = text.strip().removesuffix("s")
    try:
        return float(text)
    except ValueError:
        raise UnitError(f"{path}: {key}={text!r} is not a number of seconds")


def parse_unit(path: Path) -> Unit:
    """Parse one `<name>.service` file."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive in systemd
    try:
        parser.read_string(path.read_text(), source=str(path))
    except (OSError, configparser.Error) as exc:
        raise UnitError(f"{path}: {str(exc).splitlines()[0]}")
    if not parser.has_section("Service") or not parser.get("Service", "ExecStart", fallback=""):
        raise UnitError(f"{path}: [Service] ExecStart= is required")
    svc = parser["Service"]
    env: dict[str, str] = {}
    for item in shlex.split(svc.get("Environment", "")):
        key, _, value = item.partition("=")
        env[key] = value
    restart = svc.get("Restart", "no").strip()
    if restart not in ("no", "always", "on-failure"):
        raise UnitError(f"{path}: Restart={restart} is not one of no, always, on-failure")
    return Unit(
        name=path.name.removesuffix(".service"),
        exec_start=shlex.split(svc["ExecStart"].lstrip("-@")),
        description=parser.get("Unit", "Description", fallback=""),
        environment=env,
        working_directory=svc.get("WorkingDirectory", "/"),
        restart=restart,
        restart_sec=_seconds(svc.get("RestartSec", "1"), path, "RestartSec"),
        timeout_stop_sec=_seconds(svc.get("TimeoutStopSec", "10"), path, "TimeoutStopSec"),
    )

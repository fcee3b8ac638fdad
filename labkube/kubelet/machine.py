"""Facts about this machine for the Node object: CPUs, memory, kernel, OS, ids."""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass

ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def _read(path: str, default: str = "") -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def memory_kib(meminfo: str | None = None) -> int:
    text = meminfo if meminfo is not None else _read("/proc/meminfo")
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def os_image(os_release: str | None = None) -> str:
    text = os_release if os_release is not None else (_read("/etc/os-release") or _read("/usr/lib/os-release"))
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return "Linux"


@dataclass
class MachineInfo:
    cpus: int
    memory_kib: int
    kernel: str
    os_image: str
    architecture: str
    machine_id: str
    boot_id: str
    system_uuid: str
    hostname: str

    @classmethod
    def probe(cls) -> "MachineInfo":
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = os.cpu_count() or 1
        machine_id = _read("/etc/machine-id")
        return cls(cpus=cpus, memory_kib=memory_kib(), kernel=platform.release(), os_image=os_image(),
                   architecture=ARCH.get(platform.machine(), platform.machine()), machine_id=machine_id,
                   boot_id=_read("/proc/sys/kernel/random/boot_id"),
                   system_uuid=_read("/sys/class/dmi/id/product_uuid") or machine_id,
                   hostname=platform.node())

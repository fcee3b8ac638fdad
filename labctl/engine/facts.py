"""A minimal fact set, gathered with one command per host.

Keys follow Ansible's names: ansible_hostname, ansible_fqdn, ansible_nodename,
ansible_system, ansible_kernel, ansible_architecture, ansible_distribution,
ansible_distribution_version, ansible_distribution_release,
ansible_distribution_major_version, ansible_os_family, ansible_processor_vcpus,
ansible_processor_count, ansible_memtotal_mb, ansible_default_ipv4 ({} when the
host has no default route, as in Ansible), ansible_all_ipv4_addresses,
ansible_python_version, ansible_service_mgr, ansible_env (subset).

Fact cache: with ``LABCTL_FACT_CACHE=DIR`` facts are kept in ``DIR/<host>.json``
and reused for ``LABCTL_FACT_CACHE_TIMEOUT`` seconds (default 3600).
"""
from __future__ import annotations

import json
import os
import shlex
import time

_SCRIPT = r"""
echo "hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
echo "fqdn=$(hostname -f 2>/dev/null || hostname)"
echo "system=$(uname -s)"
echo "kernel=$(uname -r)"
echo "arch=$(uname -m)"
echo "vcpus=$(nproc 2>/dev/null || echo 1)"
echo "memkb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "pyver=$(python3 -c 'import platform; print(platform.python_version())' 2>/dev/null)"
echo "pid1=$(cat /proc/1/comm 2>/dev/null)"
echo "home=$HOME"
echo "path=$PATH"
if [ -r /etc/os-release ]; then sed 's/^/os_/' /etc/os-release; fi
echo "defroute=$(ip -4 route show default 2>/dev/null | head -n1)"
ip -o -4 addr show 2>/dev/null | awk '{print "addr=" $2 " " $4}'
"""


def _unq(v):
    v = v.strip()
    try:
        parts = shlex.split(v)
        return parts[0] if parts else ""
    except ValueError:
        return v


def parse(text: str) -> dict:
    kv: dict = {}
    addrs = []
    for line in text.splitlines():
        k, sep, v = line.partition("=")
        if not sep:
            continue
        if k == "addr":
            iface, cidr = (v.split() + [""])[:2]
            addrs.append((iface, cidr))
        else:
            kv[k] = v
    os_id = _unq(kv.get("os_ID", "")).lower()
    family = {"debian": "Debian", "ubuntu": "Debian", "centos": "RedHat", "fedora": "RedHat",
              "rhel": "RedHat", "rocky": "RedHat", "almalinux": "RedHat", "alpine": "Alpine",
              "arch": "Archlinux"}.get(os_id, (os_id or "unknown").capitalize())
    version = _unq(kv.get("os_VERSION_ID", ""))
    dist_names = {"debian": "Debian", "ubuntu": "Ubuntu", "centos": "CentOS", "fedora": "Fedora",
                  "rhel": "RedHat", "alpine": "Alpine"}
    facts = {
        "ansible_hostname": kv.get("hostname", "").split(".")[0],
        "ansible_nodename": kv.get("hostname", ""),
        "ansible_fqdn": kv.get("fqdn", ""),
        "ansible_system": kv.get("system", ""),
        "ansible_kernel": kv.get("kernel", ""),
        "ansible_architecture": kv.get("arch", ""),
        "ansible_machine": kv.get("arch", ""),
        "ansible_distribution": dist_names.get(os_id, _unq(kv.get("os_NAME", "")) or "Unknown"),
        "ansible_distribution_version": version,
        "ansible_distribution_major_version": version.split(".")[0] if version else "",
        "ansible_distribution_release": _unq(kv.get("os_VERSION_CODENAME", "")),
        "ansible_os_family": family,
        "ansible_processor_vcpus": int(kv.get("vcpus") or 1),
        "ansible_processor_count": int(kv.get("vcpus") or 1),
        "ansible_memtotal_mb": int(kv.get("memkb") or 0) // 1024,
        "ansible_python_version": kv.get("pyver", ""),
        "ansible_service_mgr": "systemd" if kv.get("pid1") == "systemd" else (kv.get("pid1") or "unknown"),
        "ansible_env": {"HOME": kv.get("home", ""), "PATH": kv.get("path", "")},
        "ansible_all_ipv4_addresses": [c.split("/")[0] for i, c in addrs if i != "lo"],
    }
    default = {}
    route = kv.get("defroute", "").split()
    if "dev" in route:
        dev = route[route.index("dev") + 1]
        gw = route[route.index("via") + 1] if "via" in route else None
        for iface, cidr in addrs:
            if iface == dev:
                addr, _, prefix = cidr.partition("/")
                default = {"address": addr, "interface": dev, "gateway": gw, "prefix": prefix,
                           "alias": dev}
                break
    facts["ansible_default_ipv4"] = default
    return facts


def gather(conn) -> dict:
    r = conn.run(_SCRIPT)
    return parse(r.stdout)


def cache_load(cache_dir, host, ttl):
    path = os.path.join(cache_dir, f"{host}.json")
    try:
        if time.time() - os.path.getmtime(path) > ttl:
            return None
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cache_save(cache_dir, host, facts):
    os.makedirs(cache_dir, exist_ok=True)
    tmp = os.path.join(cache_dir, f".{host}.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(facts, f)
    os.replace(tmp, os.path.join(cache_dir, f"{host}.json"))

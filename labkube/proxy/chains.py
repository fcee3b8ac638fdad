"""Chain names and the hooks from the built-in chains into the proxy's own chains.

Per-service chains are named like kube-proxy's: a prefix plus the first 16 characters of
the base32 SHA-256 of the service port (and endpoint), so names are stable across restarts
and fit iptables' 28-character limit.
"""
from __future__ import annotations

import base64
import hashlib
import re

MARK_MASQ = "KUBE-MARK-MASQ"
SERVICES = "KUBE-SERVICES"
NODEPORTS = "KUBE-NODEPORTS"
POSTROUTING = "KUBE-POSTROUTING"
EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"

# chains the proxy writes whole on every sync, per table
FIXED = {"nat": (SERVICES, NODEPORTS, POSTROUTING, MARK_MASQ), "filter": (SERVICES, EXTERNAL_SERVICES)}

# (table, built-in chain, rule spec) the proxy makes sure exist, inserted at the top
JUMPS = (
    ("nat", "PREROUTING", f'-m comment --comment "kubernetes service portals" -j {SERVICES}'),
    ("nat", "OUTPUT", f'-m comment --comment "kubernetes service portals" -j {SERVICES}'),
    ("nat", "POSTROUTING", f'-m comment --comment "kubernetes postrouting rules" -j {POSTROUTING}'),
    ("filter", "INPUT", "-m conntrack --ctstate NEW -m comment --comment "
                        f'"kubernetes externally-visible service portals" -j {EXTERNAL_SERVICES}'),
    ("filter", "FORWARD", f'-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j {SERVICES}'),
    ("filter", "OUTPUT", f'-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j {SERVICES}'),
)

# per-service chains: these (and only these) are deleted when no longer generated
PER_SERVICE = re.compile(r"^KUBE-(SVC|SVL|EXT|SEP)-[A-Z2-7]{16}$")


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def service_chain(prefix: str, key: str, protocol: str) -> str:
    """KUBE-SVC-, KUBE-SVL- or KUBE-EXT- chain of a service port."""
    return f"KUBE-{prefix}-{_hash(key + protocol)}"


def endpoint_chain(key: str, protocol: str, endpoint: str) -> str:
    """KUBE-SEP- chain of one endpoint (`ip:port`) of a service port."""
    return f"KUBE-SEP-{_hash(key + protocol + endpoint)}"


class Snapshot:
    """What a table holds now (from iptables-save): its chains and which chains jump where."""

    def __init__(self, saved: str = ""):
        self.tables: dict[str, set[str]] = {}
        self.jumps: set[tuple[str, str, str]] = set()      # (table, from chain, target)
        table = None
        for line in saved.splitlines():
            if line.startswith("*"):
                table = line[1:].strip()
                self.tables.setdefault(table, set())
            elif line.startswith(":") and table:
                self.tables[table].add(line[1:].split()[0])
            elif line.startswith("-A ") and table:
                words = line.split()
                if "-j" in words:
                    self.jumps.add((table, words[1], words[words.index("-j") + 1]))

    def chains(self, table: str) -> set[str]:
        return self.tables.get(table, set())

    def has_jump(self, table: str, chain: str, target: str) -> bool:
        return (table, chain, target) in self.jumps

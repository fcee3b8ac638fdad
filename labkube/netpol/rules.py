"""Render a node's policy chains as `iptables-restore --noflush` input for the filter table.

    FORWARD, INPUT (hooks, inserted first when missing) -> KUBE-NP-FORWARD / KUBE-NP-INPUT
    KUBE-NP-FORWARD: per isolated pod, `-s <pod ip>` -> its KUBE-NP-OUT-X (egress) and
        `-d <pod ip>` -> its KUBE-NP-IN-X (ingress); KUBE-NP-INPUT: the egress jumps only
        (a pod talking to its own node, e.g. to cluster DNS on a master)
    KUBE-NP-IN-X / KUBE-NP-OUT-X: replies and related packets RETURN, then one RETURN per
        allowed (peer CIDR, protocol, port), the rest is DROPped.

Allowed traffic RETURNs rather than ACCEPTs: a packet between two isolated pods of the same
node passes the sender's egress and then the receiver's ingress chain, and what follows in
FORWARD (kube-proxy's rejects) still applies. Pods no policy selects have no chain and no
jump. FORWARD sees the packet after kube-proxy's DNAT (nat PREROUTING), so a connection to a
ClusterIP is judged by the pod it goes to. Chains of pods that are gone are deleted.
"""
from __future__ import annotations

import base64
import hashlib
import re

from labkube.proxy.chains import Snapshot

from .model import ANYWHERE, Allow, PodRules

FORWARD = "KUBE-NP-FORWARD"
INPUT = "KUBE-NP-INPUT"
JUMPS = (("FORWARD", f'-m comment --comment "kubernetes network policy" -j {FORWARD}'),
         ("INPUT", f'-m comment --comment "kubernetes network policy" -j {INPUT}'))
PER_POD = re.compile(r"^KUBE-NP-(IN|OUT)-[A-Z2-7]{16}$")


def pod_chain(direction: str, key: str) -> str:
    """KUBE-NP-IN- or KUBE-NP-OUT- plus 16 base32 characters of the pod's namespace/name."""
    digest = base64.b32encode(hashlib.sha256(key.encode()).digest()).decode()[:16]
    return f"KUBE-NP-{direction}-{digest}"


def _comment(text: str) -> str:
    return f'-m comment --comment "{text}"'


def allow_rule(chain: str, allow: Allow, ingress: bool) -> str:
    parts = ["-A", chain]
    if allow.cidr != ANYWHERE:
        parts += ["-s" if ingress else "-d", allow.cidr]
    if allow.protocol:
        parts += ["-p", allow.protocol]
        if allow.port:
            ports = f"{allow.port}:{allow.end_port}" if allow.end_port else str(allow.port)
            parts += ["-m", allow.protocol, "--dport", ports]
    return " ".join(parts + ["-j", "RETURN"])


def _pod_chain(lines: list[str], chain: str, pod: PodRules, allows: tuple[Allow, ...], ingress: bool) -> None:
    lines.append(f"-A {chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN")
    lines += [allow_rule(chain, a, ingress) for a in allows]
    what = "ingress" if ingress else "egress"
    lines.append(f"-A {chain} {_comment(f'{pod.key}: {what} not allowed by {len(pod.policies)} policies')} -j DROP")


def render(pods: list[PodRules], current: Snapshot | None = None) -> str:
    """The filter table's policy chains; `current` is what the node has now."""
    current = current or Snapshot()
    chains = [FORWARD, INPUT]
    hooks = [f"-I {builtin} 1 {spec}" for builtin, spec in JUMPS
             if not current.has_jump("filter", builtin, spec.split()[-1])]
    forward: list[str] = []
    to_node: list[str] = []
    bodies: list[str] = []
    for pod in pods:
        if pod.egress is not None:
            out = pod_chain("OUT", pod.key)
            chains.append(out)
            note = _comment(f"{pod.key} egress")
            forward.append(f"-A {FORWARD} {note} -s {pod.ip}/32 -j {out}")
            to_node.append(f"-A {INPUT} {note} -s {pod.ip}/32 -j {out}")
            _pod_chain(bodies, out, pod, pod.egress, ingress=False)
        if pod.ingress is not None:
            into = pod_chain("IN", pod.key)
            chains.append(into)
            forward.append(f"-A {FORWARD} {_comment(f'{pod.key} ingress')} -d {pod.ip}/32 -j {into}")
            _pod_chain(bodies, into, pod, pod.ingress, ingress=True)
    stale = sorted(c for c in current.chains("filter") if PER_POD.match(c) and c not in chains)
    lines = ["*filter"] + [f":{c} - [0:0]" for c in chains + stale] + hooks
    lines += forward + to_node + bodies + [f"-X {c}" for c in stale] + ["COMMIT"]
    return "\n".join(lines) + "\n"



def cleanup(current: Snapshot) -> str:
    """Input that removes the hooks and every policy chain (the switch turned off); "" when the
    node has none."""
    ours = [FORWARD, INPUT] + sorted(c for c in current.chains("filter") if PER_POD.match(c))
    ours = [c for c in ours if c in current.chains("filter")]
    if not ours:
        return ""
    lines = ["*filter"] + [f":{c} - [0:0]" for c in ours]
    lines += [f"-D {builtin} {spec}" for builtin, spec in JUMPS if current.has_jump("filter", builtin, spec.split()[-1])]
    return "\n".join(lines + [f"-X {c}" for c in ours] + ["COMMIT"]) + "\n"

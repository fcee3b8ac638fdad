"""iptables: make sure one rule is (or is not) in a chain; idempotent through ``iptables -C``.

Options: ``table``, ``chain``, ``protocol``, ``source``, ``destination``,
``in_interface``, ``out_interface``, ``source_port``, ``destination_port``,
``match``, ``ctstate``, ``comment``, ``jump``, ``to_destination``,
``to_source``, ``to_ports``, ``goto``, ``action`` append|insert, ``rule_num``,
``state`` present|absent, ``policy`` (chain policy), ``chain_management``,
``ip_version`` ipv4|ipv6.
"""
from __future__ import annotations

import shlex

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg

ARGS = {"table", "chain", "protocol", "source", "destination", "in_interface", "out_interface",
        "source_port", "destination_port", "match", "ctstate", "comment", "jump", "to_destination",
        "to_source", "to_ports", "goto", "action", "rule_num", "state", "policy", "ip_version",
        "chain_management", "wait", "flush", "set_counters", "fragment", "syn", "reject_with",
        "log_prefix", "uid_owner", "src_range", "dst_range", "limit", "numeric"}
q = shlex.quote


def rule_spec(a) -> list[str]:
    spec = []
    pairs = [("protocol", "-p"), ("source", "-s"), ("destination", "-d"), ("in_interface", "-i"),
             ("out_interface", "-o")]
    for k, flag in pairs:
        if a.get(k):
            spec += [flag, str(a[k])]
    matches = list(a.get("match") or [])
    matches = [matches] if isinstance(matches, str) else matches
    for m in matches:
        spec += ["-m", str(m)]
    if a.get("source_port"):
        spec += ["--sport", str(a["source_port"])]
    if a.get("destination_port"):
        spec += ["--dport", str(a["destination_port"])]
    if a.get("ctstate"):
        cs = a["ctstate"]
        spec += ["-m", "conntrack", "--ctstate", ",".join(cs) if isinstance(cs, list) else str(cs)]
    if a.get("comment"):
        spec += ["-m", "comment", "--comment", str(a["comment"])]
    if a.get("jump"):
        spec += ["-j", str(a["jump"])]
    if a.get("goto"):
        spec += ["-g", str(a["goto"])]
    if a.get("to_destination"):
        spec += ["--to-destination", str(a["to_destination"])]
    if a.get("to_source"):
        spec += ["--to-source", str(a["to_source"])]
    if a.get("to_ports"):
        spec += ["--to-ports", str(a["to_ports"])]
    if a.get("reject_with"):
        spec += ["--reject-with", str(a["reject_with"])]
    return spec


def run(ctx, args):
    exe = "ip6tables" if args.get("ip_version") == "ipv6" else "iptables"
    table = str(args.get("table") or "filter")
    chain = args.get("chain")
    base = f"{exe} -w -t {q(table)}"
    if args.get("policy"):
        if not chain:
            raise ModuleError("policy needs 'chain'")
        cur = ctx.conn.run(f"{base} -S {q(chain)} | head -n1").stdout.split()
        if cur[-1:] == [str(args["policy"])]:
            return TaskResult(changed=False)
        if not ctx.check_mode:
            r = ctx.conn.run(f"{base} -P {q(chain)} {q(str(args['policy']))}")
            if r.rc != 0:
                raise ModuleError(r.stderr.strip())
        return TaskResult(changed=True)
    if not chain:
        raise ModuleError("missing required argument 'chain'")
    if bool_arg(args.get("chain_management")) and ctx.conn.run(f"{base} -n -L {q(chain)}").rc != 0:
        if not ctx.check_mode:
            ctx.conn.run(f"{base} -N {q(chain)}")
        if (args.get("state") or "present") == "present" and not rule_spec(args):
            return TaskResult(changed=True)
    spec = " ".join(q(x) for x in rule_spec(args))
    present = ctx.conn.run(f"{base} -C {q(chain)} {spec}").rc == 0
    state = args.get("state") or "present"
    if (state == "present") == present:
        return TaskResult(changed=False, data={"rule": spec})
    if state == "present":
        if args.get("action") == "insert":
            cmd = f"{base} -I {q(chain)} {int(args.get('rule_num') or 1)} {spec}"
        else:
            cmd = f"{base} -A {q(chain)} {spec}"
    else:
        cmd = f"{base} -D {q(chain)} {spec}"
    if not ctx.check_mode:
        r = ctx.conn.run(cmd)
        if r.rc != 0:
            raise ModuleError(f"{cmd}: {(r.stderr or r.stdout).strip()}")
    return TaskResult(changed=True, data={"rule": spec, "command": cmd})

"""pki: create the lab's CA and component certificates on the machine it runs on.

Used delegated to the control machine (`delegate_to: localhost`, `run_once: true`);
the pki role then copies each certificate to the nodes that use it. Idempotent:
changed only when a certificate was (re)issued. Arguments: `dir`, `master`,
`master_ip`, `nodes` ({name: address}), `kubernetes_service_ip`.
"""
from __future__ import annotations

from pathlib import Path

from labctl import pki
from labctl.engine.context import ModuleError, TaskResult

ARGS = {"dir", "master", "master_ip", "nodes", "kubernetes_service_ip"}


def run(ctx, args):
    for required in ("dir", "master", "master_ip", "nodes"):
        if not args.get(required):
            raise ModuleError(f"missing required argument: {required}")
    nodes = args["nodes"]
    if not isinstance(nodes, dict):
        raise ModuleError("nodes must be a mapping of node name to address")
    specs = pki.lab_cert_specs(str(args["master"]), str(args["master_ip"]),
                               {str(k): str(v) for k, v in nodes.items()},
                               str(args.get("kubernetes_service_ip", "10.96.0.1")))
    if ctx.check_mode:
        return TaskResult(changed=not Path(args["dir"], "ca.crt").exists())
    written = pki.ensure(Path(args["dir"]), specs)
    return TaskResult(changed=bool(written), data={"issued": written},
                      msg=f"issued {', '.join(written)}" if written else "")

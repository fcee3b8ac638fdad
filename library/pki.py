#!/usr/bin/python
"""Ansible-side `pki` module: the lab's CA and component certificates.

labctl runs `pki` natively (labctl/modules/pki.py); this file lets
`ansible-playbook` run the same roles (Ansible looks for modules in `library/`
beside the playbook). It does the same job through `labctl.pki`, so it must run
under a Python where labctl is importable — the pki role delegates it to
localhost, whose interpreter is ansible-playbook's own when labctl's
virtualenv runs Ansible. Without labctl it fails with a message saying so.
"""
from __future__ import annotations

DOCUMENTATION = r"""
module: pki
short_description: Create the lab CA and component certificates (labctl)
description:
  - Issues the lab CA and one certificate per component into I(dir) with labctl.pki.
  - Idempotent; changed only when a certificate was (re)issued. Requires labctl.
options:
  dir: {description: Directory for the CA and certificates, type: path, required: true}
  master: {description: Name of the master node, type: str, required: true}
  master_ip: {description: Address of the master node, type: str, required: true}
  nodes: {description: Mapping of node name to address, type: dict, required: true}
  kubernetes_service_ip: {description: The kubernetes Service address, type: str, default: 10.96.0.1}
"""

RETURN = r"""
issued: {description: Stems of the certificates issued by this run, type: list, returned: always}
"""

import sys

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path", required=True),
            master=dict(type="str", required=True),
            master_ip=dict(type="str", required=True),
            nodes=dict(type="dict", required=True),
            kubernetes_service_ip=dict(type="str", default="10.96.0.1"),
        ),
        supports_check_mode=True,
    )
    try:
        from pathlib import Path

        from labctl import pki
    except ImportError as exc:
        module.fail_json(msg=f"the pki module needs labctl importable by the Python that runs it "
                             f"(here {sys.executable}); run ansible-playbook from labctl's "
                             f"virtualenv or set ansible_python_interpreter for localhost: {exc}")
    p = module.params
    nodes = {str(k): str(v) for k, v in p["nodes"].items()}
    specs = pki.lab_cert_specs(p["master"], p["master_ip"], nodes, p["kubernetes_service_ip"])
    if module.check_mode:
        module.exit_json(changed=not Path(p["dir"], "ca.crt").exists(), issued=[])
    written = pki.ensure(Path(p["dir"]), specs)
    module.exit_json(changed=bool(written), issued=written,
                     msg=f"issued {', '.join(written)}" if written else "")


if __name__ == "__main__":
    main()

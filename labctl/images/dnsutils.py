"""The `registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3` image of kubernetes.io's "Debugging
DNS Resolution" page: busybox (its `sleep infinity`, a shell) and BIND's DNS tools from Debian
(`bind9-dnsutils`, `bind9-host`: nslookup, dig, host and the libraries they load), so the page's
`kubectl exec -i -t dnsutils -- nslookup kubernetes.default` answers with BIND's nslookup, as
the real image's does. No entrypoint: the page's pod gives the command.
"""
from __future__ import annotations

import os

from .oci import BuiltImage, ImageConfig
from .userbuild import build_from_debian

PACKAGES = ["bind9-dnsutils", "bind9-host"]
NSLOOKUP = "/usr/bin/nslookup"


def build_dnsutils(out_path: str, ref: str = "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3",
                   also: tuple[str, ...] = ()) -> BuiltImage:
    """Write the dnsutils image as an OCI archive at ``out_path`` (`also`: further references)."""
    if not os.path.exists(NSLOOKUP):
        raise FileNotFoundError(f"{NSLOOKUP} is missing: install the bind9-dnsutils package (make install)")
    return build_from_debian(PACKAGES, out_path, ref, ImageConfig(), also)   # the usual PATH, no command

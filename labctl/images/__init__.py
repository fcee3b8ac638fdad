"""Offline OCI image building in pure Python (no network, no docker/umoci needed).

    build_busybox("busybox.tar")   # docker.io/library/busybox:latest from Debian's busybox-static
    build_nginx("nginx.tar")       # docker.io/library/nginx:latest from Debian's nginx
    build_hpa_example("hpa.tar")   # registry.k8s.io/hpa-example from Debian's PHP (the HPA walkthrough)
    build_bootcamp("kb.tar")       # gcr.io/google-samples/kubernetes-bootcamp:v1 (Learn Kubernetes Basics)
    build_dnsutils("dns.tar")      # registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3 (Debugging DNS)

Each produces an OCI archive (a tar of an OCI image layout) that is byte-for-byte
reproducible. `normalize_ref` is the reference normaliser the kubelet uses too.
"""
from labkube.kubelet.images.reference import normalize_ref, parse_ref

from .bootcamp import build_bootcamp, build_bootcamp_v2
from .busybox import build_busybox, busybox_rootfs
from .dnsutils import build_dnsutils
from .hpaexample import build_hpa_example
from .nginx import build_nginx, nginx_rootfs
from .oci import ImageConfig, write_oci_archive
from .rootfs import Rootfs

# the lab's images by archive name (OUT_DIR/<name>.tar); labctl/artifacts.py LAB_IMAGE_REFS names
# the references each one carries
BUILDERS = {"busybox": build_busybox, "nginx": build_nginx, "hpa-example": build_hpa_example,
            "kubernetes-bootcamp-v1": build_bootcamp, "kubernetes-bootcamp-v2": build_bootcamp_v2,
            "dnsutils": build_dnsutils}

__all__ = ["BUILDERS", "build_bootcamp", "build_bootcamp_v2", "build_busybox", "build_dnsutils", "build_hpa_example",
           "build_nginx", "busybox_rootfs", "nginx_rootfs", "normalize_ref", "parse_ref", "ImageConfig", "write_oci_archive", "Rootfs"]

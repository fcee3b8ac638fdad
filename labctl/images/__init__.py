"""Offline OCI image building in pure Python (no network, no docker/umoci needed).

    build_busybox("busybox.tar")   # docker.io/library/busybox:latest from Debian's busybox-static
    build_nginx("nginx.tar")       # docker.io/library/nginx:latest from Debian's nginx
    build_hpa_example("hpa.tar")   # registry.k8s.io/hpa-example from Debian's PHP (the HPA walkthrough)

Each produces an OCI archive (a tar of an OCI image layout) that is byte-for-byte
reproducible. `normalize_ref` is the reference normaliser the kubelet uses too.
"""
from labkube.kubelet.images.reference import normalize_ref, parse_ref

from .busybox import build_busybox, busybox_rootfs
from .hpaexample import build_hpa_example
from .nginx import build_nginx, nginx_rootfs
from .oci import ImageConfig, write_oci_archive
from .rootfs import Rootfs

__all__ = ["build_busybox", "build_hpa_example", "build_nginx", "busybox_rootfs", "nginx_rootfs", "normalize_ref",
           "parse_ref", "ImageConfig", "write_oci_archive", "Rootfs"]

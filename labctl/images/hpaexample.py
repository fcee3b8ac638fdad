"""The `registry.k8s.io/hpa-example` image of Kubernetes' HorizontalPodAutoscaler walkthrough:
a web server on port 80 whose every request burns CPU (a million square roots, ~25 ms of a
core) and answers "OK!", so a load generator's requests show up in `kubectl top` and the HPA.

Layer 1 is busybox (a shell for exec, /tmp; the same digest as the other lab images), layer 2
Debian's PHP command line and the time zones it reads (`php8.2-cli`, `tzdata`: their files and
the libraries their programs load, as `labctl image build --from-debian` takes them), layer 3
the page. PHP's built-in web server serves it, logging each request to the container's stderr;
no php.ini is needed, the square root is PHP's core.
"""
from __future__ import annotations

import os

from .busybox import busybox_rootfs
from .oci import BuiltImage, ImageConfig, write_oci_archive
from .rootfs import Rootfs
from .userbuild import debian_layer

PHP_PACKAGE = "php8.2-cli"
# Debian's PHP reads time zones from the system's tzdata, not a copy of its own: without
# /usr/share/zoneinfo, date() crashes it (SIGSEGV)
PHP_PACKAGES = [PHP_PACKAGE, "tzdata"]
PHP = "/usr/bin/php8.2"
DOCROOT = "var/www/html"
# what the walkthrough's server does per request: CPU work, then "OK!"
INDEX_PHP = """<?php
// registry.k8s.io/hpa-example, as the lab builds it: CPU work for every request
$x = 0.0001;
for ($i = 0; $i <= 1000000; $i++) {
    $x += sqrt($x);
}
echo "OK!";
"""


def php_layer() -> Rootfs:
    if not os.path.exists(PHP):
        raise FileNotFoundError(f"{PHP} is missing: install the {PHP_PACKAGE} package (make install)")
    fs = debian_layer(PHP_PACKAGES)
    fs.symlink("usr/bin/php", os.path.basename(PHP))     # Debian's alternatives link, for `kubectl exec`
    return fs


def page_layer() -> Rootfs:
    fs = Rootfs()
    fs.add_bytes(f"{DOCROOT}/index.php", INDEX_PHP, 0o644)
    return fs


def hpa_example_config() -> ImageConfig:
    return ImageConfig(entrypoint=[PHP, "-S", "0.0.0.0:80", "-t", "/" + DOCROOT], working_dir="/" + DOCROOT,
                       exposed_ports=["80/tcp"])


def build_hpa_example(out_path: str, ref: str = "registry.k8s.io/hpa-example:latest",
                      also: tuple[str, ...] = ()) -> BuiltImage:
    """Write the hpa-example image as an OCI archive at ``out_path`` (`also`: further references)."""
    layers = [busybox_rootfs().render(), php_layer().render(), page_layer().render()]
    return write_oci_archive(out_path, ref, layers, hpa_example_config(), also)

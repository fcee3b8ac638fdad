"""The HorizontalPodAutoscaler walkthrough's image, registry.k8s.io/hpa-example, built offline from
Debian's PHP: busybox's layer shared, PHP with the libraries and time zones it reads, the page;
run from its own files (chroot, a network namespace of its own), its entrypoint's server answers
"OK!" and logs each request. The walkthrough's integration test runs it in pods."""
from __future__ import annotations

import json
import os

import pytest

from labctl.images import build_busybox, build_hpa_example
from labctl.images.hpaexample import PHP

from .imagerun import CAN_RUN, layer, serve_and_get

pytestmark = pytest.mark.skipif(not (os.path.exists("/bin/busybox") and os.path.exists(PHP)),
                                reason="busybox-static and php8.2-cli are needed (make install)")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    d = tmp_path_factory.mktemp("hpa")
    return build_hpa_example(str(d / "hpa.tar")), build_busybox(str(d / "bb.tar"))


def test_busybox_then_php_then_the_page(image):
    img, bb = image
    assert img.ref == "registry.k8s.io/hpa-example:latest"
    assert len(img.layer_digests) == 3 and img.layer_digests[0] == bb.layer_digests[0]
    with layer(img, 1) as t:
        php = {m.name: m for m in t.getmembers()}
    assert "usr/bin/php8.2" in php and php["usr/bin/php"].issym() and php["usr/bin/php"].linkname == "php8.2"
    assert any(n.endswith("libc.so.6") for n in php) and "usr/share/zoneinfo/UTC" in php
    with layer(img, 2) as t:
        assert "var/www/html/index.php" in t.getnames()
    cfg = json.loads(img.blobs[img.config_digest])["config"]
    assert cfg["Entrypoint"] == ["/usr/bin/php8.2", "-S", "0.0.0.0:80", "-t", "/var/www/html"]
    assert cfg["ExposedPorts"] == {"80/tcp": {}}


@pytest.mark.skipif(not CAN_RUN, reason="running an image's files needs root (chroot, unshare)")
def test_its_server_answers_ok_for_every_request(image, tmp_path):
    answers, log = serve_and_get(image[0], tmp_path / "root", 80, ["/", "/index.php"], {"HOSTNAME": "php-apache-1"})
    assert answers == ["OK!", "OK!"]
    assert log.count("[200]: GET /") == 3, log          # the readiness poll and both requests, on stderr

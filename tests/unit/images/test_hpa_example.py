"""The HorizontalPodAutoscaler walkthrough's image, registry.k8s.io/hpa-example, built offline from
Debian's PHP: busybox's layer shared, PHP and the libraries it loads, the page; its entrypoint's
server (the image's PHP binary and page, unpacked; the host's libraries) answers "OK!". The
HorizontalPodAutoscaler walkthrough's integration test runs it in pods."""
from __future__ import annotations

import gzip
import io
import json
import os
import socket
import subprocess
import tarfile
import time
import urllib.request

import pytest

from labctl.images import build_busybox, build_hpa_example
from labctl.images.hpaexample import PHP

pytestmark = pytest.mark.skipif(not (os.path.exists("/bin/busybox") and os.path.exists(PHP)),
                                reason="busybox-static and php8.2-cli are needed (make install)")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    d = tmp_path_factory.mktemp("hpa")
    return build_hpa_example(str(d / "hpa.tar")), build_busybox(str(d / "bb.tar")), d


def layer(img, i) -> tarfile.TarFile:
    return tarfile.open(fileobj=io.BytesIO(gzip.decompress(img.blobs[img.layer_digests[i]])))


def test_busybox_then_php_then_the_page(image):
    img, bb, _ = image
    assert img.ref == "registry.k8s.io/hpa-example:latest"
    assert len(img.layer_digests) == 3 and img.layer_digests[0] == bb.layer_digests[0]
    with layer(img, 1) as t:
        php = {m.name: m for m in t.getmembers()}
    assert "usr/bin/php8.2" in php and php["usr/bin/php"].issym() and php["usr/bin/php"].linkname == "php8.2"
    assert any(n.endswith("libc.so.6") for n in php)
    with layer(img, 2) as t:
        assert "var/www/html/index.php" in t.getnames()
    cfg = json.loads(img.blobs[img.config_digest])["config"]
    assert cfg["Entrypoint"] == ["/usr/bin/php8.2", "-S", "0.0.0.0:80", "-t", "/var/www/html"]
    assert cfg["ExposedPorts"] == {"80/tcp": {}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_entrypoints_server_answers_ok(image):
    img, _, d = image
    root = d / "root"
    for i in range(3):
        with layer(img, i) as t:
            t.extractall(root)
    cfg = json.loads(img.blobs[img.config_digest])["config"]
    port = free_port()
    # the entrypoint as the image says, on loopback and the unpacked docroot
    argv = [str(root) + cfg["Entrypoint"][0], "-S", f"127.0.0.1:{port}", "-t", str(root) + cfg["Entrypoint"][4]]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, body = time.monotonic() + 20, None
        while body is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    body = r.read()
            except OSError:
                time.sleep(0.1)
        assert body == b"OK!"
    finally:
        server.terminate()
        err = server.communicate(timeout=10)[1].decode()
    assert "[200]: GET /" in err       # every request logged to the container's stderr

"""The "Debugging DNS Resolution" page's dnsutils image, built offline: busybox, then BIND's DNS
tools from Debian under both of the page's names; run from its own files (chroot), BIND's
nslookup, dig and host start (their libraries are all there) and come first on the PATH, and the
pod's `sleep infinity` is busybox's."""
from __future__ import annotations

import json
import os

import pytest

from labctl.images import build_busybox, build_dnsutils
from labctl.images.dnsutils import NSLOOKUP
from labctl.images.oci import archive_refs

from .imagerun import CAN_RUN, layer, run_command

pytestmark = pytest.mark.skipif(not (os.path.exists("/bin/busybox") and os.path.exists(NSLOOKUP)),
                                reason="busybox-static and bind9-dnsutils are needed (make install)")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    d = tmp_path_factory.mktemp("dnsutils")
    also = ("gcr.io/kubernetes-e2e-test-images/dnsutils:1.3",)
    return build_dnsutils(str(d / "dns.tar"), also=also), build_busybox(str(d / "bb.tar")), d


def test_busybox_then_bind_tools_under_the_pages_names(image):
    img, bb, d = image
    assert archive_refs(str(d / "dns.tar")) == ["registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3",
                                                "gcr.io/kubernetes-e2e-test-images/dnsutils:1.3"]
    assert len(img.layer_digests) == 2 and img.layer_digests[0] == bb.layer_digests[0]
    with layer(img, 1) as t:
        names = set(t.getnames())
    assert {"usr/bin/nslookup", "usr/bin/dig", "usr/bin/host"} <= names
    cfg = json.loads(img.blobs[img.config_digest])["config"]
    assert "Entrypoint" not in cfg and "Cmd" not in cfg       # the pod says what to run


@pytest.mark.skipif(not CAN_RUN, reason="running an image's files needs root (chroot, unshare)")
@pytest.mark.parametrize("argv, says", [
    (["nslookup", "-version"], "nslookup 9.18"),
    (["dig", "-v"], "DiG 9.18"),
    (["host", "-V"], "host 9.18"),
    (["which", "nslookup", "dig"], "/usr/bin/nslookup\n/usr/bin/dig"),       # BIND's, not busybox's
    # the page's command: sleeps until stopped (a bad argument exits 1 at once)
    (["sh", "-c", "timeout 1 sleep infinity; echo exit=$?"], "exit=143"),
])
def test_the_tools_start_from_the_images_own_files(image, tmp_path, argv, says):
    r = run_command(image[0], tmp_path / "root", argv)
    assert says in r.stdout + r.stderr, (r.returncode, r.stdout, r.stderr)

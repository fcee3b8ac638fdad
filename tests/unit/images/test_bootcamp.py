"""The "Learn Kubernetes Basics" tutorial's kubernetes-bootcamp images, v1 and v2, built offline:
busybox's and hpa-example's PHP layers shared, bash and curl for `kubectl exec`, the app. Run from
its own files (chroot, a network namespace of its own), the app logs its start, answers every path
with the pod's name and its version, and logs each request with the count so far."""
from __future__ import annotations

import json
import os

import pytest

from labctl.images import build_bootcamp, build_bootcamp_v2, build_hpa_example
from labctl.images.hpaexample import PHP

from .imagerun import CAN_RUN, layer, serve_and_get

pytestmark = pytest.mark.skipif(not (os.path.exists("/bin/busybox") and os.path.exists(PHP)),
                                reason="busybox-static and php8.2-cli are needed (make install)")
POD = "kubernetes-bootcamp-5485cc6795-4x2bw"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("bootcamp")
    return {"v1": build_bootcamp(str(d / "v1.tar")), "v2": build_bootcamp_v2(str(d / "v2.tar")),
            "hpa": build_hpa_example(str(d / "hpa.tar"))}


def test_the_tutorials_references_and_shared_layers(images):
    v1, v2, hpa = images["v1"], images["v2"], images["hpa"]
    assert (v1.ref, v2.ref) == ("gcr.io/google-samples/kubernetes-bootcamp:v1", "docker.io/jocatalin/kubernetes-bootcamp:v2")
    assert v1.layer_digests[:2] == hpa.layer_digests[:2]         # busybox, PHP: stored once by a registry
    assert v1.layer_digests[:3] == v2.layer_digests[:3] and v1.layer_digests[3] != v2.layer_digests[3]
    with layer(v1, 2) as t:
        names = set(t.getnames())
    assert {"bin/bash", "usr/bin/curl"} <= names and any("libcurl" in n for n in names)
    cfg = json.loads(v1.blobs[v1.config_digest])["config"]
    assert cfg["Cmd"] == ["/app/start.sh"] and cfg["ExposedPorts"] == {"8080/tcp": {}}
    assert cfg["WorkingDir"] == "/app"


@pytest.mark.skipif(not CAN_RUN, reason="running an image's files needs root (chroot, unshare)")
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_app_answers_with_its_pod_and_version_and_logs_each_request(images, version, tmp_path):
    answers, log = serve_and_get(images[version], tmp_path / "root", 8080, ["/", "/any/path"], {"HOSTNAME": POD})
    want = f"Hello Kubernetes bootcamp! | Running on: {POD} | v={version[1]}\n"
    assert answers == [want, want]
    lines = log.splitlines()
    assert lines[0].startswith("Kubernetes Bootcamp App Started At: ") and lines[0].endswith(f"| Running On: {POD}")
    requests = [line.split(" | ")[:2] for line in lines if line.startswith("Running On:")]
    # the first is the readiness poll's
    assert requests == [[f"Running On: {POD}", f"Total Requests: {n}"] for n in (1, 2, 3)], log

"""Docker Hub names pulled from the lab registry (mirrors), pull policies, and the registry's
own error text in ErrImagePull; against a tiny registry on loopback that answers like
registry 2.8 (JSON error bodies)."""
from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from labctl.images import ImageConfig, Rootfs
from labctl.images.oci import build_image
from labkube.kubelet.images.mirrors import pull_source, reachable
from labkube.kubelet.images.reference import parse_ref
from labkube.kubelet.images.store import ImageError, ImageStore


@pytest.mark.parametrize("name,want", [
    ("busybox", "10.200.0.10:5000/library/busybox:latest"),
    ("busybox:latest", "10.200.0.10:5000/library/busybox:latest"),
    ("docker.io/library/busybox", "10.200.0.10:5000/library/busybox:latest"),
    ("index.docker.io/library/nginx:1", "10.200.0.10:5000/library/nginx:1"),
    ("team/app:2", "10.200.0.10:5000/team/app:2"),
    ("10.200.0.10:5000/x:y", "10.200.0.10:5000/x:y"),
    ("quay.io/a/b:c", "quay.io/a/b:c"),
    ("registry.k8s.io/busybox", "10.200.0.10:5000/busybox:latest"),    # the lab's second mirrored domain
    ("registry.k8s.io/e2e-test-images/agnhost:2.40", "10.200.0.10:5000/e2e-test-images/agnhost:2.40"),
])
def test_pull_source(name, want):
    lab = "10.200.0.10:5000"
    assert str(pull_source(parse_ref(name), {"docker.io": lab, "registry.k8s.io": lab})) == want


def test_reachable_without_a_mirror():
    assert not reachable(parse_ref("busybox"), {})
    assert reachable(parse_ref("busybox"), {"docker.io": "10.0.0.1:5000"})
    assert reachable(parse_ref("10.0.0.1:5000/x"), {})


def _image():
    fs = Rootfs().add_bytes("etc/motd", "from the mirror\n")
    return build_image("tiny:1", [fs.render()], ImageConfig(cmd=["sh"]))


async def _registry(img, seen):
    def unknown(code, msg):
        body = json.dumps({"errors": [{"code": code, "message": msg, "detail": {}}]})
        return web.Response(status=404, text=body, content_type="application/json")

    async def manifest(request):
        seen.append((request.match_info["name"], request.match_info["ref"]))
        if request.match_info["name"] != "library/tiny" or request.match_info["ref"] != "1":
            return unknown("MANIFEST_UNKNOWN", "manifest unknown")
        return web.Response(body=img.blobs[img.manifest_digest],
                            content_type="application/vnd.oci.image.manifest.v1+json")

    async def blob(request):
        data = img.blobs.get(request.match_info["digest"])
        return web.Response(body=data) if data else unknown("BLOB_UNKNOWN", "blob unknown to registry")

    app = web.Application()
    app.router.add_get("/v2/{name:.+}/manifests/{ref}", manifest)
    app.router.add_get("/v2/{name:.+}/blobs/{digest}", blob)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


async def test_docker_hub_names_come_from_the_mirror_with_pull_policies(tmp_path):
    img, seen = _image(), []
    runner, port = await _registry(img, seen)
    try:
        store = ImageStore(str(tmp_path / "images"), {"docker.io": f"127.0.0.1:{port}"})
        with pytest.raises(ImageError) as e:
            await asyncio.to_thread(store.ensure, "tiny:1", "Never")
        assert e.value.reason == "ErrImageNeverPull" and not seen
        got = await asyncio.to_thread(store.ensure, "tiny:1", "IfNotPresent")
        assert got.ref == "docker.io/library/tiny:1" and got.digest == img.manifest_digest
        assert seen == [("library/tiny", "1")]
        await asyncio.to_thread(store.ensure, "docker.io/library/tiny:1", "IfNotPresent")   # cached
        await asyncio.to_thread(store.ensure, "tiny:1", "Never")
        assert len(seen) == 1
        await asyncio.to_thread(store.ensure, "tiny:1", "Always")                           # asks again
        assert len(seen) == 2
        with pytest.raises(ImageError) as e:
            await asyncio.to_thread(store.ensure, "nosuch:2", None)
        assert e.value.reason == "ErrImagePull"
        assert "manifest unknown" in e.value.message and f"127.0.0.1:{port}" in e.value.message
    finally:
        await runner.cleanup()

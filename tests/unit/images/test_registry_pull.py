"""Registry pulls through the image store's pull seam, against a tiny in-process registry on loopback."""
from __future__ import annotations

import asyncio
import os

import pytest
from aiohttp import web

from labctl.images import ImageConfig, Rootfs
from labctl.images.oci import build_image
from labkube.kubelet.images.registry import registry_url
from labkube.kubelet.images.store import ImageError, ImageStore


def _image():
    fs = Rootfs().add_bytes("etc/motd", "pulled\n").mkdir("tmp", 0o1777)
    return build_image("127.0.0.1:5000/lab/tiny:1", [fs.render()], ImageConfig(cmd=["sh"]))


async def _registry(img, requests):
    async def manifest(request):
        requests.append(("manifest", request.headers.get("Accept", "")))
        if "application/vnd.oci.image.manifest.v1+json" not in request.headers.get("Accept", ""):
            raise web.HTTPNotFound()         # what registry 2.8 does for OCI manifests
        ref = request.match_info["ref"]
        digest = img.manifest_digest if ref in ("1", img.manifest_digest) else None
        if request.match_info["name"] != "lab/tiny" or digest is None:
            raise web.HTTPNotFound()
        return web.Response(body=img.blobs[digest], content_type="application/vnd.oci.image.manifest.v1+json",
                            headers={"Docker-Content-Digest": digest})

    async def blob(request):
        requests.append(("blob", request.match_info["digest"]))
        data = img.blobs.get(request.match_info["digest"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/v2/{name:.+}/manifests/{ref}", manifest)
    app.router.add_get("/v2/{name:.+}/blobs/{digest}", blob)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


def test_registry_url_scheme():
    assert registry_url("10.200.0.1:5000") == "http://10.200.0.1:5000"
    assert registry_url("localhost") == "http://localhost"
    assert registry_url("registry.lab:5000") == "http://registry.lab:5000"
    assert registry_url("quay.io") == "https://quay.io"


async def test_pull_from_lab_registry(tmp_path):
    img = _image()
    requests: list = []
    runner, port = await _registry(img, requests)
    try:
        store = ImageStore(str(tmp_path / "images"))
        ref = f"127.0.0.1:{port}/lab/tiny:1"
        got = await asyncio.to_thread(store.ensure, ref, "IfNotPresent")
        assert got.digest == img.manifest_digest and got.image_id == f"127.0.0.1:{port}/lab/tiny@{img.manifest_digest}"
        assert open(os.path.join(got.rootfs, "etc/motd")).read() == "pulled\n"
        blobs = [r for r in requests if r[0] == "blob"]
        assert len(blobs) == 2                                    # config + one layer
        await asyncio.to_thread(store.ensure, ref, "Always")      # re-pull: manifest only
        assert len([r for r in requests if r[0] == "blob"]) == 2
        with pytest.raises(ImageError) as e:
            await asyncio.to_thread(store.ensure, f"127.0.0.1:{port}/lab/absent:1", "IfNotPresent")
        assert e.value.reason == "ErrImagePull" and "not found" in e.value.message
    finally:
        await runner.cleanup()


def test_docker_hub_is_not_tried(tmp_path):
    store = ImageStore(str(tmp_path / "images"))
    with pytest.raises(ImageError) as e:
        store.ensure("nosuchimage:1")
    assert "docker.io is not reachable" in e.value.message

"""The kubelet's image store: archive import, refs, unpacked rootfs, pull policy errors."""
from __future__ import annotations

import io
import os
import tarfile

import pytest

from labctl.images import ImageConfig, Rootfs, write_oci_archive
from labkube.kubelet.images.layers import LayerError, apply_layer
from labkube.kubelet.images.store import ImageError, ImageStore, archive_ref, default_pull_policy


def _archive(path, ref="tiny:1", files=None):
    fs = Rootfs()
    for name, data in (files or {"etc/motd": "hi\n"}).items():
        fs.add_bytes(name, data)
    fs.symlink("bin/sh", "/bin/busybox")
    return write_oci_archive(str(path), ref, [fs.render()], ImageConfig(entrypoint=["/bin/sh"], cmd=["-c", "true"]))


def test_import_and_resolve(tmp_path):
    store = ImageStore(str(tmp_path / "images"))
    built = _archive(tmp_path / "images" / "preload" / "tiny.tar")
    assert store.import_preload() == ["docker.io/library/tiny:1"]
    assert store.import_preload() == []                 # already imported
    img = store.resolve("tiny:1")
    assert img.digest == built.manifest_digest
    assert img.image_id == f"docker.io/library/tiny@{built.manifest_digest}"
    assert open(os.path.join(img.rootfs, "etc/motd")).read() == "hi\n"
    assert os.readlink(os.path.join(img.rootfs, "bin/sh")) == "/bin/busybox"
    assert img.config["Entrypoint"] == ["/bin/sh"]
    assert store.resolve(f"docker.io/library/tiny@{built.manifest_digest}").digest == built.manifest_digest
    again = ImageStore(str(tmp_path / "images"))       # refs persist
    assert again.resolve("docker.io/library/tiny:1") is not None
    names = store.list_images()[0]["names"]
    assert "docker.io/library/tiny:1" in names


def test_pull_policy_errors(tmp_path):
    store = ImageStore(str(tmp_path / "images"))
    with pytest.raises(ImageError) as e:
        store.ensure("missing:1", "Never")
    assert e.value.reason == "ErrImageNeverPull"
    with pytest.raises(ImageError) as e:
        store.ensure("missing:1")
    assert e.value.reason == "ErrImagePull" and "docker.io/library/missing:1" in e.value.message
    with pytest.raises(ImageError) as e:
        store.ensure("Bad Name")
    assert e.value.reason == "InvalidImageName"


def test_pull_seam_picks_up_new_preload(tmp_path):
    store = ImageStore(str(tmp_path / "images"))
    _archive(tmp_path / "images" / "preload" / "late.tar", ref="late:2")
    assert store.ensure("late:2").ref == "docker.io/library/late:2"


def test_default_pull_policy_and_bare_tags():
    assert default_pull_policy("busybox") == "Always"
    assert default_pull_policy("busybox:1") == "IfNotPresent"
    assert archive_ref("latest", "nginx") == "docker.io/library/nginx:latest"
    assert archive_ref("docker.io/library/x:2", "ignored") == "docker.io/library/x:2"


def _layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def test_whiteouts(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    apply_layer(str(root), _layer([("a", None), ("a/x", b"1"), ("a/y", b"2"), ("b", None), ("b/z", b"3")]), chown=False)
    apply_layer(str(root), _layer([("a/.wh.x", b""), ("b/.wh..wh..opq", b""), ("b/new", b"4")]), chown=False)
    assert sorted(os.listdir(root / "a")) == ["y"]
    assert sorted(os.listdir(root / "b")) == ["new"]


def test_layer_cannot_escape(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    with pytest.raises(LayerError):
        apply_layer(str(root), _layer([("../evil", b"x")]), chown=False)

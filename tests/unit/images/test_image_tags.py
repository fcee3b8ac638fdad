"""One image under several references: the lab's base images carry, besides latest, the tags and
names the Kubernetes documentation's walkthroughs use (labctl/artifacts.py LAB_IMAGE_REFS). The
archive's index has an entry per reference, all of one manifest; the kubelet's store, the registry
push (roles/registry/files/push_images.py) and the cache of built archives all take every one."""
from __future__ import annotations

import importlib.util
import os

import pytest

from labctl import artifacts
from labctl.images import ImageConfig, Rootfs, write_oci_archive
from labctl.images.oci import archive_refs
from labkube.kubelet.images.store import ImageStore

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def push_images():
    spec = importlib.util.spec_from_file_location(
        "push_images", os.path.join(ROOT, "roles", "registry", "files", "push_images.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tiny(path, ref="tiny:1", also=()):
    fs = Rootfs().add_bytes("etc/motd", "hi\n").symlink("bin/sh", "/bin/busybox")
    return write_oci_archive(str(path), ref, [fs.render()], ImageConfig(cmd=["sh"]), also)


@pytest.mark.parametrize("ref,also,want", [
    ("tiny:1", (), ["docker.io/library/tiny:1"]),
    ("nginx:latest", ("nginx:1.14.2", "nginx:1.16.1"),
     ["docker.io/library/nginx:latest", "docker.io/library/nginx:1.14.2", "docker.io/library/nginx:1.16.1"]),
    ("busybox", ("busybox:1.28", "docker.io/library/busybox:1.28", "busybox:latest"),   # repeats go
     ["docker.io/library/busybox:latest", "docker.io/library/busybox:1.28"]),
])
def test_an_archive_names_every_reference_of_its_one_image(tmp_path, ref, also, want):
    built = tiny(tmp_path / "a.tar", ref, also)
    assert archive_refs(str(tmp_path / "a.tar")) == want
    assert {d["digest"] for d in built.index["manifests"]} == {built.manifest_digest}


def test_archive_refs_of_what_is_no_archive(tmp_path):
    (tmp_path / "junk.tar").write_bytes(b"not a tar")
    assert archive_refs(str(tmp_path / "junk.tar")) == []
    assert archive_refs(str(tmp_path / "missing.tar")) == []


def test_the_kubelets_store_imports_every_tag(tmp_path):
    store = ImageStore(str(tmp_path / "images"))
    built = tiny(tmp_path / "images" / "preload" / "nginx.tar", "nginx:latest", ("nginx:1.14.2",))
    assert store.import_preload() == ["docker.io/library/nginx:latest", "docker.io/library/nginx:1.14.2"]
    assert store.resolve("nginx:1.14.2").digest == store.resolve("nginx").digest == built.manifest_digest
    assert store.resolve("nginx:1.161") is None     # the documentation's mistyped tag stays missing


@pytest.mark.parametrize("ref,also,want", [
    ("nginx:latest", ("nginx:1.14.2", "nginx:1.16.1"),
     [("library/nginx", "latest"), ("library/nginx", "1.14.2"), ("library/nginx", "1.16.1")]),
    ("busybox", ("registry.k8s.io/busybox",),        # the path the kubelets' mirror asks for
     [("library/busybox", "latest"), ("busybox", "latest")]),
    ("10.200.0.10:5000/team/app:v2", (), [("team/app", "v2")]),   # the port's colon is no tag
    ("10.200.0.10:5000/app", (), [("app", "latest")]),
])
def test_push_images_pushes_each_reference_at_its_path(tmp_path, ref, also, want):
    path = tmp_path / "img.tar"
    built = tiny(path, ref, also)
    got = push_images().archive_targets(str(path))
    assert [(repo, tag) for repo, tag, _, _ in got] == want
    assert [src for _, _, src, _ in got] == [f"oci-archive:{path}:{r}" for r in archive_refs(str(path))]
    assert {d for _, _, _, d in got} == {built.manifest_digest}


def recorded_builds(tmp_path, monkeypatch) -> list[tuple[str, str, tuple]]:
    """Every lab image builder replaced by one that records (name, ref, also) and writes a tiny
    archive with those references, into a cache of the test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    builds = []

    def fake(name):
        def build(out_path, ref, also=()):
            builds.append((name, ref, also))
            return tiny(out_path, ref, also)
        return build
    import labctl.images as images
    for name in images.BUILDERS:
        monkeypatch.setitem(images.BUILDERS, name, fake(name))
    return builds


def test_the_cached_base_images_are_built_again_when_their_tags_change(tmp_path, monkeypatch):
    builds = recorded_builds(tmp_path, monkeypatch)
    out = artifacts.images()
    assert builds[:2] == [("busybox", "busybox:latest", ("busybox:1.28", "registry.k8s.io/busybox:latest")),
                          ("nginx", "nginx:latest", ("nginx:1.14.2", "nginx:1.16.1", "registry.k8s.io/nginx-slim:0.21",
                                                     "registry.k8s.io/nginx-slim:0.24"))]
    assert builds[2:] == [("hpa-example", "registry.k8s.io/hpa-example:latest", ()),
                          ("kubernetes-bootcamp-v1", "gcr.io/google-samples/kubernetes-bootcamp:v1",
                           ("jocatalin/kubernetes-bootcamp:v1",)),
                          ("kubernetes-bootcamp-v2", "jocatalin/kubernetes-bootcamp:v2", ()),
                          ("dnsutils", "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3",
                           ("gcr.io/kubernetes-e2e-test-images/dnsutils:1.3",))]
    assert archive_refs(str(out / "nginx.tar"))[1:] == ["docker.io/library/nginx:1.14.2", "docker.io/library/nginx:1.16.1",
                                                        "registry.k8s.io/nginx-slim:0.21", "registry.k8s.io/nginx-slim:0.24"]
    builds.clear()
    artifacts.images()
    assert builds == []                                # the same tags: nothing to build
    tiny(out / "nginx.tar", "nginx:latest")            # an archive from before the tags
    monkeypatch.setitem(artifacts.LAB_IMAGE_REFS, "busybox", ("busybox:latest", "busybox:1.36"))
    artifacts.images()
    assert [b[0] for b in builds] == ["busybox", "nginx"]


def test_the_cached_base_images_are_built_again_when_the_builders_code_changes(tmp_path, monkeypatch):
    builds = recorded_builds(tmp_path, monkeypatch)
    artifacts.images()
    assert [b[0] for b in builds] == list(artifacts.LAB_IMAGE_REFS)
    builds.clear()
    artifacts.images()
    assert builds == []                                # the same code and tags: nothing to build
    digest = artifacts._digest
    monkeypatch.setattr(artifacts, "_digest", lambda files, root: "other" + digest(files, root))
    artifacts.images()
    assert [b[0] for b in builds] == list(artifacts.LAB_IMAGE_REFS)    # labctl/images changed: every image again

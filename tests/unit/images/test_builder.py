"""Offline image building: determinism, digests, layout, references."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile

import pytest

from labctl.images import ImageConfig, Rootfs, build_busybox, build_nginx, normalize_ref, write_oci_archive

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
HAVE_BUSYBOX = os.path.exists("/bin/busybox")
HAVE_NGINX = os.path.exists("/usr/sbin/nginx")


def _members(path):
    with tarfile.open(path) as t:
        return {m.name: (m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()}


def _tiny(path):
    fs = Rootfs().mkdir("etc").add_bytes("etc/motd", "hello\n").symlink("bin/sh", "/bin/busybox").mkdir("tmp", 0o1777)
    return write_oci_archive(str(path), "tiny:1", [fs.render()], ImageConfig(cmd=["sh"]))


@pytest.mark.parametrize("ref,want", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1", "docker.io/library/busybox:1"),
    ("docker.io/library/busybox", "docker.io/library/busybox:latest"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("10.200.0.1:5000/x:y", "10.200.0.1:5000/x:y"),
    ("10.200.0.1:5000/x", "10.200.0.1:5000/x:latest"),
    ("index.docker.io/user/app", "docker.io/user/app:latest"),
    ("localhost/app:dev", "localhost/app:dev"),
    ("user/app", "docker.io/user/app:latest"),
])
def test_normalize_ref(ref, want):
    assert normalize_ref(ref) == want


@pytest.mark.parametrize("bad", ["", "Busybox", "busybox:", "busybox@sha256:xyz"])
def test_normalize_ref_rejects(bad):
    with pytest.raises(ValueError):
        normalize_ref(bad)


def test_tiny_image_is_deterministic_and_matches_golden(tmp_path):
    a, b = _tiny(tmp_path / "a.tar"), _tiny(tmp_path / "b.tar")
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    assert a.manifest_digest == b.manifest_digest
    got = {"manifest": a.manifest_digest, "config": a.config_digest, "layers": a.layer_digests,
           "diff_ids": a.diff_ids, "index": a.index}
    golden = os.path.join(GOLDEN, "tiny.json")
    if os.environ.get("UPDATE_GOLDEN"):
        with open(golden, "w") as f:
            json.dump(got, f, indent=1, sort_keys=True)
    with open(golden) as f:
        assert got == json.load(f)


def test_archive_layout_and_digests(tmp_path):
    img = _tiny(tmp_path / "t.tar")
    m = _members(tmp_path / "t.tar")
    assert json.loads(m["oci-layout"][1]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(m["index.json"][1])
    desc = index["manifests"][0]
    assert desc["annotations"]["org.opencontainers.image.ref.name"] == "docker.io/library/tiny:1"
    for name, (info, data) in m.items():
        assert info.uid == 0 and info.gid == 0 and info.mtime == 0
        if name.startswith("blobs/sha256/") and data is not None:
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    manifest = json.loads(m["blobs/sha256/" + desc["digest"].split(":")[1]][1])
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    config = json.loads(m["blobs/sha256/" + manifest["config"]["digest"].split(":")[1]][1])
    assert config["config"]["Cmd"] == ["sh"]
    layer = m["blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1]][1]
    with tarfile.open(fileobj=io.BytesIO(layer)) as t:
        names = t.getnames()
        assert names == sorted(names)
        assert t.getmember("tmp").mode == 0o1777
        assert t.getmember("bin/sh").issym()
    import gzip
    assert "sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest() == img.diff_ids[0]


@pytest.mark.skipif(not HAVE_BUSYBOX, reason="busybox-static is not installed")
def test_busybox_image(tmp_path):
    a = build_busybox(str(tmp_path / "a.tar"))
    b = build_busybox(str(tmp_path / "b.tar"))
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    assert a.ref == "docker.io/library/busybox:latest"
    m = _members(tmp_path / "a.tar")
    manifest = json.loads(m["blobs/sha256/" + a.manifest_digest.split(":")[1]][1])
    layer = m["blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1]][1]
    with tarfile.open(fileobj=io.BytesIO(layer)) as t:
        assert t.getmember("bin/sh").linkname == "/bin/busybox"
        assert t.getmember("bin/busybox").size > 100000
        assert b"nobody" in t.extractfile("etc/passwd").read()


@pytest.mark.skipif(not (HAVE_BUSYBOX and HAVE_NGINX), reason="busybox-static and nginx-light are needed")
def test_nginx_image_shares_the_busybox_layer(tmp_path):
    bb = build_busybox(str(tmp_path / "bb.tar"))
    ng = build_nginx(str(tmp_path / "ng.tar"))
    assert ng.layer_digests[0] == bb.layer_digests[0]
    assert len(ng.layer_digests) == 2
    cfg = json.loads(ng.blobs[ng.config_digest])
    assert cfg["config"]["Entrypoint"] == ["/usr/sbin/nginx"]
    assert cfg["config"]["StopSignal"] == "SIGQUIT"
    import gzip
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(ng.blobs[ng.layer_digests[1]]))) as t:
        names = set(t.getnames())
    assert "usr/sbin/nginx" in names and "etc/nginx/nginx.conf" in names
    assert any(n.endswith("libc.so.6") for n in names)
    assert "var/lib/nginx" in names


@pytest.mark.skipif(not HAVE_BUSYBOX, reason="busybox-static is not installed")
def test_module_entry_point(tmp_path, capsys):
    from labctl.images.__main__ import main
    assert main([str(tmp_path), "busybox"]) == 0
    out = capsys.readouterr().out.split()
    assert out[0] == "docker.io/library/busybox:latest" and out[1].startswith("sha256:")
    assert (tmp_path / "busybox.tar").exists()
    assert main([str(tmp_path), "bogus"]) == 2

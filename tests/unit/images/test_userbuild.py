"""`labctl image build` inputs (a directory, Debian packages, a config file), archive
inspection for `labctl image load`, and registry naming."""
import json
import os
import shutil
import tarfile

import pytest

from labctl import imagestore
from labctl.images.oci import ImageConfig, write_oci_archive
from labctl.images.userbuild import build_from_debian, build_from_dir, load_config


def _tree(d):
    (d / "bin").mkdir(parents=True)
    (d / "bin" / "hello").write_text("#!/bin/sh\necho hello\n")
    os.chmod(d / "bin" / "hello", 0o755)
    (d / "etc").mkdir()
    (d / "etc" / "msg").write_text("hi\n")
    os.symlink("/bin/hello", d / "bin" / "hi")
    return d


def test_directory_build_is_deterministic(tmp_path):
    src = _tree(tmp_path / "src")
    a = build_from_dir(str(src), str(tmp_path / "a.tar"), "hello:1", ImageConfig(cmd=["/bin/hello"]))
    os.utime(src / "etc" / "msg", (1, 1))                         # mtimes do not matter
    b = build_from_dir(str(src), str(tmp_path / "b.tar"), "hello:1", ImageConfig(cmd=["/bin/hello"]))
    assert a.manifest_digest == b.manifest_digest
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    layer = a.blobs[a.layer_digests[0]]
    import gzip
    import io
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as t:
        names = {m.name: m for m in t.getmembers()}
    assert names["bin/hello"].mode == 0o755 and names["bin/hi"].issym() and "etc/msg" in names
    (src / "etc" / "msg").write_text("changed\n")
    c = build_from_dir(str(src), str(tmp_path / "c.tar"), "hello:1", ImageConfig(cmd=["/bin/hello"]))
    assert c.manifest_digest != a.manifest_digest


def test_config_file(tmp_path):
    f = tmp_path / "image.yaml"
    f.write_text("cmd: [/bin/hello, -v]\nenv: [A=1]\nworkingDir: /srv\nexposedPorts: [8080/tcp]\n")
    cfg = load_config(str(f))
    assert cfg.cmd == ["/bin/hello", "-v"] and cfg.env == ["A=1"] and cfg.working_dir == "/srv"
    f.write_text("bogus: 1\n")
    with pytest.raises(ValueError):
        load_config(str(f))


@pytest.mark.skipif(shutil.which("dpkg") is None or not os.path.exists("/bin/busybox"), reason="needs dpkg, busybox")
def test_from_debian_copies_binaries_with_libraries(tmp_path):
    img = build_from_debian(["coreutils"], str(tmp_path / "c.tar"), "coreutils:1", ImageConfig(cmd=["ls"]))
    assert len(img.layer_digests) == 2
    again = build_from_debian(["coreutils"], str(tmp_path / "d.tar"), "coreutils:1", ImageConfig(cmd=["ls"]))
    assert again.manifest_digest == img.manifest_digest


def layer_members(archive, digest):
    with tarfile.open(archive) as t:
        blob = t.extractfile("blobs/sha256/" + digest.split(":", 1)[1]).read()
    import gzip
    import io
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as layer:
        return {m.name: m for m in layer.getmembers()}


@pytest.mark.skipif(not os.path.islink("/usr/share/perl/5.36"), reason="Debian 12's perl-modules-5.36 not here")
def test_from_debian_keeps_the_packages_symbolic_links(tmp_path):
    """perl finds its core modules through /usr/share/perl/5.36 -> 5.36.0 (a link of perl-modules);
    without the link in the image, `perl -Mbignum` (the Job page's pi) fails: bignum.pm not in @INC."""
    img = build_from_debian(["perl-modules-5.36"], str(tmp_path / "p.tar"), "perl:1", ImageConfig())
    got = layer_members(tmp_path / "p.tar", img.layer_digests[1])
    assert got["usr/share/perl/5.36"].issym() and got["usr/share/perl/5.36"].linkname == "5.36.0"
    assert got["usr/share/perl/5.36.0/bignum.pm"].isfile()


@pytest.mark.skipif(not os.path.islink("/lib"), reason="no merged /usr here")
def test_from_debian_keeps_a_link_other_paths_go_through_as_a_directory(tmp_path):
    """libc6 lists /lib/x86_64-linux-gnu/... through merged /usr's /lib -> usr/lib: lib stays a directory."""
    img = build_from_debian(["libc6"], str(tmp_path / "c.tar"), "libc:1", ImageConfig())
    got = layer_members(tmp_path / "c.tar", img.layer_digests[1])
    assert "lib" not in got or got["lib"].isdir()
    assert any(n.startswith("lib/x86_64-linux-gnu/") and m.isfile() for n, m in got.items())


def test_inspect_archive_and_names(tmp_path):
    img = write_oci_archive(str(tmp_path / "x.tar"), "team/x:2", [b""], ImageConfig())
    info = imagestore.inspect_archive(str(tmp_path / "x.tar"))
    assert info.transport == "oci-archive" and info.digest == img.manifest_digest
    assert info.names == ["docker.io/team/x:2"]
    with tarfile.open(tmp_path / "d.tar", "w") as t:
        data = json.dumps([{"RepoTags": ["app:3"], "Config": "c.json", "Layers": []}]).encode()
        ti = tarfile.TarInfo("manifest.json")
        ti.size = len(data)
        import io
        t.addfile(ti, io.BytesIO(data))
    assert imagestore.inspect_archive(str(tmp_path / "d.tar")).names == ["app:3"]
    (tmp_path / "junk").write_text("x")
    with pytest.raises(imagestore.ImageStoreError):
        imagestore.inspect_archive(str(tmp_path / "junk"))
    assert imagestore.push_reference("busybox", "10.200.0.10:5000") == "10.200.0.10:5000/library/busybox:latest"
    assert imagestore.display_name("library/busybox", "latest") == "busybox:latest"
    assert imagestore.display_name("team/x", "2") == "team/x:2"

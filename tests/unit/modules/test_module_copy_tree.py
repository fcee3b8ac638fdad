"""copy of a directory tree: one listing, only differing files sent, modes applied, idempotent."""
import os

from modharness import run_module


def test_tree_copy_updates_only_what_differs(tmp_path):
    src = tmp_path / "files" / "wheels"
    (src / "sub").mkdir(parents=True)
    (src / "a.whl").write_bytes(b"A" * 1000)
    (src / "sub" / "b.whl").write_bytes(b"B")
    dest = tmp_path / "node" / "wheelhouse"
    args = {"src": "wheels/", "dest": str(dest) + "/", "mode": "0640"}
    r1 = run_module("copy", args, tmp_path)
    assert r1["changed"] and (dest / "sub" / "b.whl").read_bytes() == b"B"
    assert oct(os.stat(dest / "a.whl").st_mode & 0o777) == "0o640"
    assert run_module("copy", args, tmp_path)["changed"] is False
    (dest / "sub" / "b.whl").write_bytes(b"changed on the node")
    os.chmod(dest / "a.whl", 0o600)
    r3 = run_module("copy", args, tmp_path, check=True)
    assert r3["changed"] and (dest / "sub" / "b.whl").read_bytes() == b"changed on the node"
    assert run_module("copy", args, tmp_path)["changed"]
    assert (dest / "sub" / "b.whl").read_bytes() == b"B"
    assert oct(os.stat(dest / "a.whl").st_mode & 0o777) == "0o640"
    assert run_module("copy", args, tmp_path)["changed"] is False


def test_unarchive_once_then_only_when_archive_changes(tmp_path):
    import io
    import tarfile
    (tmp_path / "files").mkdir()
    dest = tmp_path / "opt"
    dest.mkdir()

    def make(content):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            info = tarfile.TarInfo("bin/tool")
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
        (tmp_path / "files" / "tool.tar").write_bytes(buf.getvalue())
    make(b"v1")
    args = {"src": "tool.tar", "dest": str(dest)}
    assert run_module("unarchive", args, tmp_path)["changed"]
    assert (dest / "bin" / "tool").read_bytes() == b"v1"
    assert run_module("unarchive", args, tmp_path)["changed"] is False
    make(b"v2")
    assert run_module("unarchive", args, tmp_path, check=True)["changed"]
    assert (dest / "bin" / "tool").read_bytes() == b"v1"
    assert run_module("unarchive", args, tmp_path)["changed"]
    assert (dest / "bin" / "tool").read_bytes() == b"v2"


def test_unchanged_file_is_not_read_again_and_its_checksum_is_computed_once(tmp_path, monkeypatch):
    import builtins

    import labctl.modules._util as util
    (tmp_path / "files").mkdir()
    src = tmp_path / "files" / "tool"
    src.write_bytes(b"binary" * 1000)
    os.utime(src, (1_000_000, 1_000_000))
    monkeypatch.setattr(util.time, "time", lambda: os.stat(src).st_ctime + 60)   # ctime is old
    opened = []                                               # opens of the source file
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **kw: (opened.append(1) if str(f) == str(src) else None)
                        or real_open(f, *a, **kw))
    for host in ("h1", "h2", "h3"):                         # three hosts, one file
        assert run_module("copy", {"src": "tool", "dest": str(tmp_path / host)}, tmp_path)["changed"]
    assert len(opened) == 1 + 3                               # hashed once, read for each host
    for host in ("h1", "h2", "h3"):
        assert run_module("copy", {"src": "tool", "dest": str(tmp_path / host)}, tmp_path)["changed"] is False
    assert len(opened) == 4                                   # nothing read or hashed again
    src.write_bytes(b"BINARY" * 1000)                        # same size, new content
    os.utime(src, (2_000_000, 2_000_000))
    assert run_module("copy", {"src": "tool", "dest": str(tmp_path / "h1")}, tmp_path)["changed"]
    assert (tmp_path / "h1").read_bytes() == b"BINARY" * 1000

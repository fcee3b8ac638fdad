"""fileinfo: the checksum cache the SSH helper keeps on a host (a no-change run does not
hash big files again, a changed file always is), and the directory listing copy uses."""
import hashlib
import json
import os

import pytest

from labctl.connections import fileinfo


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache" / "sums.json"
    monkeypatch.setattr(fileinfo, "SUM_CACHE", str(path))
    monkeypatch.setattr(fileinfo, "_sums", None)
    return path


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def test_an_unchanged_file_is_hashed_once(tmp_path, cache, monkeypatch):
    f = tmp_path / "wheel"
    f.write_bytes(b"A" * 4096)
    monkeypatch.setattr(fileinfo.time, "time", lambda: os.stat(f).st_ctime + 60)
    assert fileinfo.file_info(str(f), checksum=True)["sha256"] == _sha(b"A" * 4096)
    assert json.loads(cache.read_text())[str(f)][1] == _sha(b"A" * 4096)
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda p, *a, **kw: opened.append(p) or real_open(p, *a, **kw))
    assert fileinfo.file_info(str(f), checksum=True)["sha256"] == _sha(b"A" * 4096)
    assert str(f) not in opened


@pytest.mark.parametrize("change", ["same size", "new inode", "chmod only"])
def test_a_changed_file_is_hashed_again(tmp_path, cache, monkeypatch, change):
    f = tmp_path / "wheel"
    f.write_bytes(b"A" * 4096)
    clock = {"now": os.stat(f).st_ctime + 60}
    monkeypatch.setattr(fileinfo.time, "time", lambda: clock["now"])
    fileinfo.file_info(str(f), checksum=True)
    want = b"B" * 4096
    if change == "same size":
        f.write_bytes(want)
    elif change == "new inode":
        (tmp_path / "new").write_bytes(want)
        os.replace(tmp_path / "new", f)
    else:
        want = b"A" * 4096
        os.chmod(f, 0o600)
    clock["now"] = os.stat(f).st_ctime + 60
    assert fileinfo.file_info(str(f), checksum=True)["sha256"] == _sha(want)


def test_a_file_changed_in_the_last_seconds_is_not_remembered(tmp_path, cache):
    f = tmp_path / "fresh"
    f.write_bytes(b"new")
    assert fileinfo.file_info(str(f), checksum=True)["sha256"] == _sha(b"new")
    assert not cache.exists()


def test_without_a_cache_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(fileinfo, "SUM_CACHE", None)
    f = tmp_path / "x"
    f.write_bytes(b"x")
    assert fileinfo.file_info(str(f), checksum=True)["sha256"] == _sha(b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_tree_info_lists_what_find_and_sha256sum_would(tmp_path):
    from labctl.connections import LocalConnection
    from labctl.engine.context import TaskContext
    from labctl.modules import copy as copy_mod
    base = tmp_path / "tree"
    (base / "sub").mkdir(parents=True)
    (base / "a").write_bytes(b"a")
    (base / "sub" / "b").write_bytes(b"bb")
    os.chmod(base / "sub" / "b", 0o640)
    os.symlink("a", base / "ln")

    class ShellOnly(LocalConnection):
        tree = None
    listing = {}
    for conn in (LocalConnection("h"), ShellOnly("h")):
        ctx = TaskContext(conn=conn, host="h", vars=None, check_mode=False, diff_mode=False,
                          templar=None, search_dirs=[])
        listing[type(conn).__name__] = {k: list(v) for k, v in copy_mod._remote_tree(ctx, str(base)).items()}
    assert listing["LocalConnection"] == listing["ShellOnly"]
    assert listing["LocalConnection"]["sub/b"][:2] == ["f", 0o640]
    assert listing["LocalConnection"]["ln"][0] == "l" and listing["LocalConnection"]["sub"][0] == "d"

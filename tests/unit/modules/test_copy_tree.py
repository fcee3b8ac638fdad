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

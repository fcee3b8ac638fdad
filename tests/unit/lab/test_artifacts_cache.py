"""The artifact cache (wheelhouse, images) is shared by every labctl run on the machine:
builds take turns, and a leftover of an interrupted build does not break the next one."""
import threading
import time

from labctl import artifacts


def test_a_leftover_file_where_the_build_dir_goes_is_replaced(tmp_path):
    out = tmp_path / "wheels-own"
    (tmp_path / "wheels-own.tmp").write_bytes(b"half a wheel")
    artifacts._rebuild(out, "d1", lambda d: (d / "a.whl").write_text("A"))
    assert (out / "a.whl").read_text() == "A" and (out / ".digest").read_text() == "d1"
    artifacts._rebuild(out, "d1", lambda d: (d / "b.whl").write_text("B"))   # same digest: kept
    assert sorted(p.name for p in out.iterdir()) == [".digest", "a.whl"]


def test_builds_take_turns(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    inside, overlaps = [], []

    def build():
        with artifacts._building():
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.05)
            inside.pop()
    threads = [threading.Thread(target=build) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [1, 1, 1, 1]

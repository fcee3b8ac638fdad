"""WAL checkpoints run beside the batch writer's commits, never inside them."""
import asyncio
import os
import sqlite3
import time

from labkube.storage import SqliteStorage, checkpoint, reader


def _wait_for(cond, seconds=10.0):
    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


async def _fill(store, count, size=4000, start=0):
    pad = "x" * size
    await asyncio.gather(*(store.create(f"/registry/configmaps/ns/c{i}", {"i": i, "data": {"pad": pad}})
                           for i in range(start, start + count)))


async def test_the_writers_connection_never_checkpoints_itself(tmp_path):
    s = await SqliteStorage.open(str(tmp_path / "r.db"))
    assert s._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    await s.close()


async def test_committed_bytes_start_a_checkpoint_that_copies_the_wal_into_the_database(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "EVERY", 64 * 1024)
    path = str(tmp_path / "r.db")
    s = await SqliteStorage.open(path)
    before = os.path.getsize(path)
    await _fill(s, 100)
    _wait_for(lambda: s._checkpointer.runs > 0)
    _wait_for(lambda: os.path.getsize(path) > before + 64 * 1024)  # pages copied into the database file
    assert reader.get(path, "/registry/configmaps/ns/c99")[0]["i"] == 99
    await s.close()


async def test_a_wal_beyond_the_cap_is_emptied(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "EVERY", 32 * 1024)
    monkeypatch.setattr(checkpoint, "CAP", 128 * 1024)
    path = str(tmp_path / "r.db")
    s = await SqliteStorage.open(path)
    for round_ in range(10):
        await _fill(s, 20, start=20 * round_)
    _wait_for(lambda: s._checkpointer.truncates > 0, seconds=60)
    # A starved checkpoint thread may let the WAL pile up for a while (a loaded machine);
    # the next checkpoints must then empty it: a WAL file that only grows never gets small.
    written, end = 0, time.monotonic() + 60
    while os.path.getsize(path + "-wal") >= 800 * 1024:
        assert time.monotonic() < end, "the WAL file was never emptied"
        await _fill(s, 10, start=200 + written)
        written += 10
        await asyncio.sleep(0.05)
    items, _ = await s.list("/registry/configmaps/ns/")
    assert len(items) == 200 + written
    await s.close()


async def test_everything_survives_reopen_after_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "EVERY", 16 * 1024)
    monkeypatch.setattr(checkpoint, "CAP", 64 * 1024)
    path = str(tmp_path / "r.db")
    s = await SqliteStorage.open(path)
    await _fill(s, 300, size=1000)
    rev = s.revision
    await s.close()
    s2 = await SqliteStorage.open(path)
    items, rev2 = await s2.list("/registry/configmaps/ns/")
    assert sorted(v["i"] for _, v, _ in items) == list(range(300)) and rev2 == rev
    await s2.close()


def test_a_failed_checkpoint_is_retried_by_the_next(tmp_path):
    path = str(tmp_path / "r.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (v TEXT)")
    c = checkpoint.Checkpointer(path, every=1)
    try:
        c._conn.close()  # the first attempt fails on a closed connection
        c.committed(10)
        time.sleep(0.2)
        assert c.runs == 0
        c._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("INSERT INTO t VALUES ('x')")
        c.committed(10)
        _wait_for(lambda: c.runs == 1)
    finally:
        c.close()
        conn.close()

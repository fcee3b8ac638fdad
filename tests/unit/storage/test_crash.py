"""A write acknowledged by the SQLite backend survives `kill -9` of the process that made it."""
import os
import signal
import subprocess
import sys
import textwrap

from labkube.storage import SqliteStorage

WRITER = textwrap.dedent("""
    import asyncio, sys
    from labkube.storage import SqliteStorage

    async def main(path):
        s = await SqliteStorage.open(path)
        i = 0
        while True:
            await asyncio.gather(*(s.create(f"/registry/pods/ns/p{i + j}", {"i": i + j}) for j in range(7)))
            i += 7
            print(i, flush=True)   # acknowledged: every key below i is committed

    asyncio.run(main(sys.argv[1]))
""")


async def test_acknowledged_writes_survive_kill_9(tmp_path):
    path = str(tmp_path / "crash.db")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE, text=True)
    acked = 0
    for line in proc.stdout:
        acked = int(line)
        if acked >= 700:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert acked >= 700
    s = await SqliteStorage.open(path)
    items, rev = await s.list("/registry/pods/ns/")
    have = {v["i"] for _, v, _ in items}
    assert set(range(acked)) <= have
    assert rev >= len(have)
    await s.close()


CHECKPOINTING_WRITER = textwrap.dedent("""
    import asyncio, sys
    from labkube.storage import SqliteStorage, checkpoint

    checkpoint.EVERY, checkpoint.CAP = 32 * 1024, 256 * 1024   # checkpoints (and WAL resets) all the time

    async def main(path):
        s = await SqliteStorage.open(path)
        pad = "x" * 2000
        i = 0
        while True:
            await asyncio.gather(*(s.create(f"/registry/pods/ns/p{i + j}", {"i": i + j, "pad": pad}) for j in range(7)))
            i += 7
            print(i, s._checkpointer.runs, flush=True)

    asyncio.run(main(sys.argv[1]))
""")


async def test_acknowledged_writes_survive_kill_9_while_checkpoints_run(tmp_path):
    path = str(tmp_path / "crash.db")
    proc = subprocess.Popen([sys.executable, "-c", CHECKPOINTING_WRITER, path], stdout=subprocess.PIPE, text=True)
    acked = runs = 0
    for line in proc.stdout:
        acked, runs = map(int, line.split())
        if acked >= 1400 and runs >= 3:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert acked >= 1400 and runs >= 3
    s = await SqliteStorage.open(path)
    items, rev = await s.list("/registry/pods/ns/")
    have = {v["i"] for _, v, _ in items}
    assert set(range(acked)) <= have
    await s.close()

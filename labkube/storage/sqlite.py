"""SQLite storage backend: one file in WAL mode, an in-memory index for reads.

Layout: table `kv(key, value JSON, rev)` and `meta(rev)` holding the store's revision
(deletes advance it too; the triggers `kv_rev` and `kv_rev_update` raise it with every row the
writer's upsert inserts or updates in place, so a batch of puts commits as one statement). All
objects are also held in memory (as JSON text) so gets and lists never touch the disk. A write
returns only after the batch writer committed it (synchronous=FULL); events are published to
watchers in commit order.
"""
from __future__ import annotations

import asyncio
import os
import sqlite3

from .. import jsonio
from .errors import KeyExists, KeyNotFound, RevisionConflict
from .checkpoint import Checkpointer
from .hub import WatchHub
from .index import KeyIndex
from .interface import Event, Storage, Watch
from .writer import BatchWriter

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, rev INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), rev INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(id, rev) VALUES (1, 1);
CREATE TRIGGER IF NOT EXISTS kv_rev AFTER INSERT ON kv BEGIN
  UPDATE meta SET rev = NEW.rev WHERE id = 1 AND rev < NEW.rev;
END;
CREATE TRIGGER IF NOT EXISTS kv_rev_update AFTER UPDATE ON kv BEGIN
  UPDATE meta SET rev = NEW.rev WHERE id = 1 AND rev < NEW.rev;
END;
"""


def stamp_resource_version(value: dict, rev: int) -> None:
    """The default versioner: stored Kubernetes objects carry their revision as resourceVersion."""
    md = value.get("metadata") if isinstance(value, dict) else None
    if isinstance(md, dict):
        md["resourceVersion"] = str(rev)


# how many handed-over objects the store keeps (hand_over): a pod's binding and its status write are
# a few dozen writes apart in a drain (a bound pod's object is ~6.5 kB: ~7 MB at most)
HANDED_MAX = 1024


class SqliteStorage(Storage):
    """Storage over a SQLite file; open with `await SqliteStorage.open(path)`.

    Two in-memory views: `latest` (every write as soon as it is accepted; preconditions and
    read-modify-write see it) and `committed` (only what is durably on disk; plain reads,
    lists and watch starts see it, so nothing unacknowledged is ever visible)."""

    def __init__(self, path: str, history: int = 10000, watch_buffer: int = 10000, versioner=stamp_resource_version,
                 durable: bool = True):
        self.path = path
        self._versioner = versioner
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before it is acknowledged; OFF only for throwaway test stores
        conn.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=OFF")
        conn.executescript(_SCHEMA)
        conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run beside the commits (checkpoint.py)
        self._rev = conn.execute("SELECT rev FROM meta WHERE id = 1").fetchone()[0]
        self._latest, self._committed = KeyIndex(), KeyIndex()
        # key -> the text this store last wrote there with orjson (the very object the indexes hold):
        # `parse` reads it back without jsonio's check for a run of 19 digits (loads_copies'
        # orjson_wrote; ~1 us per kB on every read-modify-write)
        self._own: dict[str, str] = {}
        # key -> (the text stored there, the object it was written from): objects their writers
        # handed over (hand_over), each given out once, by the next parse of that very text, instead
        # of a decode (a pod's status write reads what its binding stored); bounded: the oldest
        # goes first
        self._handed: dict[str, tuple[str, dict]] = {}
        for key, value, rev in conn.execute("SELECT key, value, rev FROM kv"):
            if versioner is not None and f'"resourceVersion":"{rev}"' not in value:
                obj = jsonio.loads(value)  # written before values carried their revision
                versioner(obj, rev)
                value = jsonio.dumps_str(obj)
            self._latest.put(key, value, rev)
            self._committed.put(key, value, rev)
        self._checkpointer = Checkpointer(path, durable)
        self._writer = BatchWriter(conn, committed=self._checkpointer.committed)
        self._conn = conn
        self._hub = WatchHub(self._rev, history, watch_buffer)
        self._closed = False
        self._failed = False

    @classmethod
    async def open(cls, path: str, history: int = 10000, watch_buffer: int = 10000,
                   versioner=stamp_resource_version, durable: bool = True) -> "SqliteStorage":
        return await asyncio.to_thread(cls, path, history, watch_buffer, versioner, durable)

    @property
    def revision(self) -> int:
        """The newest committed revision (what readers can see)."""
        return self._hub.last_rev

    def _view(self, latest: bool) -> KeyIndex:
        return self._latest if latest else self._committed

    async def get(self, key: str, latest: bool = False) -> tuple[dict, int]:
        hit = self._view(latest).get(key)
        if hit is None:
            raise KeyNotFound(f"{key} not found", key)
        return jsonio.loads(hit[0]), hit[1]

    async def get_raw(self, key: str, latest: bool = False) -> tuple[str, int]:
        hit = self._view(latest).get(key)
        if hit is None:
            raise KeyNotFound(f"{key} not found", key)
        return hit

    def get_raw_nowait(self, key: str) -> tuple[str, int] | None:
        """get_raw of the committed value without awaiting (the index is in memory); None if absent."""
        return self._committed.get(key)

    def hand_over(self, key: str, value: dict, rev: int) -> None:
        """Storage.hand_over: kept when the latest text at key is revision rev's and orjson wrote it
        from `value` (_own: the text orjson.dumps(value) gave, which orjson reads back as `value`)."""
        hit = self._latest.get(key)
        if hit is None or hit[1] != rev or self._own.get(key) is not hit[0]:
            return
        handed = self._handed
        handed.pop(key, None)
        if len(handed) >= HANDED_MAX:
            del handed[next(iter(handed))]
        handed[key] = (hit[0], value)

    def parse(self, key: str, text: str, n: int = 1) -> list:
        """jsonio.loads_copies(text, n), without the digit check when this store wrote that very
        text at key with orjson (the same values: see _own); the first of them the object handed
        over for that very text (hand_over), if any, which is given out once."""
        handed = self._handed.pop(key, None)
        if handed is not None and handed[0] is text:
            if n == 1:
                return [handed[1]]
            return [handed[1]] + jsonio.loads_copies(text, n - 1, orjson_wrote=self._own.get(key) is text)
        return jsonio.loads_copies(text, n, orjson_wrote=self._own.get(key) is text)

    async def list(self, prefix: str, latest: bool = False):
        rev = self._rev if latest else self._hub.last_rev
        return [(k, jsonio.loads(v), r) for k, v, r in self._view(latest).scan(prefix)], rev

    async def any(self, prefix: str, latest: bool = False) -> bool:
        return self._view(latest).any(prefix)

    def changes(self, prefix: str) -> int | None:
        return self._committed.changes(prefix)

    async def list_raw(self, prefix: str):
        return self._committed.scan(prefix), self._hub.last_rev

    async def _write(self, ops, event: Event) -> None:
        def committed() -> None:
            if event.type == "DELETED":
                self._committed.delete(event.key)
            else:
                self._committed.put(event.key, event.text, event.rev)
            self._hub.publish(event)
        fut = self._writer.submit(asyncio.get_running_loop(), ops, committed)
        try:
            # no shield needed: a cancelled waiter cancels only its future; the commit and its
            # `committed` step (index, watchers) happen regardless (writer._resolve)
            await fut
        except Exception:
            # the commit failed: forget the accepted write and report unhealthy until restarted
            self._failed = True
            prev = self._committed.get(event.key)
            if prev is None:
                self._latest.delete(event.key)
            else:
                self._latest.put(event.key, *prev)
            raise

    async def create(self, key: str, value: dict) -> int:
        if self._latest.get(key) is not None:
            raise KeyExists(f"{key} already exists", key)
        return await self._put(key, value, None)

    async def update(self, key: str, value: dict, expected_rev: int | None = None) -> int:
        hit = self._latest.get(key)
        if hit is None:
            raise KeyNotFound(f"{key} not found", key)
        if expected_rev is not None and hit[1] != expected_rev:
            raise RevisionConflict(f"{key}: revision {expected_rev} != {hit[1]}", key)
        return await self._put(key, value, hit[0])

    async def _put(self, key: str, value: dict, prev_text: str | None) -> int:
        self._rev += 1
        rev = self._rev
        if self._versioner is not None:
            self._versioner(value, rev)
        text, orjson_wrote = jsonio.dumps_str_by(value)
        if orjson_wrote:
            self._own[key] = text
        else:
            self._own.pop(key, None)
        if key in self._handed:  # (an object handed over for the text this write replaces)
            del self._handed[key]
        self._latest.put(key, text, rev)
        ev = Event("ADDED" if prev_text is None else "MODIFIED", key, rev, text, prev_text)
        await self._write([("put", key, text, rev)], ev)
        return rev

    async def delete(self, key: str, expected_rev: int | None = None) -> tuple[dict, int]:
        hit = self._latest.get(key)
        if hit is None:
            raise KeyNotFound(f"{key} not found", key)
        if expected_rev is not None and hit[1] != expected_rev:
            raise RevisionConflict(f"{key}: revision {expected_rev} != {hit[1]}", key)
        self._rev += 1
        rev = self._rev
        self._latest.delete(key)
        self._own.pop(key, None)
        self._handed.pop(key, None)
        await self._write([("del", key, rev)], Event("DELETED", key, rev, hit[0], hit[0]))
        return jsonio.loads(hit[0]), rev

    def watch(self, prefix: str, from_rev: int) -> Watch:
        return self._hub.watch(prefix, from_rev)

    @property
    def committed_revision(self) -> int:
        """Newest revision whose event every watcher has been handed (safe for bookmarks)."""
        return self._hub.last_rev

    def end_watches(self) -> None:
        self._hub.close_all()

    async def healthy(self) -> bool:
        return not self._closed and not self._failed

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._hub.close_all()
        await asyncio.to_thread(self._writer.close)
        await asyncio.to_thread(self._checkpointer.close)
        self._conn.close()

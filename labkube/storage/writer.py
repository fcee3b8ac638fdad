"""A background thread that commits SQLite writes in batches.

Writes submitted during one event-loop iteration are handed to the thread together
(one wake-up), and writes queued while a transaction is being committed are grouped
into the next transaction (one fsync for many writes). Each write's future resolves
only after its transaction committed, in submission order, on the submitting loop.

The thread shares the interpreter lock with the event loop: SQLite releases it around every
statement step, and each time the thread wants it back while the loop is busy it may wait a
whole switch interval. So a batch's puts go in as few statements as possible: multi-row
`INSERT ... VALUES (...), (...) ON CONFLICT(key) DO UPDATE` in chunks of power-of-two sizes (a
handful of cached statements; rows apply in order, so a later put of a key wins), rather than one
step per row. The upsert updates a stored key's row in place (INSERT OR REPLACE deleted and
re-inserted it: about four times the WAL pages per update).

A batch of puts only (the common case: creates and updates, no deletes) of up to `single_max`
rows is even one statement in autocommit mode - one step, one interpreter-lock hand-back,
instead of BEGIN, the INSERTs, the revision update and COMMIT each stepping on their own
while the loop is busy with the next batch's requests. Its row count is padded to a power of
two by repeating its last row (the same key, value and revision again: a no-op for the result)
so a handful of statements stay cached; the schema's `kv_rev` (insert) and `kv_rev_update`
(update) triggers advance meta.rev within that statement. A batch with deletes or more rows
takes the transaction as before.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from typing import Callable

log = logging.getLogger(__name__)

Op = tuple  # ("put", key, json, rev) | ("del", key, rev)
_STOP = object()
_PUT = "INSERT INTO kv(key, value, rev) VALUES "
# an upsert: a stored key's row is updated where it is (its leaf page, usually one page); INSERT
# OR REPLACE deleted it and inserted it anew under a new rowid (the old and the new leaf, the
# key's index entry, the freelist): a pod update wrote ~4x the WAL bytes, ~2x the writer's CPU
_UPSERT = " ON CONFLICT(key) DO UPDATE SET value = excluded.value, rev = excluded.rev"
_CHUNKS = (256, 64, 16, 4, 1)  # rows per multi-row INSERT (256 x 3 parameters: far below SQLite's limit)


def _put_sql(rows: int) -> str:
    return _PUT + ", ".join(["(?, ?, ?)"] * rows) + _UPSERT


_PUT_SQL = {n: _put_sql(n) for n in _CHUNKS}


def single_max(conn: sqlite3.Connection, cap: int = 1024) -> int:
    """The most rows one put statement may hold: a power of two within SQLite's variable limit."""
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // 3
    n = 1
    while n * 2 <= min(cap, limit):
        n *= 2
    return n


def padded_puts(puts: list) -> tuple[str, list]:
    """(SQL, parameters) of one INSERT storing `puts` in order, its rows padded to a power of two
    with copies of the last row (the same row stored again changes nothing)."""
    n = 1
    while n < len(puts):
        n *= 2
    sql = _PUT_SQL.get(n)
    if sql is None:
        sql = _PUT_SQL[n] = _put_sql(n)
    params = [v for row in puts for v in row]
    params.extend(puts[-1] * (n - len(puts)))
    return sql, params


def insert_puts(conn: sqlite3.Connection, puts: list) -> None:
    """Store [(key, value, rev)] in order, in as few statement steps as the chunk sizes allow."""
    i, total = 0, len(puts)
    for n in _CHUNKS:
        while total - i >= n:
            conn.execute(_PUT_SQL[n], [v for row in puts[i:i + n] for v in row])
            i += n


class BatchWriter:
    """Owns the write connection; `submit` returns a future set after commit."""

    def __init__(self, conn: sqlite3.Connection, max_batch: int = 2000, committed: Callable[[int], None] | None = None):
        self._conn = conn
        self._committed = committed  # told about how many bytes each commit wrote (checkpoint.py)
        self._page = conn.execute("PRAGMA page_size").fetchone()[0]
        self._max = max_batch
        self._single_max = single_max(conn)
        self._q: queue.SimpleQueue = queue.SimpleQueue()  # C-level: no Python lock work per hand-over
        self._pending: list = []
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()

    def submit(self, loop: asyncio.AbstractEventLoop, ops: list[Op],
               on_commit: Callable[[], None]) -> asyncio.Future:
        fut = loop.create_future()
        if not self._pending:
            loop.call_soon(self._hand_over)
        self._pending.append((loop, ops, on_commit, fut))
        return fut

    def _hand_over(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            self._q.put(batch)

    def _run(self) -> None:
        while True:
            first = self._q.get()
            if first is _STOP:
                return
            batch = list(first)
            stop = False
            while len(batch) < self._max:
                try:
                    more = self._q.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.extend(more)
            err = self._commit(batch)
            if err is None and self._committed is not None:
                # about what the commit appended to the WAL: its rows plus the pages around them
                self._committed(sum(len(op[1]) + len(op[2]) if op[0] == "put" else len(op[1])
                                    for _loop, ops, _cb, _fut in batch for op in ops) + 2 * self._page)
            by_loop: dict = {}
            for loop, _ops, on_commit, fut in batch:
                by_loop.setdefault(loop, []).append((on_commit, fut))
            for loop, items in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_resolve, items, err)
                except RuntimeError:  # the loop is gone; nobody waits any more
                    pass
            if stop:
                return

    def _commit(self, batch) -> Exception | None:
        c = self._conn
        ops = [op for _loop, batch_ops, _cb, _fut in batch for op in batch_ops]
        if 0 < len(ops) <= self._single_max and all(op[0] == "put" for op in ops):
            try:  # one autocommitted statement; the kv_rev / kv_rev_update triggers keep meta.rev
                c.execute(*padded_puts([op[1:4] for op in ops]))
                return None
            except Exception as e:  # noqa: BLE001 - reported to every waiting writer
                log.exception("sqlite commit failed")
                return e
        try:
            c.execute("BEGIN IMMEDIATE")
            top = None
            puts: list = []  # consecutive puts go in together (insert_puts, in order: a later op on a key wins)
            for _loop, ops, _cb, _fut in batch:
                for op in ops:
                    if op[0] == "put":
                        puts.append(op[1:4])
                        top = op[3]
                    elif op[0] == "del":
                        if puts:
                            insert_puts(c, puts)
                            puts = []
                        c.execute("DELETE FROM kv WHERE key = ?", (op[1],))
                        top = op[2]
            if puts:
                insert_puts(c, puts)
            if top is not None:
                c.execute("UPDATE meta SET rev = ? WHERE id = 1", (top,))
            c.execute("COMMIT")
            return None
        except Exception as e:  # noqa: BLE001 - reported to every waiting writer
            log.exception("sqlite commit failed")
            try:
                c.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            return e

    def close(self) -> None:
        self._q.put(_STOP)
        self._thread.join(timeout=30)


def _resolve(items, err) -> None:
    for on_commit, fut in items:
        if err is None:
            on_commit()
            if not fut.done():
                fut.set_result(None)
        elif not fut.done():
            fut.set_exception(err)

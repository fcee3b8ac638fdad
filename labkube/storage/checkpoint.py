"""WAL checkpoints off the commit path: a thread with its own connection copies the WAL back
into the database file while the batch writer keeps committing.

SQLite's automatic checkpoint runs inside the commit that crosses `wal_autocheckpoint` pages:
that one batch then also copies ~4 MB into the database file and fsyncs it (25-50 ms instead
of ~3 ms, every ~1,300 pod creates), and every client whose write is in it waits for that -
the write tail. So the writer's connection turns it off and reports what it committed here;
after `every` bytes this thread runs a PASSIVE checkpoint on its own connection, which takes no
lock the writer needs (WAL lets one writer and one checkpointer work at once).

A PASSIVE checkpoint copies only the frames committed before it began, and SQLite restarts the
WAL from its start only when a write finds every frame copied, which a steady write load may
never let happen; and a restarted WAL file never shrinks. So when a PASSIVE checkpoint leaves
the WAL file larger than `cap` bytes, a TRUNCATE follows at once: it waits for the writer's
current commit, copies the few frames left and empties the file (one short pause per `cap`
bytes written, instead of one long one per 4 MB).

Durability is unchanged: commits are durable in the WAL (synchronous=FULL) before they are
acknowledged, and this connection syncs as the writer's does (the WAL before copying, the
database file after), so a checkpoint never drops a frame the database file does not hold.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading

log = logging.getLogger(__name__)

EVERY = 4 * 1024 * 1024   # committed bytes between checkpoints (SQLite's default: 1,000 pages)
CAP = 64 * 1024 * 1024    # WAL size beyond which the checkpoint also empties the WAL


class Checkpointer:
    """Runs the store's checkpoints in a thread of its own; `committed(nbytes)` after each commit."""

    def __init__(self, path: str, durable: bool = True, every: int | None = None, cap: int | None = None):
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=OFF")
        self._page = self._conn.execute("PRAGMA page_size").fetchone()[0]
        self._every = EVERY if every is None else every
        self._cap = CAP if cap is None else cap
        self._pending = 0          # bytes committed since the last checkpoint began
        self._cond = threading.Condition()
        self._stop = False
        self.runs = 0              # checkpoints done (for tests and curiosity)
        self.truncates = 0         # of which emptied the WAL file
        self._wal = path + "-wal"
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def committed(self, nbytes: int) -> None:
        """The writer committed about `nbytes` more to the WAL (called from the writer's thread)."""
        with self._cond:
            self._pending += nbytes
            if self._pending >= self._every:
                self._cond.notify()

    def _run(self) -> None:
        truncate = False
        while True:
            with self._cond:
                while not self._stop and not truncate and self._pending < self._every:
                    self._cond.wait()
                if self._stop:
                    return
                self._pending = 0
            try:
                mode = "TRUNCATE" if truncate else "PASSIVE"
                self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
                self.runs += 1
                self.truncates += truncate
                truncate = not truncate and self._wal_size() > self._cap
            except sqlite3.Error:  # the next one retries; the writer's commits do not depend on it
                truncate = False
                log.exception("sqlite checkpoint failed")

    def _wal_size(self) -> int:
        try:
            return os.path.getsize(self._wal)
        except OSError:
            return 0

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=30)
        self._conn.close()

"""Read a SQLite store directly (read-only, safe while the apiserver runs): the lab's answer
to `etcdctl get --prefix /registry`. Used by `python -m labkube.storage` and by labctl.

    keys(path, "/registry/pods/")          -> [(key, rev)]
    get(path, "/registry/pods/default/web") -> (object, rev) or None
"""
from __future__ import annotations

import json
import sqlite3


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def keys(path: str, prefix: str = "/registry/") -> list[tuple[str, int]]:
    with _connect(path) as conn:
        rows = conn.execute("SELECT key, rev FROM kv WHERE key >= ? AND key < ? ORDER BY key",
                            (prefix, prefix + "\U0010ffff")).fetchall()
    return [(k, r) for k, r in rows]


def get(path: str, key: str) -> tuple[dict, int] | None:
    with _connect(path) as conn:
        row = conn.execute("SELECT value, rev FROM kv WHERE key = ?", (key,)).fetchone()
    return (json.loads(row[0]), row[1]) if row else None


def revision(path: str) -> int:
    with _connect(path) as conn:
        return conn.execute("SELECT rev FROM meta WHERE id = 1").fetchone()[0]

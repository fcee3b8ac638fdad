"""Storage semantics of the SQLite backend: revisions, preconditions, watch, 410, durability."""
import asyncio

import pytest

from labkube.storage import Expired, KeyExists, KeyNotFound, RevisionConflict, SqliteStorage


@pytest.fixture
async def store(tmp_path):
    s = await SqliteStorage.open(str(tmp_path / "r.db"), history=5)
    yield s
    await s.close()


async def test_revisions_increase_across_keys(store):
    r1 = await store.create("/registry/pods/a/x", {"v": 1})
    r2 = await store.create("/registry/configmaps/a/y", {"v": 2})
    r3 = await store.update("/registry/pods/a/x", {"v": 3})
    _, r4 = await store.delete("/registry/configmaps/a/y")
    assert r1 < r2 < r3 < r4 == store.revision


@pytest.mark.parametrize("op,exc", [
    ("create-twice", KeyExists),
    ("update-missing", KeyNotFound),
    ("delete-missing", KeyNotFound),
    ("update-stale", RevisionConflict),
    ("delete-stale", RevisionConflict),
])
async def test_errors(store, op, exc):
    rev = await store.create("/registry/pods/a/x", {"v": 1})
    with pytest.raises(exc):
        if op == "create-twice":
            await store.create("/registry/pods/a/x", {})
        elif op == "update-missing":
            await store.update("/registry/pods/a/nope", {})
        elif op == "delete-missing":
            await store.delete("/registry/pods/a/nope")
        elif op == "update-stale":
            await store.update("/registry/pods/a/x", {}, expected_rev=rev - 1)
        else:
            await store.delete("/registry/pods/a/x", expected_rev=rev + 5)


async def test_update_with_matching_precondition(store):
    rev = await store.create("/registry/pods/a/x", {"v": 1})
    new = await store.update("/registry/pods/a/x", {"v": 2}, expected_rev=rev)
    assert (await store.get("/registry/pods/a/x")) == ({"v": 2}, new)


async def test_list_by_prefix_sorted(store):
    for k in ["/registry/pods/b/2", "/registry/pods/a/1", "/registry/pods/b/1", "/registry/podsx/a/1"]:
        await store.create(k, {"k": k})
    items, rev = await store.list("/registry/pods/b/")
    assert [k for k, _, _ in items] == ["/registry/pods/b/1", "/registry/pods/b/2"]
    items, _ = await store.list("/registry/pods/")
    assert len(items) == 3
    assert rev == store.revision


async def test_returned_values_are_copies(store):
    await store.create("/registry/pods/a/x", {"v": 1})
    v, _ = await store.get("/registry/pods/a/x")
    v["v"] = 99
    assert (await store.get("/registry/pods/a/x"))[0] == {"v": 1}


async def test_watch_pushes_events_from_revision(store):
    r0 = await store.create("/registry/pods/a/x", {"v": 1})
    w = store.watch("/registry/pods/", r0)
    await store.update("/registry/pods/a/x", {"v": 2})
    await store.create("/registry/configmaps/a/x", {})
    await store.delete("/registry/pods/a/x")
    got = []
    async for ev in w:
        got.append((ev.type, ev.obj))
        if len(got) == 2:
            w.close()
    assert got == [("MODIFIED", {"v": 2}), ("DELETED", {"v": 2})]


async def test_watch_resume_replays_history(store):
    r0 = await store.create("/registry/pods/a/x", {"v": 1})
    await store.update("/registry/pods/a/x", {"v": 2})
    w = store.watch("/registry/pods/", r0 - 1)
    it = aiter(w)
    assert (await anext(it)).type == "ADDED"
    assert (await anext(it)).type == "MODIFIED"
    w.close()


async def test_too_old_revision_is_expired(store):
    first = await store.create("/registry/pods/a/x", {"v": 0})
    for i in range(10):
        await store.update("/registry/pods/a/x", {"v": i})
    with pytest.raises(Expired):
        store.watch("/registry/pods/", first)
    store.watch("/registry/pods/", store.revision - 2).close()


async def test_slow_watcher_is_closed_not_grown(tmp_path):
    s = await SqliteStorage.open(str(tmp_path / "r.db"), watch_buffer=3)
    w = s.watch("/registry/", s.revision)
    for i in range(6):
        await s.create(f"/registry/pods/a/{i}", {})
    got = [ev async for ev in w]
    assert len(got) == 3 and w.closed_reason
    await s.close()


async def test_durable_across_reopen(tmp_path):
    path = str(tmp_path / "r.db")
    s = await SqliteStorage.open(path)
    await s.create("/registry/pods/a/x", {"v": 1})
    await s.create("/registry/pods/a/y", {"v": 1})
    _, last = await s.delete("/registry/pods/a/y")
    await s.close()
    s2 = await SqliteStorage.open(path)
    assert (await s2.get("/registry/pods/a/x"))[0] == {"v": 1}
    with pytest.raises(KeyNotFound):
        await s2.get("/registry/pods/a/y")
    assert s2.revision == last
    with pytest.raises(Expired):
        s2.watch("/registry/", last - 1)
    await s2.close()


async def test_concurrent_writes_all_committed(tmp_path):
    path = str(tmp_path / "r.db")
    s = await SqliteStorage.open(path)
    revs = await asyncio.gather(*(s.create(f"/registry/pods/a/{i}", {"i": i}) for i in range(200)))
    assert sorted(revs) == revs and len(set(revs)) == 200
    # read the file with a separate connection: everything acknowledged is on disk
    import sqlite3
    n = sqlite3.connect(path).execute("SELECT count(*) FROM kv").fetchone()[0]
    assert n == 200
    await s.close()


async def test_stored_objects_carry_their_revision(tmp_path):
    import sqlite3
    path = str(tmp_path / "r.db")
    s = await SqliteStorage.open(path)
    rev = await s.create("/registry/pods/a/x", {"metadata": {"name": "x"}})
    items, _ = await s.list_raw("/registry/pods/")
    assert f'"resourceVersion":"{rev}"' in items[0][1]
    await s.close()
    conn = sqlite3.connect(path)  # a row as an older version stored it: without the revision
    conn.execute("UPDATE kv SET value = ? WHERE key = ?", ('{"metadata":{"name":"x"}}', "/registry/pods/a/x"))
    conn.commit()
    conn.close()
    s = await SqliteStorage.open(path)
    items, _ = await s.list_raw("/registry/pods/")
    assert f'"resourceVersion":"{rev}"' in items[0][1]
    await s.close()


async def test_uncommitted_writes_are_invisible_to_readers(store):
    base = await store.create("/registry/pods/a/x", {"v": 1})
    pending = asyncio.ensure_future(store.update("/registry/pods/a/x", {"v": 2}))
    await asyncio.sleep(0)  # the write is accepted (memory) but not yet committed
    assert (await store.get("/registry/pods/a/x")) == ({"v": 1}, base)
    assert (await store.get("/registry/pods/a/x", latest=True))[0] == {"v": 2}
    items, rev = await store.list("/registry/pods/")
    assert items[0][1] == {"v": 1} and rev == base
    with pytest.raises(RevisionConflict):  # preconditions see the accepted write
        await store.update("/registry/pods/a/x", {"v": 3}, expected_rev=base)
    new = await pending
    assert (await store.get("/registry/pods/a/x")) == ({"v": 2}, new) and store.revision == new


async def test_failed_commit_is_forgotten_and_reported(store, monkeypatch):
    await store.create("/registry/pods/a/x", {"v": 1})
    monkeypatch.setattr(store._writer, "_commit", lambda batch: OSError("disk full"))
    with pytest.raises(OSError):
        await store.update("/registry/pods/a/x", {"v": 2})
    with pytest.raises(OSError):
        await store.create("/registry/pods/a/y", {"v": 1})
    assert (await store.get("/registry/pods/a/x", latest=True))[0] == {"v": 1}
    with pytest.raises(KeyNotFound):
        await store.get("/registry/pods/a/y", latest=True)
    assert await store.healthy() is False


@pytest.mark.parametrize("prefix,want", [
    ("/registry/limitranges/a/", True),
    ("/registry/limitranges/b/", False),
    ("/registry/limitranges/", True),
    ("/registry/resourcequotas/a/", False),
    ("/registry/", True),
])
async def test_any_under_a_prefix(store, prefix, want):
    await store.create("/registry/limitranges/a/x", {"v": 1})
    assert await store.any(prefix) is want


async def test_any_and_get_raw_see_accepted_writes_only_when_asked(store):
    pending = asyncio.ensure_future(store.create("/registry/resourcequotas/a/q", {"v": 1}))
    await asyncio.sleep(0)  # accepted, not yet committed
    assert await store.any("/registry/resourcequotas/a/") is False
    assert await store.any("/registry/resourcequotas/a/", latest=True) is True
    with pytest.raises(KeyNotFound):
        await store.get_raw("/registry/resourcequotas/a/q")
    assert '"v":1' in (await store.get_raw("/registry/resourcequotas/a/q", latest=True))[0]
    await pending
    assert await store.any("/registry/resourcequotas/a/") is True


async def test_a_batch_of_puts_and_deletes_keeps_their_order(tmp_path):
    import sqlite3
    path = str(tmp_path / "r.db")
    s = await SqliteStorage.open(path)
    await s.create("/registry/pods/a/x", {"v": 0})
    # one event-loop iteration: all three go into one transaction
    await asyncio.gather(s.delete("/registry/pods/a/x"), s.create("/registry/pods/a/y", {"v": 1}),
                         s.update("/registry/pods/a/y", {"v": 2}))
    await s.close()
    rows = dict(sqlite3.connect(path).execute("SELECT key, value FROM kv").fetchall())
    assert list(rows) == ["/registry/pods/a/y"] and '"v":2' in rows["/registry/pods/a/y"]


async def test_a_cancelled_writer_still_commits_and_publishes(store):
    w = store.watch("/registry/pods/", store.revision)
    task = asyncio.ensure_future(store.create("/registry/pods/a/c", {"v": 1}))
    await asyncio.sleep(0)  # accepted and handed to the writer
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    ev = await w.next_event(timeout=5)
    assert (ev.type, ev.key) == ("ADDED", "/registry/pods/a/c")
    assert (await store.get("/registry/pods/a/c"))[0] == {"v": 1}
    w.close()


@pytest.mark.parametrize("rows", [1, 3, 4, 5, 17, 63, 64, 65, 300, 1000])
def test_batched_puts_store_every_row_and_the_last_put_of_a_key_wins(tmp_path, rows):
    """The writer's multi-row inserts (chunks of 256/64/16/4/1 rows) against one row per put."""
    import sqlite3

    from labkube.storage.writer import insert_puts
    puts = [(f"/registry/pods/a/p{i % 7 if i % 2 else i}", f'{{"i":{i}}}', i + 1) for i in range(rows)]
    conn = sqlite3.connect(str(tmp_path / "r.db"), isolation_level=None)
    conn.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, rev INTEGER NOT NULL)")
    insert_puts(conn, puts)
    want: dict = {}
    for k, v, r in puts:
        want[k] = (v, r)
    assert {k: (v, r) for k, v, r in conn.execute("SELECT key, value, rev FROM kv")} == want


PADDED_CASES = [  # (rows in the batch, rows of the statement: the next power of two)
    (1, 1), (2, 2), (3, 4), (5, 8), (50, 64), (64, 64), (65, 128), (1000, 1024), (1024, 1024),
]


@pytest.mark.parametrize("rows,statement_rows", PADDED_CASES)
def test_a_padded_put_statement_stores_what_one_row_per_put_would(tmp_path, rows, statement_rows):
    """The writer's single-statement commit: padding repeats the last row; meta.rev by the trigger."""
    import sqlite3

    from labkube.storage.sqlite import _SCHEMA
    from labkube.storage.writer import padded_puts
    puts = [(f"/registry/pods/a/p{i % 7 if i % 2 else i}", f'{{"i":{i}}}', i + 2) for i in range(rows)]
    conn = sqlite3.connect(str(tmp_path / "r.db"), isolation_level=None)
    conn.executescript(_SCHEMA)
    sql, params = padded_puts(puts)
    assert sql.count("(?, ?, ?)") == statement_rows and len(params) == 3 * statement_rows
    conn.execute(sql, params)
    want: dict = {}
    for k, v, r in puts:
        want[k] = (v, r)
    assert {k: (v, r) for k, v, r in conn.execute("SELECT key, value, rev FROM kv")} == want
    assert conn.execute("SELECT rev FROM meta").fetchone()[0] == rows + 1


def test_single_statement_size_stays_within_sqlites_variable_limit(tmp_path):
    import sqlite3

    from labkube.storage.writer import single_max
    conn = sqlite3.connect(str(tmp_path / "r.db"))
    assert single_max(conn) == 1024      # SQLite >= 3.32 allows 32,766 variables
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)  # older SQLite's default
    assert single_max(conn) == 256       # 256 rows x 3 <= 999 < 512 x 3
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 3)
    assert single_max(conn) == 1


async def test_a_failed_single_statement_commit_is_reported(store, monkeypatch):
    from labkube.storage import writer
    await store.create("/registry/pods/a/x", {"v": 1})

    def broken(puts):
        return "INSERT INTO no_such_table VALUES (?)", [1]
    monkeypatch.setattr(writer, "padded_puts", broken)
    with pytest.raises(Exception, match="no_such_table"):
        await store.create("/registry/pods/a/y", {"v": 1})
    with pytest.raises(KeyNotFound):
        await store.get("/registry/pods/a/y", latest=True)
    assert await store.healthy() is False


async def test_a_store_made_before_the_revision_trigger_gets_it_and_keeps_its_revision(tmp_path):
    import sqlite3
    path = str(tmp_path / "r.db")
    conn = sqlite3.connect(path)  # the schema as it was before the kv_rev trigger, with one stored row
    conn.executescript("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, rev INTEGER NOT NULL);"
                       "CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), rev INTEGER NOT NULL);"
                       "INSERT INTO meta(id, rev) VALUES (1, 7);"
                       """INSERT INTO kv VALUES ('/registry/pods/a/old', '{"v":0}', 7);""")
    conn.close()
    s = await SqliteStorage.open(path)
    revs = await asyncio.gather(*(s.create(f"/registry/pods/a/p{i}", {"v": i}) for i in range(5)))
    assert revs == [8, 9, 10, 11, 12]
    await s.close()
    assert sqlite3.connect(path).execute("SELECT rev FROM meta").fetchone()[0] == 12
    s = await SqliteStorage.open(path)
    assert s.revision == 12 and len((await s.list("/registry/pods/"))[0]) == 6
    await s.close()


# batches within one INSERT statement (single statement up to 1,024 rows), and over several in a
# transaction (more rows than one statement holds)
@pytest.mark.parametrize("puts", [1, 40, 300, 1024, 1025, 1500])
async def test_stored_revision_follows_a_batch_of_puts(tmp_path, puts):
    import sqlite3
    path = str(tmp_path / "r.db")
    s = await SqliteStorage.open(path)
    await asyncio.gather(*(s.create(f"/registry/pods/a/p{i}", {"v": i}) for i in range(puts)))
    rev = s.revision
    await s.close()
    assert sqlite3.connect(path).execute("SELECT rev FROM meta").fetchone()[0] == rev
    s = await SqliteStorage.open(path)
    assert s.revision == rev and len((await s.list("/registry/pods/"))[0]) == puts
    assert await s.create("/registry/pods/a/next", {}) == rev + 1
    await s.close()


CHANGES_CASES = [  # (what is written, prefix asked about, whether its change count moves)
    ("a create in the bucket", [("create", "/registry/priorityclasses/a")], "/registry/priorityclasses/", True),
    ("an update in the bucket", [("update", "/registry/priorityclasses/x")], "/registry/priorityclasses/", True),
    ("a delete in the bucket", [("delete", "/registry/priorityclasses/x")], "/registry/priorityclasses/", True),
    ("a namespaced prefix shares its resource's bucket", [("create", "/registry/pods/b/p")],
     "/registry/pods/a/", True),
    ("another resource", [("create", "/registry/pods/a/p")], "/registry/priorityclasses/", False),
]


@pytest.mark.parametrize("what,writes,prefix,moves", CHANGES_CASES, ids=[c[0] for c in CHANGES_CASES])
async def test_change_count_of_a_resource_bucket(store, what, writes, prefix, moves):
    await store.create("/registry/priorityclasses/x", {"v": 0})
    before = store.changes(prefix)
    for op, key in writes:
        if op == "create":
            await store.create(key, {"v": 1})
        elif op == "update":
            await store.update(key, {"v": 2})
        else:
            await store.delete(key)
    assert (store.changes(prefix) != before) is moves, what


async def test_change_count_follows_commits_and_is_none_above_a_bucket(store):
    assert store.changes("/registry/") is None and store.changes("/registry/priorityclasses/") == 0
    pending = asyncio.ensure_future(store.create("/registry/priorityclasses/x", {"v": 1}))
    await asyncio.sleep(0)  # accepted, not yet committed
    assert store.changes("/registry/priorityclasses/") == 0
    await pending
    assert store.changes("/registry/priorityclasses/") == 1


def test_key_index_counts_only_real_changes():
    from labkube.storage.index import KeyIndex
    ix = KeyIndex()
    ix.delete("/registry/pods/a/none")              # nothing there: nothing changed
    assert ix.changes("/registry/pods/") == 0 and not ix.any("/registry/pods/")
    ix.put("/registry/pods/a/x", "{}", 2)
    ix.put("/registry/pods/a/x", "{}", 3)
    ix.delete("/registry/pods/a/x")
    assert ix.changes("/registry/pods/a/") == 3 and not ix.any("/registry/pods/a/")


# the writer's puts before the upsert: INSERT OR REPLACE (delete and re-insert under a new rowid),
# the revision kept by the insert trigger alone; the upsert must leave the same rows and meta.rev
_OLD_SCHEMA = """
CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, rev INTEGER NOT NULL);
CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), rev INTEGER NOT NULL);
INSERT INTO meta(id, rev) VALUES (1, 1);
CREATE TRIGGER kv_rev AFTER INSERT ON kv BEGIN
  UPDATE meta SET rev = NEW.rev WHERE id = 1 AND rev < NEW.rev;
END;
"""

UPSERT_CASES = [  # batches of (key index, revision): what each autocommitted statement stores
    ("creates only", [[(0, 2), (1, 3), (2, 4)]]),
    ("updates of stored keys", [[(0, 2), (1, 3)], [(1, 4), (0, 5)]]),
    ("a key twice in one batch", [[(0, 2)], [(0, 3), (1, 4), (0, 5)]]),
    ("a key three times, padded", [[(3, 2), (3, 3), (3, 4)]]),
    ("creates and updates mixed", [[(0, 2), (1, 3), (2, 4)], [(2, 5), (5, 6), (0, 7), (6, 8), (1, 9)]]),
    ("one row per batch", [[(0, 2)], [(0, 3)], [(0, 4)], [(1, 5)]]),
    ("a long batch over stored keys", [[(i, i + 2) for i in range(40)], [(i % 13, 42 + i) for i in range(100)]]),
]


@pytest.mark.parametrize("batches", [c[1] for c in UPSERT_CASES], ids=[c[0] for c in UPSERT_CASES])
def test_upsert_puts_store_what_insert_or_replace_stored(tmp_path, batches):
    import sqlite3

    from labkube.storage.sqlite import _SCHEMA
    from labkube.storage.writer import insert_puts, padded_puts

    def rows(batch):
        return [(f"/registry/pods/a/p{k}", f'{{"k":{k},"rev":{r}}}', r) for k, r in batch]

    def state(conn):
        return (sorted(conn.execute("SELECT key, value, rev FROM kv")),
                conn.execute("SELECT rev FROM meta").fetchone()[0])

    old = sqlite3.connect(str(tmp_path / "old.db"), isolation_level=None)
    old.executescript(_OLD_SCHEMA)
    single = sqlite3.connect(str(tmp_path / "single.db"), isolation_level=None)
    single.executescript(_SCHEMA)
    chunked = sqlite3.connect(str(tmp_path / "chunked.db"), isolation_level=None)
    chunked.executescript(_SCHEMA)
    for batch in batches:
        puts = rows(batch)
        for k, v, r in puts:
            old.execute("INSERT OR REPLACE INTO kv(key, value, rev) VALUES (?, ?, ?)", (k, v, r))
        sql, params = padded_puts(puts)
        assert "ON CONFLICT(key) DO UPDATE" in sql
        single.execute(sql, params)
        chunked.execute("BEGIN IMMEDIATE")
        insert_puts(chunked, puts)
        chunked.execute("COMMIT")
        assert state(single) == state(old)
        assert state(chunked)[0] == state(old)[0]


async def test_a_store_made_with_only_the_insert_trigger_keeps_its_revision_through_updates(tmp_path):
    import sqlite3
    path = str(tmp_path / "r.db")
    conn = sqlite3.connect(path)  # the schema before the upsert: no update trigger
    conn.executescript(_OLD_SCHEMA + """INSERT INTO kv VALUES ('/registry/pods/a/old', '{"v":0}', 1);""")
    conn.close()
    s = await SqliteStorage.open(path)
    assert await s.update("/registry/pods/a/old", {"v": 1}) == 2
    revs = await asyncio.gather(*(s.update("/registry/pods/a/old", {"v": i}) for i in range(2, 5)))
    assert revs == [3, 4, 5]
    await s.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT rev FROM meta").fetchone()[0] == 5
    assert conn.execute("SELECT count(*) FROM kv").fetchone()[0] == 1
    s = await SqliteStorage.open(path)
    assert s.revision == 5 and (await s.get("/registry/pods/a/old"))[0]["v"] == 4
    assert await s.create("/registry/pods/a/new", {}) == 6
    await s.close()


FAILED_COMMIT_CASES = [  # (what the failing write is, the key's latest value afterwards: None = absent)
    ("create", None),
    ("update", {"v": 1}),
    ("delete", {"v": 1}),
]


@pytest.mark.parametrize("op,latest_after", FAILED_COMMIT_CASES, ids=[c[0] for c in FAILED_COMMIT_CASES])
async def test_a_failed_commit_forgets_the_accepted_write(store, monkeypatch, op, latest_after):
    import sqlite3

    from labkube.storage import writer
    if op != "create":
        await store.create("/registry/pods/a/x", {"v": 1})
    w = store.watch("/registry/pods/", store.revision)
    rev = store.revision

    def broken(self, batch):  # what _commit returns when SQLite fails: the error for every waiter
        return sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(writer.BatchWriter, "_commit", broken)
    call = {"create": lambda: store.create("/registry/pods/a/x", {"v": 2}),
            "update": lambda: store.update("/registry/pods/a/x", {"v": 2}),
            "delete": lambda: store.delete("/registry/pods/a/x")}[op]
    with pytest.raises(sqlite3.OperationalError):
        await call()
    assert await store.healthy() is False
    if latest_after is None:
        with pytest.raises(KeyNotFound):
            await store.get("/registry/pods/a/x", latest=True)
    else:
        assert (await store.get("/registry/pods/a/x", latest=True)) == (latest_after, rev)
        assert (await store.get("/registry/pods/a/x")) == (latest_after, rev)
    assert store.revision == rev and await w.next_event(timeout=0.05) == "timeout"  # nothing published
    w.close()

"""Watch over HTTP: one JSON event per line, RV semantics, selectors, 410 as ERROR, bookmarks."""
import asyncio
import json

import pytest

from apiserver_helpers import PODS, pod


async def _events(resp, n):
    out = []
    while len(out) < n:
        line = await asyncio.wait_for(resp.content.readline(), 30)
        if not line:
            break
        assert line.endswith(b"\n")
        out.append(json.loads(line))
    return out


async def test_watch_from_list_rv_pushes_changes(api):
    lst = await (await api.get(PODS)).json()
    rv = lst["metadata"]["resourceVersion"]
    resp = await api.get(PODS + f"?watch=true&resourceVersion={rv}")
    assert resp.status == 200
    await api.post(PODS, json=pod("a"))
    await api.patch(PODS + "/a", json={"metadata": {"labels": {"x": "y"}}},
                    headers={"Content-Type": "application/merge-patch+json"})
    await api.delete(PODS + "/a")
    evs = await _events(resp, 3)
    assert [e["type"] for e in evs] == ["ADDED", "MODIFIED", "DELETED"]
    assert all(e["object"]["kind"] == "Pod" and e["object"]["metadata"]["name"] == "a" for e in evs)
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)
    resp.close()


async def test_watch_rv0_sends_current_objects_first(api):
    await api.post(PODS, json=pod("one"))
    await api.post(PODS, json=pod("two"))
    resp = await api.get(PODS + "?watch=1&resourceVersion=0&fieldSelector=metadata.name%3Dtwo")
    evs = await _events(resp, 1)
    assert evs[0]["type"] == "ADDED" and evs[0]["object"]["metadata"]["name"] == "two"
    resp.close()


async def test_selector_transitions(api):
    await api.post(PODS, json=pod("s"))
    resp = await api.get(PODS + "?watch=true&labelSelector=tier%3Dfe")
    merge = {"Content-Type": "application/merge-patch+json"}
    await api.patch(PODS + "/s", json={"metadata": {"labels": {"tier": "fe"}}}, headers=merge)
    await api.patch(PODS + "/s", json={"metadata": {"labels": {"tier": "be"}}}, headers=merge)
    evs = await _events(resp, 2)
    assert [e["type"] for e in evs] == ["ADDED", "DELETED"]
    resp.close()


async def test_too_old_rv_is_error_event_410(api):
    first = (await (await api.post("/api/v1/namespaces/default/configmaps",
                                   json={"metadata": {"name": "c0"}})).json())["metadata"]["resourceVersion"]
    for i in range(1, 30):  # history is 20 events
        await api.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": f"c{i}"}})
    resp = await api.get(f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={first}")
    assert resp.status == 200
    evs = await _events(resp, 1)
    assert evs[0]["type"] == "ERROR"
    assert evs[0]["object"]["code"] == 410 and evs[0]["object"]["reason"] == "Expired"
    assert await resp.content.read() == b""  # the stream ends after the error


async def test_bookmarks_and_timeout(api):
    lst = await (await api.get(PODS)).json()
    resp = await api.get(PODS + f"?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion="
                         f"{lst['metadata']['resourceVersion']}")
    evs = await _events(resp, 1)
    assert evs[0] == {"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
                                                     "metadata": {"resourceVersion": lst["metadata"]["resourceVersion"]}}}
    rest = await asyncio.wait_for(resp.content.read(), 30)  # timeoutSeconds ends the stream
    assert all(json.loads(l)["type"] == "BOOKMARK" for l in rest.splitlines())


async def test_watch_table_rows(api):
    resp = await api.get(PODS + "?watch=true",
                         headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    await api.post(PODS, json=pod("t1"))
    await api.post(PODS, json=pod("t2"))
    evs = await _events(resp, 2)
    assert evs[0]["object"]["kind"] == "Table" and evs[0]["object"]["columnDefinitions"]
    assert evs[1]["object"]["columnDefinitions"] is None
    assert [e["object"]["rows"][0]["cells"][0] for e in evs] == ["t1", "t2"]
    resp.close()


async def test_many_watchers_all_get_the_event(api):
    resps = [await api.get(PODS + "?watch=true&resourceVersion=1") for _ in range(10)]
    await api.post(PODS, json=pod("fan"))
    for r in resps:
        evs = await _events(r, 1)
        assert evs[0]["object"]["metadata"]["name"] == "fan"
        r.close()


async def test_streaming_list_sends_current_objects_then_the_initial_events_end_bookmark(api):
    await api.post(PODS, json=pod("one"))
    lst = await (await api.get(PODS)).json()
    resp = await api.get(PODS + "?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                                "&allowWatchBookmarks=true&resourceVersion=" + lst["metadata"]["resourceVersion"])
    assert resp.status == 200
    added, end = await _events(resp, 2)
    assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "one")
    assert end == {"type": "BOOKMARK", "object": {
        "kind": "Pod", "apiVersion": "v1", "metadata": {
            "resourceVersion": lst["metadata"]["resourceVersion"],
            "annotations": {"k8s.io/initial-events-end": "true"}}}}
    await api.post(PODS, json=pod("two"))
    (ev,) = await _events(resp, 1)
    while ev["type"] == "BOOKMARK":              # idle bookmarks may come first
        (ev,) = await _events(resp, 1)
    assert (ev["type"], ev["object"]["metadata"]["name"]) == ("ADDED", "two")
    assert int(ev["object"]["metadata"]["resourceVersion"]) > int(lst["metadata"]["resourceVersion"])
    resp.close()


async def test_streaming_list_of_nothing_still_ends_with_the_bookmark(api):
    resp = await api.get("/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true"
                         "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
    (end,) = await _events(resp, 1)
    assert end["type"] == "BOOKMARK"
    assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    resp.close()


async def test_send_initial_events_false_starts_at_now_without_the_current_objects(api):
    await api.post(PODS, json=pod("old"))
    resp = await api.get(PODS + "?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan")
    assert resp.status == 200
    await api.post(PODS, json=pod("new"))
    (ev,) = await _events(resp, 1)
    assert (ev["type"], ev["object"]["metadata"]["name"]) == ("ADDED", "new")
    resp.close()


@pytest.mark.parametrize("query, field", [
    ("sendInitialEvents=true&allowWatchBookmarks=true", "resourceVersionMatch"),
    ("sendInitialEvents=true&resourceVersionMatch=NotOlderThan", "allowWatchBookmarks"),
    ("sendInitialEvents=true&resourceVersionMatch=Exact&allowWatchBookmarks=true", "resourceVersionMatch"),
    ("resourceVersionMatch=NotOlderThan", "resourceVersionMatch"),
])
async def test_streaming_list_options_are_validated(api, query, field):
    resp = await api.get(PODS + "?watch=true&" + query)
    assert resp.status == 422
    body = await resp.json()
    assert [c["field"] for c in body["details"]["causes"]] == [field]
    assert body["message"].startswith('ListOptions.meta.k8s.io "" is invalid: ' + field + ": Forbidden")


async def test_events_committed_together_go_out_together_in_order(api):
    """A batch commit publishes its events at once: a watcher writes the ones queued behind the
    first in the same HTTP chunk (one write, not one per event), in revision order."""
    from labkube.api.resources import resource
    from labkube.apiserver import keys
    reg = api.server.app[keys.REGISTRY]
    resp = await api.get(PODS + "?watch=true")
    one = await api.get(PODS + "?watch=true&fieldSelector=metadata.name%3Db7")   # the others filtered out
    await asyncio.gather(*(reg.create(resource("pods"), "default", pod(f"b{i}")) for i in range(20)))
    data, chunks = b"", 0
    while data.count(b"\n") < 20:
        part, end_of_chunk = await asyncio.wait_for(resp.content.readchunk(), 30)
        assert part, "the stream ended early"
        data += part
        chunks += end_of_chunk
    evs = [json.loads(line) for line in data.splitlines()]
    assert [e["type"] for e in evs] == ["ADDED"] * 20
    assert sorted(e["object"]["metadata"]["name"] for e in evs) == sorted(f"b{i}" for i in range(20))
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
    assert rvs == sorted(rvs)
    assert chunks == 1
    resp.close()
    only = await _events(one, 1)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in only] == [("ADDED", "b7")]
    one.close()


async def test_select_everything_watch_lines_are_the_objects_encoded(api):
    """A watcher of everything gets its lines from the stored text where it can (watchhttp.stored_line):
    each line is still the compact encoding of the event with the object's kind, apiVersion and the
    event's revision, for objects sent with and without kind, patched, and deleted."""
    from labkube import jsonio
    lst = await (await api.get(PODS)).json()
    resp = await api.get(PODS + f"?watch=true&resourceVersion={lst['metadata']['resourceVersion']}")
    await api.post(PODS, json=pod("typed"))
    bare = pod("bare")
    del bare["kind"], bare["apiVersion"]
    bare["metadata"]["annotations"] = {"note": "é \"q\"\n"}
    await api.post(PODS, json=bare)
    await api.patch(PODS + "/bare", json={"metadata": {"labels": {"x": "y"}}},
                    headers={"Content-Type": "application/merge-patch+json"})
    await api.delete(PODS + "/typed")
    lines = []
    while len(lines) < 4:
        lines.append(await asyncio.wait_for(resp.content.readline(), 30))
    resp.close()
    events = [jsonio.loads(line) for line in lines]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "typed"), ("ADDED", "bare"), ("MODIFIED", "bare"), ("DELETED", "typed")]
    for line, e in zip(lines, events):
        assert line == jsonio.dumps(e) + b"\n"
        assert (e["object"]["kind"], e["object"]["apiVersion"]) == ("Pod", "v1")
    assert events[1]["object"]["metadata"]["annotations"] == {"note": "é \"q\"\n"}
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == 4


async def test_watchers_of_one_resource_send_the_same_line(api):
    """The line made for one watcher is kept on the event (ev.cache) and sent to the others as is:
    two watchers of everything and one selecting by label get byte-identical lines, the stored
    text's (created, patched) and the decoded object's (deleted) alike."""
    lst = await (await api.get(PODS)).json()
    rv = lst["metadata"]["resourceVersion"]
    watches = [await api.get(PODS + f"?watch=true&resourceVersion={rv}{q}")
               for q in ("", "", "&labelSelector=app%3Dsame")]
    p = pod("same")
    p["metadata"]["labels"] = {"app": "same"}
    await api.post(PODS, json=p)
    await api.patch(PODS + "/same", json={"metadata": {"annotations": {"a": "b"}}},
                    headers={"Content-Type": "application/merge-patch+json"})
    await api.delete(PODS + "/same")
    seen = []
    for resp in watches:
        lines = [await asyncio.wait_for(resp.content.readline(), 30) for _ in range(3)]
        resp.close()
        seen.append(lines)
    assert seen[0] == seen[1] == seen[2]
    assert [line.split(b'"', 4)[3] for line in seen[0]] == [b"ADDED", b"MODIFIED", b"DELETED"]


@pytest.mark.parametrize("query", ["", "&labelSelector=app%3Dqueued"], ids=["everything", "selecting"])
async def test_queued_events_lines_and_decoding(api, monkeypatch, query):
    """Events that queue for the watch's task (the direct writer off, as for a client that does
    not keep up) give the same lines as direct ones; a watcher that selects everything sends the
    stored text without decoding the created and patched pod (WatchStream.undecoded), a selecting
    one decodes every event to match it; a deletion is decoded in both."""
    from labkube import jsonio
    from labkube.apiserver.watching import WatchStream
    from labkube.storage.interface import Event
    monkeypatch.setattr(WatchStream, "deliver_to", lambda self, write: False)
    decoded = []
    plain_obj = Event.obj.func
    monkeypatch.setattr(Event, "obj", property(lambda ev: decoded.append(ev.type) or plain_obj(ev)))
    lst = await (await api.get(PODS)).json()
    resp = await api.get(PODS + f"?watch=true&resourceVersion={lst['metadata']['resourceVersion']}{query}")
    p = pod("queued")
    p["metadata"]["labels"] = {"app": "queued"}
    await api.post(PODS, json=p)
    await api.patch(PODS + "/queued", json={"metadata": {"annotations": {"a": "b"}}},
                    headers={"Content-Type": "application/merge-patch+json"})
    await api.delete(PODS + "/queued")
    lines = [await asyncio.wait_for(resp.content.readline(), 30) for _ in range(3)]
    resp.close()
    events = [jsonio.loads(line) for line in lines]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "queued"), ("MODIFIED", "queued"), ("DELETED", "queued")]
    for line, e in zip(lines, events):
        assert line == jsonio.dumps(e) + b"\n"
        assert (e["object"]["kind"], e["object"]["apiVersion"]) == ("Pod", "v1")
    watch_decodes = [t for t in decoded if t in ("ADDED", "MODIFIED", "DELETED")]
    assert ("ADDED" in watch_decodes, "MODIFIED" in watch_decodes, "DELETED" in watch_decodes) == \
        ((False, False, True) if not query else (True, True, True))


PATH_CASES = [  # (watch query, the (type, name) events it gets for _relabelling's writes)
    ("", [("ADDED", "keep"), ("ADDED", "other"), ("MODIFIED", "keep"), ("MODIFIED", "other"), ("MODIFIED", "keep"),
          ("DELETED", "other"), ("DELETED", "keep")]),
    ("&labelSelector=app%3Dkeep", [("ADDED", "keep"), ("MODIFIED", "keep"), ("ADDED", "other"), ("DELETED", "keep"),
                                   ("DELETED", "other")]),
    ("&fieldSelector=metadata.name%3Dkeep", [("ADDED", "keep"), ("MODIFIED", "keep"), ("MODIFIED", "keep"),
                                             ("DELETED", "keep")]),
]


async def _relabelling(api):
    """Creates, patches in and out of app=keep, deletes."""
    merge = {"Content-Type": "application/merge-patch+json"}
    for name, app in (("keep", "keep"), ("other", "other")):
        p = pod(name)
        p["metadata"]["labels"] = {"app": app}
        await api.post(PODS, json=p)
    await api.patch(PODS + "/keep", json={"metadata": {"annotations": {"a": "b"}}}, headers=merge)
    await api.patch(PODS + "/other", json={"metadata": {"labels": {"app": "keep"}}}, headers=merge)
    await api.patch(PODS + "/keep", json={"metadata": {"labels": {"app": "gone"}}}, headers=merge)
    await api.delete(PODS + "/other")
    await api.delete(PODS + "/keep")


@pytest.mark.parametrize("query,want", PATH_CASES, ids=["everything", "label", "field"])
async def test_a_watchers_lines_are_the_same_from_the_publish_and_from_the_task(api, monkeypatch, query, want):
    """The lines the direct writer takes from the publish (watchhttp's line_of) are the bytes the
    watch's task writes for the same events (events queued for it: deliver_to refused), for a
    watcher of everything and for selecting ones (selector transitions included), each the
    compact encoding of the event with the object's kind, apiVersion and revision."""
    from labkube import jsonio
    from labkube.apiserver.watching import WatchStream
    lst = await (await api.get(PODS)).json()
    url = PODS + f"?watch=true&resourceVersion={lst['metadata']['resourceVersion']}{query}"
    direct = await api.get(url)
    with monkeypatch.context() as m:
        m.setattr(WatchStream, "deliver_to", lambda self, write: False)
        queued = await api.get(url)
    await _relabelling(api)
    seen = []
    for resp in (direct, queued):
        seen.append([await asyncio.wait_for(resp.content.readline(), 30) for _ in want])
        resp.close()
    assert seen[0] == seen[1]
    events = [jsonio.loads(line) for line in seen[0]]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == want
    for line, e in zip(seen[0], events):
        assert line == jsonio.dumps(e) + b"\n"
        assert (e["object"]["kind"], e["object"]["apiVersion"]) == ("Pod", "v1")
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs)

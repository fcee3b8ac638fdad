"""Informer select / select_hint: a client-side selector whose watch skips undecoded the lines of
objects it cannot select. Same cache and handler calls as decoding every line and selecting after;
bookmarks and errors always decoded; resuming and relisting keep the selection."""
from __future__ import annotations

import pytest

from labkube import jsonio
from labkube.client.fake import FakeApi
from labkube.client.informer import Informer, hint_filter

BOUND = b'"nodeName"'


def line(ev: dict) -> bytes:
    return jsonio.dumps(ev)


@pytest.mark.parametrize("what,raw,wanted", [
    ("added, unbound", line({"type": "ADDED", "object": {"metadata": {"name": "p"}, "spec": {}}}), False),
    ("added, bound", line({"type": "ADDED", "object": {"spec": {"nodeName": "n1"}}}), True),
    ("modified, unbound", line({"type": "MODIFIED", "object": {"spec": {}}}), False),
    ("modified, bound", line({"type": "MODIFIED", "object": {"spec": {"nodeName": "n1"}}}), True),
    ("deleted, unbound", line({"type": "DELETED", "object": {"spec": {}}}), False),
    ("deleted, bound", line({"type": "DELETED", "object": {"spec": {"nodeName": "n1"}}}), True),
    ("bookmark", line({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}}), True),
    ("error", line({"type": "ERROR", "object": {"kind": "Status", "code": 410}}), True),
    ("spaced encoding", b'{"type": "ADDED", "object": {"spec": {}}}', True),          # other shapes: decoded
    ("object first", b'{"object":{"spec":{}},"type":"ADDED"}', True),
    ("leading blank", b' {"type":"ADDED","object":{"spec":{}}}', True),
    ("empty", b"", True),
])
def test_hint_filter_skips_only_object_events_without_the_hint(what, raw, wanted):
    assert hint_filter(BOUND)(raw) is wanted, what


def bound(pod: dict) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def pod(name: str, node: str | None = None) -> dict:
    return {"metadata": {"name": name}, "spec": {"nodeName": node} if node else {}}


async def bind(api, name, node):
    await api.patch("pods", name, {"spec": {"nodeName": node}}, namespace="default")


# each step: (action, args); after all of them the cache and handler calls must equal those of an
# informer without a hint that selects after decoding, and of the objects selected in the store;
# with the lines skipped undecoded (the events of unbound pods)
STEPS = {
    "create unbound, bind": ([("create", "a", None), ("bind", "a", "n1")], 1),
    "create bound": ([("create", "a", "n1")], 0),
    "unbound deleted unseen": ([("create", "a", None), ("delete", "a")], 2),
    "bound deleted seen": ([("create", "a", None), ("bind", "a", "n1"), ("delete", "a")], 1),
    "bound deleted gracefully": ([("create", "a", "n1"), ("graceful delete", "a"), ("delete", "a")], 0),
    "label on unbound, then bind": ([("create", "a", None), ("label", "a"), ("bind", "a", "n2"), ("label", "a")], 2),
    "many": ([("create", "a", None), ("create", "b", "n1"), ("create", "c", None), ("bind", "c", "n1"),
              ("delete", "a"), ("label", "b"), ("delete", "b")], 3),
}


async def play(api, steps):
    for step in steps:
        act, name = step[0], step[1]
        if act == "create":
            await api.create("pods", pod(name, step[2]))
        elif act == "bind":
            await bind(api, name, step[2])
        elif act == "graceful delete":
            await api.delete("pods", name, "default")
        elif act == "label":
            await api.patch("pods", name, {"metadata": {"labels": {"x": "y"}}}, namespace="default")
        elif act == "delete":
            await api.delete("pods", name, "default", grace_period_seconds=0)
        await api.settle()


def recording(inf: Informer) -> list:
    seen = []
    inf.add_handlers(lambda o: seen.append(("add", o["metadata"]["name"], o["metadata"]["resourceVersion"])),
                     lambda a, b: seen.append(("upd", b["metadata"]["name"], b["metadata"]["resourceVersion"])),
                     lambda o: seen.append(("del", o["metadata"]["name"], o["metadata"]["resourceVersion"])))
    return seen


@pytest.mark.parametrize("case", list(STEPS))
async def test_select_hint_gives_the_cache_and_calls_of_select_alone(case):
    api = FakeApi()
    hinted = Informer(api, "pods", select=bound, select_hint=BOUND)
    plain = Informer(api, "pods", select=bound)
    calls_h, calls_p = recording(hinted), recording(plain)
    hinted.start()
    plain.start()
    await api.settle()
    steps, skipped = STEPS[case]
    await play(api, steps)
    assert calls_h == calls_p
    assert hinted.cache == plain.cache
    assert set(hinted.cache) == {f"default/{p['metadata']['name']}" for p in api.all("pods", "default") if bound(p)}
    assert api.skipped_lines == skipped               # the plain informer's watch decodes all
    await hinted.stop()
    await plain.stop()


async def test_resume_and_relist_keep_the_selection():
    api = FakeApi()
    await api.create("pods", pod("listed-unbound"))
    await api.create("pods", pod("listed-bound", "n1"))
    inf = Informer(api, "pods", select=bound, select_hint=BOUND)
    calls = recording(inf)
    inf.start()
    await api.settle()
    assert inf.keys() == ["default/listed-bound"]           # the list is selected too
    rv_after_list = inf.last_rv
    await api.create("pods", pod("u"))
    await api.settle()
    assert inf.last_rv == rv_after_list                     # a skipped line does not move it
    api.close_watches()                                     # resume from there: "u" skipped again
    await bind(api, "u", "n2")
    await api.settle()
    assert inf.relists == 1 and set(inf.keys()) == {"default/listed-bound", "default/u"}
    api.close_watches()
    await api.delete("pods", "u", "default", grace_period_seconds=0)
    await api.delete("pods", "listed-unbound", "default", grace_period_seconds=0)
    api.compact()                                           # 410: the relist sees "u" gone
    await api.settle()
    assert inf.relists == 2 and inf.keys() == ["default/listed-bound"]
    assert [c[:2] for c in calls] == [("add", "listed-bound"), ("add", "u"), ("del", "u")]
    await inf.stop()


async def test_an_object_leaving_a_select_that_is_not_sticky_is_deleted_from_the_cache():
    api = FakeApi()
    labelled = Informer(api, "pods", select=lambda p: (p["metadata"].get("labels") or {}).get("keep") == "yes")
    calls = recording(labelled)
    labelled.start()
    await api.create("pods", {"metadata": {"name": "a", "labels": {"keep": "yes"}}, "spec": {}})
    await api.settle()
    await api.patch("pods", "a", {"metadata": {"labels": {"keep": "no"}}}, namespace="default")
    await api.settle()
    assert labelled.cache == {} and [c[:2] for c in calls] == [("add", "a"), ("del", "a")]
    await labelled.stop()


def test_a_hint_needs_select():
    with pytest.raises(ValueError):
        Informer(FakeApi(), "pods", select_hint=BOUND)

"""fastcreate.agent_manager keeps the field manager of a direct write per (User-Agent, subresource):
on a table of user agents it gives what manager_of gives (or raises the same error, each time), the
first time and when kept, and the memo stays bounded."""
import pytest

from labkube.api import errors
from labkube.api.managedfields import Manager
from labkube.apiserver import fastcreate
from labkube.apiserver.fastcreate import agent_manager
from labkube.apiserver.httputil import manager_of

AGENTS = [None, "", "kubectl/v1.31.0 (linux/amd64) kubernetes/abc", "hollow-kubelet/v1.0 (linux/amd64) labkube",
          "kube-scheduler", "/v1", " spaced name /v2", "x" * 128 + "/v1", "x" * 129, "tab\there/v1", "é-agent/1",
          "a/b/c", "   "]


def _outcome(f):
    try:
        return ("ok", f())
    except errors.ApiError as e:
        return ("error", e.code, str(e))


@pytest.mark.parametrize("sub", [None, "status"])
@pytest.mark.parametrize("agent", AGENTS)
def test_agent_manager_is_manager_of(agent, sub):
    fastcreate._AGENT_MANAGERS.clear()
    want = _outcome(lambda: manager_of("", False, agent, sub=sub))
    for _ in range(3):  # first, then kept
        got = _outcome(lambda: agent_manager(agent, sub))
        assert got == want
        if got[0] == "ok":
            assert isinstance(got[1], Manager) and got[1].operation == "Update" and got[1].subresource == sub
    assert ((agent, sub) in fastcreate._AGENT_MANAGERS) == (want[0] == "ok")


def test_the_memo_is_bounded(monkeypatch):
    fastcreate._AGENT_MANAGERS.clear()
    monkeypatch.setattr(fastcreate, "_AGENT_MANAGERS_MAX", 4)
    for i in range(10):
        assert agent_manager(f"agent-{i}/v1") == manager_of("", False, f"agent-{i}/v1")
        assert len(fastcreate._AGENT_MANAGERS) <= 4

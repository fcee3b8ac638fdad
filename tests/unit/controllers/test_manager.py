"""Controller-manager config parsing and the command's exit status for bad configs."""
from __future__ import annotations

import subprocess
import sys

import pytest

from labkube.client.component import ConfigError
from labkube.controllers.manager import Manager, ManagerConfig
from labkube.client.fake import FakeApi


def test_config_defaults_and_settings():
    cfg = ManagerConfig.from_dict("f", {"kubeconfig": "k", "controllers": ["replicaset", "nodelifecycle"],
                                        "node_monitor_grace_period": 20, "pod_eviction_timeout": 30,
                                        "concurrent_syncs": 2})
    assert cfg.controllers == ["replicaset", "nodelifecycle"] and cfg.concurrent_syncs == 2
    m = Manager(FakeApi(), cfg)
    assert [c.name for c in m.controllers] == ["replicaset", "nodelifecycle"]
    assert m.controllers[1].grace == 20 and m.controllers[1].eviction_timeout == 30


@pytest.mark.parametrize("raw,batch", [({}, 0.25), ({"replicaset_status_batch": 1}, 1.0),
                                       ({"replicaset_status_batch": 0.05}, 0.05)])
def test_replicaset_status_batch_setting(raw, batch):
    cfg = ManagerConfig.from_dict("f", {"kubeconfig": "k", "controllers": ["replicaset"], **raw})
    assert Manager(FakeApi(), cfg).controllers[0].status_batch == batch


@pytest.mark.parametrize("raw,msg", [
    ({"kubeconfig": "k", "controllers": ["nope"]}, "unknown controller 'nope'"),
    ({"kubeconfig": "k", "pod_eviction_timeout": "soon"}, "pod_eviction_timeout: must be a positive number"),
    ({"kubeconfig": "k", "typo": 1}, "typo: unknown setting"),
    ({"kubeconfig": "k", "replicaset_status_batch": 0}, "replicaset_status_batch: must be a positive number"),
])
def test_bad_configs(raw, msg):
    with pytest.raises(ConfigError, match=msg):
        ManagerConfig.from_dict("f", raw)


@pytest.mark.parametrize("module", ["labkube.controllers", "labkube.scheduler"])
def test_command_exits_2_with_one_line(tmp_path, module):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("kubeconfig: %s\n" % (tmp_path / "missing.kubeconfig"))
    r = subprocess.run([sys.executable, "-m", module, "--config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "missing.kubeconfig" in r.stderr


def test_contract_controllers_start_without_optional_packages():
    """croniter is only needed by the cronjob controller; the default set must not import it."""
    code = ("import sys; sys.modules['croniter'] = None\n"
            "from labkube.client.fake import FakeApi\n"
            "from labkube.controllers.manager import Manager, ManagerConfig\n"
            "cfg = ManagerConfig.from_dict('f', {'kubeconfig': 'k', 'controllers': ['replicaset', 'deployment',"
            " 'garbagecollector', 'namespace', 'nodelifecycle', 'endpoints']})\n"
            "print(len(Manager(FakeApi(), cfg).controllers))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "6"


async def test_a_resource_that_never_lists_stalls_only_its_own_controllers():
    import asyncio
    from labkube.client.errors import status_error
    api = FakeApi()

    def broken(verb, res, ns, name, body):
        if verb == "list" and res == "configmaps":
            raise status_error(500, "InternalError", "configmaps are broken")
    api.reactors.append(broken)
    m = Manager(api, ManagerConfig.from_dict("f", {"kubeconfig": "k", "controllers": ["garbagecollector", "replicaset"]}))
    task = asyncio.create_task(m.run())
    try:
        await api.create("replicasets", {"metadata": {"name": "r"}, "spec": {
            "replicas": 2, "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}}})
        for _ in range(50):
            await api.settle()
            if len(api.all("pods")) == 2:
                break
        assert len(api.all("pods")) == 2                   # replicaset works
        gc = m.controllers[0]
        assert not all(inf.has_synced for inf in gc.informers)   # the collector is still waiting
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

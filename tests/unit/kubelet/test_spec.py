"""config.json building for a pod container (golden file) and command/args/env merging."""
from __future__ import annotations

import json
import os

import pytest

from labkube.kubelet.containers import (ContainerConfigError, build_container_config, command_line,
                                        env_from, environment, expand, resource_limits)
from labkube.kubelet.images.store import Image
from labkube.kubelet.runtime.base import ContainerConfig, Sandbox
from labkube.kubelet.runtime.spec import DEFAULT_CAPS, build_spec

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")


def _golden(name, got):
    path = os.path.join(GOLDEN, name)
    if os.environ.get("UPDATE_GOLDEN"):
        with open(path, "w") as f:
            json.dump(got, f, indent=1, sort_keys=True)
    with open(path) as f:
        assert got == json.load(f)


SB = Sandbox(id="s" * 64, uid="uid-1", name="web", namespace="default", netns="/run/netns/lk-ssssssssssss",
             ips=["10.244.1.2"], pod_dir="/var/lib/labkube/kubelet/pods/uid-1", hostname="web")


def test_spec_golden():
    cfg = ContainerConfig(name="nginx", pod_uid="uid-1", image_ref="docker.io/library/nginx:latest",
                          image_id="docker.io/library/nginx@sha256:abc", rootfs="/img/rootfs",
                          args=["/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf"], env=["PATH=/usr/sbin:/bin"],
                          mounts=[{"destination": "/data", "source": "/pods/uid-1/volumes/d", "readonly": False}],
                          log_path="/pods/uid-1/logs/nginx/0.log", stop_signal="SIGQUIT",
                          memory_limit=64 << 20, cpu_quota=50000, cpu_shares=512)
    spec = build_spec(cfg, SB, "/labkube-w1/poduid-1/cid", nofile=1024)
    assert spec["process"]["capabilities"]["bounding"] == list(DEFAULT_CAPS) and len(DEFAULT_CAPS) == 14
    assert spec["hostname"] == "web"
    assert {"type": "network", "path": SB.netns} in spec["linux"]["namespaces"]
    assert spec["process"]["terminal"] is False
    _golden("spec-nginx.json", spec)


def test_spec_without_cgroups_has_no_resources():
    cfg = ContainerConfig(name="c", pod_uid="u", image_ref="r", image_id="i", rootfs="/r", args=["sh"], env=[])
    spec = build_spec(cfg, SB, None)
    assert "cgroupsPath" not in spec["linux"] and "resources" not in spec["linux"]
    assert "HOSTNAME=web" in spec["process"]["env"] and "HOME=/root" in spec["process"]["env"]


IMG = {"Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["nginx", "-g", "daemon off;"]}


@pytest.mark.parametrize("container,want", [
    ({}, ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]),
    ({"command": ["/bin/sh"]}, ["/bin/sh"]),
    ({"args": ["-x"]}, ["/docker-entrypoint.sh", "-x"]),
    ({"command": ["/bin/sh"], "args": ["-c", "echo $(GREETING) $$(x)"]}, ["/bin/sh", "-c", "echo hi $(x)"]),
])
def test_command_args_merge(container, want):
    assert command_line({"name": "c", **container}, IMG, {"GREETING": "hi"}) == want


def test_no_command_at_all():
    with pytest.raises(ContainerConfigError):
        command_line({"name": "c"}, {})


def test_expand_keeps_unknown():
    assert expand("$(A)-$(B)-$$(A)", {"A": "1"}) == "1-$(B)-$(A)"


def test_environment_order_and_field_refs():
    pod = {"metadata": {"name": "web", "namespace": "ns", "uid": "u1", "labels": {"app": "x"}},
           "spec": {"nodeName": "w1"}}
    c = {"name": "c", "env": [{"name": "PATH", "value": "/bin"}, {"name": "A", "value": "a"},
                              {"name": "B", "value": "$(A)b"},
                              {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                              {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                              {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                              {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                                                 "divisor": "1Mi"}}}],
         "resources": {"limits": {"memory": "64Mi"}}}
    env = environment(pod, c, {"Env": ["PATH=/usr/bin", "X=1"]}, "10.200.0.11", "10.244.1.5")
    assert env == ["PATH=/bin", "X=1", "A=a", "B=ab", "POD=web", "IP=10.244.1.5", "APP=x", "MEM=64"]


ENV_OBJECTS = {("configmaps", "app"): {"MODE": "prod", "LEVEL": "3", "bad key": "x", "1st": "y"},
               ("secrets", "db"): {"PASSWORD": "s3cret"}}


def lookup_all(kind, name, optional):
    if (kind, name) in ENV_OBJECTS:
        return ENV_OBJECTS[(kind, name)]
    if optional:
        return None
    raise ContainerConfigError(f'{kind[:-1]} "{name}" not found')


@pytest.mark.parametrize("sources, want, skipped", [
    ([{"configMapRef": {"name": "app"}}], {"LEVEL": "3", "MODE": "prod"}, ["1st", "bad key"]),
    ([{"secretRef": {"name": "db"}, "prefix": "DB_"}], {"DB_PASSWORD": "s3cret"}, []),
    ([{"configMapRef": {"name": "gone", "optional": True}}], {}, []),
    ([{"configMapRef": {"name": "app"}, "prefix": "APP_"}, {"secretRef": {"name": "db"}}],
     {"APP_1st": "y", "APP_LEVEL": "3", "APP_MODE": "prod", "PASSWORD": "s3cret"}, ["APP_bad key"]),
    ([{"configMapRef": {"name": "app"}, "prefix": "9"}], {}, ["91st", "9LEVEL", "9MODE", "9bad key"]),
])
def test_env_from(sources, want, skipped):
    assert env_from({"name": "c", "envFrom": sources}, lookup_all) == (want, skipped)


def test_env_from_missing_object_and_env_wins():
    with pytest.raises(ContainerConfigError, match='configmap "gone" not found'):
        env_from({"name": "c", "envFrom": [{"configMapRef": {"name": "gone"}}]}, lookup_all)
    c = {"name": "c", "envFrom": [{"configMapRef": {"name": "app"}}], "env": [{"name": "MODE", "value": "dev"}]}
    env = environment({"metadata": {}}, c, {"Env": ["MODE=image"]}, "", "", lookup_all=lookup_all)
    assert "MODE=dev" in env and "LEVEL=3" in env and "MODE=image" not in env


def test_resource_limits():
    assert resource_limits({"resources": {"limits": {"memory": "64Mi", "cpu": "500m"}}}) == (64 << 20, 50000, 512)
    assert resource_limits({}) == (None, None, 2)


def test_build_container_config_uses_image_defaults():
    img = Image("docker.io/library/nginx:latest", "sha256:abc", "/img", {"Entrypoint": ["/usr/sbin/nginx"],
                                                                         "WorkingDir": "/srv", "StopSignal": "SIGQUIT",
                                                                         "Env": ["PATH=/usr/sbin"]})
    pod = {"metadata": {"name": "p", "namespace": "d", "uid": "u"}, "spec": {"securityContext": {"runAsUser": 65534}}}
    cfg = build_container_config(pod, {"name": "c", "image": "nginx"}, img, host_ip="h", pod_ip="p", mounts=[],
                                 log_path="/l", restart_count=2)
    assert cfg.args == ["/usr/sbin/nginx"] and cfg.working_dir == "/srv" and cfg.stop_signal == "SIGQUIT"
    assert cfg.user == (65534, 65534) and cfg.restart_count == 2 and cfg.image_id.endswith("@sha256:abc")


def test_pod_files_and_dns_policy(tmp_path):
    from labkube.kubelet.podsandbox import port_mappings, sandbox_config
    from labkube.kubelet.runtime.podfiles import hosts_file, resolv_conf
    p = {"metadata": {"name": "web", "namespace": "shop", "uid": "u"},
         "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}]}],
                  "hostAliases": [{"ip": "10.0.0.9", "hostnames": ["db"]}]}}
    sc = sandbox_config(p, "/root", ["10.96.0.10"], "cluster.local")
    assert sc.nameservers == ["10.96.0.10"] and sc.dns_options == ["ndots:5"]
    assert sc.searches == ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    assert port_mappings(p) == [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]
    hosts = hosts_file("web", ["10.244.1.2"], p["spec"]["hostAliases"])
    assert "10.244.1.2\tweb" in hosts and "10.0.0.9\tdb" in hosts and "127.0.0.1\tlocalhost" in hosts
    assert resolv_conf(["10.96.0.10"], ["a"], ["ndots:5"]) == "nameserver 10.96.0.10\nsearch a\noptions ndots:5\n"
    none = {**p, "spec": {**p["spec"], "dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.2.3.4"]}}}
    assert sandbox_config(none, "/root", ["10.96.0.10"], "cluster.local").nameservers == ["1.2.3.4"]
    hostnet = {**p, "spec": {**p["spec"], "hostNetwork": True}}
    sc = sandbox_config(hostnet, "/root", ["10.96.0.10"], "cluster.local", "w1", "10.200.0.11")
    assert sc.host_network and sc.hostname == "w1" and "10.96.0.10" not in sc.nameservers


def test_security_context():
    from labkube.kubelet.containers import capabilities
    assert capabilities({}) is None
    caps = capabilities({"securityContext": {"capabilities": {"drop": ["NET_RAW"], "add": ["NET_ADMIN"]}}})
    assert "CAP_NET_RAW" not in caps and "CAP_NET_ADMIN" in caps and "CAP_CHOWN" in caps
    assert capabilities({"securityContext": {"capabilities": {"drop": ["ALL"], "add": ["CAP_KILL"]}}}) == ["CAP_KILL"]
    img = Image("docker.io/library/busybox:latest", "sha256:1", "/img", {"Cmd": ["sh"]})
    pod = {"metadata": {"name": "p", "namespace": "d", "uid": "u"}, "spec": {"securityContext": {"runAsNonRoot": True}}}
    with pytest.raises(ContainerConfigError, match="runAsNonRoot"):
        build_container_config(pod, {"name": "c"}, img, host_ip="h", pod_ip="p", mounts=[], log_path="/l",
                               restart_count=0)
    priv = build_container_config({"metadata": pod["metadata"], "spec": {}},
                                  {"name": "c", "securityContext": {"privileged": True}}, img, host_ip="h",
                                  pod_ip="p", mounts=[], log_path="/l", restart_count=0)
    spec = build_spec(priv, SB, None)
    assert "CAP_SYS_ADMIN" in spec["process"]["capabilities"]["bounding"] and "maskedPaths" not in spec["linux"]
    nonew = build_container_config({"metadata": pod["metadata"], "spec": {}},
                                   {"name": "c", "securityContext": {"allowPrivilegeEscalation": False}}, img,
                                   host_ip="h", pod_ip="p", mounts=[], log_path="/l", restart_count=0)
    assert build_spec(nonew, SB, None)["process"]["noNewPrivileges"] is True


def test_caps_limited_to_the_bounding_set():
    from labkube.kubelet.runtime.spec import ALL_CAPS
    cfg = ContainerConfig(name="c", pod_uid="u", image_ref="r", image_id="i", rootfs="/r", args=["sh"], env=[],
                          privileged=True)
    no_sys_module = ((1 << len(ALL_CAPS)) - 1) & ~(1 << ALL_CAPS.index("CAP_SYS_MODULE"))
    caps = build_spec(cfg, SB, None, bounding=no_sys_module)["process"]["capabilities"]["bounding"]
    assert "CAP_SYS_MODULE" not in caps and "CAP_SYS_ADMIN" in caps


def test_an_ephemeral_container_joins_its_targets_pid_namespace():
    cfg = ContainerConfig(name="debugger", pod_uid="u", image_ref="r", image_id="i", rootfs="/r", args=["sh"],
                          env=[], pid_namespace="/proc/4242/ns/pid")
    spaces = build_spec(cfg, SB)["linux"]["namespaces"]
    assert {"type": "pid", "path": "/proc/4242/ns/pid"} in spaces
    assert {"type": "network", "path": SB.netns} in spaces and {"type": "mount"} in spaces
    plain = build_spec(ContainerConfig(name="c", pod_uid="u", image_ref="r", image_id="i", rootfs="/r", args=["sh"],
                                       env=[]), SB)["linux"]["namespaces"]
    assert {"type": "pid"} in plain


@pytest.mark.parametrize("host_pid, host_ipc, want", [
    (False, False, ["pid", "ipc", "uts", "mount", "network"]),
    (True, False, ["ipc", "uts", "mount", "network"]),
    (True, True, ["uts", "mount", "network"]),           # kubectl debug node/...: the node's PID and IPC
])
def test_host_pid_and_ipc_share_the_nodes_namespaces(host_pid, host_ipc, want):
    pod = {"metadata": {"name": "p", "namespace": "default", "uid": "u"},
           "spec": {"hostPID": host_pid, "hostIPC": host_ipc, "containers": [{"name": "c", "image": "busybox"}]}}
    image = Image("docker.io/library/busybox:latest", "sha256:abc", "/r", {"Cmd": ["sh"]})
    cfg = build_container_config(pod, pod["spec"]["containers"][0], image, host_ip="10.200.0.11",
                                 pod_ip="10.244.1.5", mounts=[], log_path="", restart_count=0)
    assert [n["type"] for n in build_spec(cfg, SB)["linux"]["namespaces"]] == want

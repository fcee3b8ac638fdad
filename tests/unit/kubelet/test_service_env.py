"""The Service variables every container gets (KUBERNETES_SERVICE_HOST & co.), below envFrom and env."""
from labkube.kubelet.containers import environment, service_env

MASTER = {"metadata": {"name": "kubernetes", "namespace": "default"},
          "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}}


def test_master_service_variables():
    assert service_env(MASTER) == {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1"}


def test_headless_service_has_none():
    assert service_env({"metadata": {"name": "db"}, "spec": {"clusterIP": "None", "ports": [{"port": 5432}]}}) == {}


def test_container_env_overrides_service_variables():
    pod = {"metadata": {"name": "p", "namespace": "default"}, "spec": {}}
    c = {"name": "c", "env": [{"name": "KUBERNETES_SERVICE_PORT", "value": "8443"},
                              {"name": "URL", "value": "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)"}]}
    env = dict(e.split("=", 1) for e in environment(pod, c, {"Env": ["PATH=/bin"]}, "10.200.0.2", "10.244.1.2",
                                                    services=service_env(MASTER)))
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT"] == "8443"
    assert env["URL"] == "https://10.96.0.1:8443" and env["PATH"] == "/bin"

"""Projected serviceAccountToken sources: the kubelet's TokenRequest, the token file, renewal
after 80 % of the lifetime, and a failed request reported through the volume."""
from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from labkube.kubelet.satoken import TOKENS, TokenManager
from labkube.kubelet.volumes import VolumeError, prepare_volumes, refresh_volumes


class FakeTokenClient:
    """Answers TokenRequests as the apiserver does, with tokens numbered in order."""

    def __init__(self, clock):
        self.clock = clock
        self.requests = []
        self.fail = None

    async def post_subresource(self, res, name, sub, body, namespace=None):
        self.requests.append((res, namespace, name, sub, body))
        if self.fail:
            raise RuntimeError(self.fail)
        exp = self.clock[0] + body["spec"]["expirationSeconds"]
        return {"status": {"token": f"token-{len(self.requests)}",
                           "expirationTimestamp": datetime.fromtimestamp(exp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}}


def api_access_pod(sa=None, audience=None):
    token = {"path": "token", "expirationSeconds": 3607}
    if audience:
        token["audience"] = audience
    spec = {"containers": [{"name": "c"}], "volumes": [{"name": "kube-api-access-abcde", "projected": {
        "defaultMode": 0o644, "sources": [{"serviceAccountToken": token},
                                          {"downwardAPI": {"items": [{"path": "namespace",
                                                                       "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}}]}
    if sa:
        spec["serviceAccountName"] = sa
    return {"metadata": {"name": "p", "namespace": "team", "uid": "u-1"}, "spec": spec}


def setup(start=1_000_000.0):
    clock = [start]
    client = FakeTokenClient(clock)
    return clock, client, TokenManager(client, now=lambda: clock[0])


@pytest.mark.parametrize("sa, audience, want_sa, want_spec", [
    (None, None, "default", {"expirationSeconds": 3607, "boundObjectRef": {
        "kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "u-1"}}),
    ("robot", "vault", "robot", {"expirationSeconds": 3607, "audiences": ["vault"], "boundObjectRef": {
        "kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "u-1"}}),
])
async def test_token_request_names_the_pods_service_account(tmp_path, sa, audience, want_sa, want_spec):
    _clock, client, tokens = setup()
    pod = api_access_pod(sa, audience)
    await tokens.ensure(pod)
    [(res, ns, name, sub, body)] = client.requests
    assert (res, ns, name, sub) == ("serviceaccounts", "team", want_sa, "token")
    assert body["kind"] == "TokenRequest" and body["spec"] == want_spec
    vols = prepare_volumes(pod, str(tmp_path), lambda k, n: tokens.get(n) if k == TOKENS else None)
    d = vols["kube-api-access-abcde"]
    assert sorted(os.listdir(d)) == ["namespace", "token"]
    assert open(os.path.join(d, "token")).read() == "token-1"
    assert open(os.path.join(d, "namespace")).read() == "team"


async def test_token_is_renewed_after_80_percent_of_its_lifetime(tmp_path):
    clock, client, tokens = setup()
    pod = api_access_pod()
    fetch = lambda k, n: tokens.get(n) if k == TOKENS else None      # noqa: E731
    await tokens.ensure(pod)
    vols = prepare_volumes(pod, str(tmp_path), fetch)
    clock[0] += 0.79 * 3607
    await tokens.ensure(pod)
    assert len(client.requests) == 1 and refresh_volumes(pod, str(tmp_path), fetch) == []
    clock[0] += 0.02 * 3607
    await tokens.ensure(pod)
    assert len(client.requests) == 2
    assert refresh_volumes(pod, str(tmp_path), fetch) == ["kube-api-access-abcde"]
    assert open(os.path.join(vols["kube-api-access-abcde"], "token")).read() == "token-2"


async def test_failed_request_fails_the_mount_but_a_held_token_survives_a_failed_renewal(tmp_path):
    clock, client, tokens = setup()
    pod = api_access_pod()
    fetch = lambda k, n: tokens.get(n) if k == TOKENS else None      # noqa: E731
    client.fail = 'serviceaccounts "default" not found'
    await tokens.ensure(pod)
    with pytest.raises(VolumeError, match='serviceaccount default: serviceaccounts "default" not found'):
        prepare_volumes(pod, str(tmp_path), fetch)
    client.fail = None
    await tokens.ensure(pod)
    prepare_volumes(pod, str(tmp_path), fetch)
    clock[0] += 0.9 * 3607
    client.fail = "connection refused"
    await tokens.ensure(pod)
    assert fetch(TOKENS, "u-1//3607") == {"token": "token-2"}
    tokens.forget("u-1")
    assert fetch(TOKENS, "u-1//3607") is None

"""RBAC in a running apiserver over TLS (client certificates, ServiceAccount bearer tokens):
the default roles, the watch-fed cache taking up new bindings, 403s on both the aiohttp and the
direct GET path, impersonation headers, TokenRequest, the access reviews, and escalation prevention
(a Role or binding grants only what its writer holds, or with `escalate`/`bind`)."""
import ssl

import aiohttp
import pytest
from aiohttp import web
from apiserver_pki import make_pki

from labkube.apiserver.app import make_app
from labkube.apiserver.config import ApiserverConfig
from labkube.apiserver.fastget import FastAppRunner
from labkube.apiserver.tls import server_context

RBAC = "/apis/rbac.authorization.k8s.io/v1"
AUTHZ = "/apis/authorization.k8s.io/v1"
SA_TOKEN = "/api/v1/namespaces/dev/serviceaccounts/reader/token"


class Server:
    def __init__(self, tmp_path, port):
        self.dir, self.base = tmp_path, f"https://127.0.0.1:{port}"

    def session(self, who: str | None = None, token: str | None = None) -> aiohttp.ClientSession:
        ctx = ssl.create_default_context(cafile=str(self.dir / "ca.crt"))
        if who:
            ctx.load_cert_chain(self.dir / f"{who}.crt", self.dir / f"{who}.key")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return aiohttp.ClientSession(self.base, connector=aiohttp.TCPConnector(ssl=ctx), headers=headers)


@pytest.fixture
async def server(tmp_path):
    make_pki(tmp_path, {"apiserver": ("kube-apiserver", [], True), "admin": ("kubernetes-admin", ["system:masters"], False),
                        "jane": ("jane", [], False), "ops": ("olga", ["ops"], False)})
    cfg = ApiserverConfig(tls_cert_file=str(tmp_path / "apiserver.crt"),
                          tls_private_key_file=str(tmp_path / "apiserver.key"), client_ca_file=str(tmp_path / "ca.crt"),
                          storage={"backend": "sqlite", "path": str(tmp_path / "r.db"), "fsync": False})
    runner = FastAppRunner(make_app(cfg))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(cfg.tls_cert_file, cfg.tls_private_key_file,
                                                                         cfg.client_ca_file))
    await site.start()
    srv = Server(tmp_path, site._server.sockets[0].getsockname()[1])
    async with srv.session("admin") as admin:
        for path, obj in [("/api/v1/namespaces", {"metadata": {"name": "dev"}}),
                          ("/api/v1/namespaces/dev/serviceaccounts", {"metadata": {"name": "reader"}}),
                          ("/api/v1/namespaces/dev/serviceaccounts", {"metadata": {"name": "default"}}),
                          ("/api/v1/namespaces/dev/pods", {"metadata": {"name": "web"},
                                                           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
                          (f"{RBAC}/namespaces/dev/roles", {"metadata": {"name": "pod-reader"}, "rules": [
                              {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]})]:
            r = await admin.post(path, json=obj)
            assert r.status == 201, await r.text()
    try:
        yield srv
    finally:
        await runner.cleanup()


async def _bind(admin, name, subject):
    r = await admin.post(f"{RBAC}/namespaces/dev/rolebindings", json={
        "metadata": {"name": name}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                 "name": "pod-reader"}, "subjects": [subject]})
    assert r.status == 201, await r.text()


async def test_default_roles_exist_and_admin_may_do_everything(server):
    async with server.session("admin") as admin:
        for name in ("cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user",
                     "system:public-info-viewer", "system:kube-scheduler", "system:kube-controller-manager",
                     "system:node"):
            assert (await admin.get(f"{RBAC}/clusterroles/{name}")).status == 200, name
        view = await (await admin.get(f"{RBAC}/clusterroles/view")).json()
        assert {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["namespaces"]} in view["rules"]
        assert (await admin.delete("/api/v1/namespaces/dev/pods/web?gracePeriodSeconds=0")).status == 200


async def test_a_new_binding_is_seen_at_once_on_both_get_paths(server):
    async with server.session("admin") as admin, server.session("jane") as jane:
        r = await jane.get("/api/v1/namespaces/dev/pods/web")   # a plain GET of a stored object: the direct path's kind
        assert r.status == 403
        body = await r.json()
        assert body["message"] == ('pods "web" is forbidden: User "jane" cannot get resource "pods" in API group "" '
                                   'in the namespace "dev"')
        assert body["details"] == {"name": "web", "kind": "pods"} and body["reason"] == "Forbidden"
        await _bind(admin, "jane", {"kind": "User", "name": "jane"})
        assert (await jane.get("/api/v1/namespaces/dev/pods/web")).status == 200
        assert (await jane.get("/api/v1/namespaces/dev/pods")).status == 200
        assert (await jane.get("/api/v1/namespaces/default/pods")).status == 403
        r = await jane.delete("/api/v1/namespaces/dev/pods/web")
        assert r.status == 403 and "cannot delete resource" in (await r.json())["message"]
        assert (await jane.get("/api")).status == 200            # system:discovery for the authenticated
        assert (await jane.get("/openapi/v3")).status == 200
        r = await jane.delete(f"{RBAC}/namespaces/dev/rolebindings/jane")
        assert r.status == 403
        assert (await admin.delete(f"{RBAC}/namespaces/dev/rolebindings/jane")).status == 200
        assert (await jane.get("/api/v1/namespaces/dev/pods/web")).status == 403


async def test_group_from_the_certificate_organization(server):
    async with server.session("admin") as admin, server.session("ops") as olga:
        assert (await olga.get("/api/v1/namespaces/dev/pods")).status == 403
        await _bind(admin, "ops", {"kind": "Group", "name": "ops"})
        assert (await olga.get("/api/v1/namespaces/dev/pods")).status == 200


async def test_service_account_token(server):
    async with server.session("admin") as admin:
        r = await admin.post(SA_TOKEN, json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                             "spec": {}})
        assert r.status == 201
        tr = await r.json()
        token = tr["status"]["token"]
        assert tr["spec"]["expirationSeconds"] == 3600 and tr["status"]["expirationTimestamp"].endswith("Z")
        r = await admin.post(SA_TOKEN, json={"spec": {"expirationSeconds": 60}})
        assert r.status == 422 and "may not specify a duration less than 10 minutes" in (await r.json())["message"]
        assert (await admin.post("/api/v1/namespaces/dev/serviceaccounts/nobody/token", json={})).status == 404
        r = await admin.post(SA_TOKEN, json={"spec": {"audiences": ["vault"]}})
        other_audience = (await r.json())["status"]["token"]
    async with server.session(token=token) as sa:
        r = await sa.post(f"{AUTHZ.replace('authorization', 'authentication')}/selfsubjectreviews", json={})
        assert (await r.json())["status"]["userInfo"] == {
            "username": "system:serviceaccount:dev:reader",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:dev", "system:authenticated"]}
        assert (await sa.get("/api/v1/namespaces/dev/pods")).status == 403
        async with server.session("admin") as admin:
            await _bind(admin, "sa", {"kind": "ServiceAccount", "name": "reader", "namespace": "dev"})
        assert (await sa.get("/api/v1/namespaces/dev/pods")).status == 200
        r = await sa.post("/api/v1/namespaces/dev/pods", json={"metadata": {"name": "x"}})
        assert (await r.json())["message"] == ('pods is forbidden: User "system:serviceaccount:dev:reader" cannot '
                                               'create resource "pods" in API group "" in the namespace "dev"')
    for bad in (token[:-4] + "AAAA", "not-a-jwt", other_audience):
        async with server.session(token=bad) as s:
            assert (await s.get("/api/v1/namespaces/dev/pods")).status == 401
    async with server.session("admin") as admin:   # a deleted ServiceAccount's tokens stop working
        assert (await admin.delete("/api/v1/namespaces/dev/serviceaccounts/reader")).status == 200
    async with server.session(token=token) as sa:
        assert (await sa.get("/api/v1/namespaces/dev/pods")).status == 401


async def test_service_account_token_secret(server):
    """The long-lived token of a Secret of type kubernetes.io/service-account-token (a course's
    `kubectl get secret -o jsonpath={.data.token} | base64 -d`): written by the apiserver, valid
    while the Secret holds it."""
    import asyncio
    import base64
    secret = {"metadata": {"name": "reader-token", "annotations": {"kubernetes.io/service-account.name": "reader"}},
              "type": "kubernetes.io/service-account-token"}
    async with server.session("admin") as admin:
        assert (await admin.post("/api/v1/namespaces/dev/secrets", json=secret)).status == 201
        await _bind(admin, "sa", {"kind": "ServiceAccount", "name": "reader", "namespace": "dev"})
        for _ in range(100):
            s = await (await admin.get("/api/v1/namespaces/dev/secrets/reader-token")).json()
            if (s.get("data") or {}).get("token"):
                break
            await asyncio.sleep(0.05)
        data = s["data"]
        assert base64.b64decode(data["namespace"]) == b"dev"
        assert base64.b64decode(data["ca.crt"]) == (server.dir / "ca.crt").read_bytes()
        assert s["metadata"]["annotations"]["kubernetes.io/service-account.uid"]
        token = base64.b64decode(data["token"]).decode()
    async with server.session(token=token) as sa:
        assert (await sa.get("/api/v1/namespaces/dev/pods")).status == 200
        assert (await sa.delete("/api/v1/namespaces/dev/pods/web")).status == 403
    async with server.session("admin") as admin:
        assert (await admin.delete("/api/v1/namespaces/dev/secrets/reader-token")).status == 200
    async with server.session(token=token) as sa:
        assert (await sa.get("/api/v1/namespaces/dev/pods")).status == 401


async def test_impersonation(server):
    as_reader = {"Impersonate-User": "system:serviceaccount:dev:reader"}
    async with server.session("admin") as admin, server.session("jane") as jane:
        await _bind(admin, "sa", {"kind": "ServiceAccount", "name": "reader", "namespace": "dev"})
        assert (await admin.get("/api/v1/namespaces/dev/pods/web", headers=as_reader)).status == 200
        # a plain GET by system:masters acting as someone else is that someone's (not the direct path's)
        assert (await admin.get("/api/v1/namespaces/dev/pods/web", headers={"Impersonate-User": "nobody"})).status == 403
        r = await admin.delete("/api/v1/namespaces/dev/pods/web", headers=as_reader)
        assert r.status == 403 and 'User "system:serviceaccount:dev:reader" cannot delete' in (await r.json())["message"]
        r = await admin.post(f"{AUTHZ.replace('authorization', 'authentication')}/selfsubjectreviews", json={},
                             headers={"Impersonate-User": "bob", "Impersonate-Group": "devs"})
        assert (await r.json())["status"]["userInfo"] == {"username": "bob", "groups": ["devs", "system:authenticated"]}
        r = await jane.get("/api/v1/namespaces/dev/pods", headers=as_reader)
        assert r.status == 403 and (await r.json())["message"] == (
            'serviceaccounts "reader" is forbidden: User "jane" cannot impersonate resource "serviceaccounts" in API '
            'group "" in the namespace "dev"')
        r = await admin.post(f"{RBAC}/clusterroles", json={"metadata": {"name": "imp"}, "rules": [
            {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["serviceaccounts"]}]})
        assert r.status == 201
        r = await admin.post(f"{RBAC}/clusterrolebindings", json={
            "metadata": {"name": "imp"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                      "name": "imp"}, "subjects": [{"kind": "User", "name": "jane"}]})
        assert r.status == 201
        assert (await jane.get("/api/v1/namespaces/dev/pods", headers=as_reader)).status == 200
        r = await jane.get("/api/v1/namespaces/dev/pods", headers={"Impersonate-User": "bob"})
        assert r.status == 403 and 'users "bob" is forbidden' in (await r.json())["message"]
        assert (await jane.get("/api/v1/namespaces/dev/pods", headers={"Impersonate-Group": "x"})).status == 400


async def test_access_reviews(server):
    async with server.session("admin") as admin, server.session("jane") as jane:
        await _bind(admin, "jane", {"kind": "User", "name": "jane"})

        async def ssar(session, **ra):
            r = await session.post(f"{AUTHZ}/selfsubjectaccessreviews", json={"spec": {"resourceAttributes": ra}})
            assert r.status == 201
            return (await r.json())["status"]

        assert (await ssar(jane, verb="list", resource="pods", namespace="dev")) == {
            "allowed": True, "reason": 'RBAC: allowed by RoleBinding "jane/dev" of Role "pod-reader" to User "jane"'}
        assert (await ssar(jane, verb="create", resource="pods", namespace="dev")) == {"allowed": False}
        assert (await ssar(admin, verb="create", resource="nodes"))["allowed"] is True
        sar = {"spec": {"user": "jane", "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "dev"}}}
        r = await admin.post(f"{AUTHZ}/subjectaccessreviews", json=sar)
        assert (await r.json())["status"]["allowed"] is True
        assert (await jane.post(f"{AUTHZ}/subjectaccessreviews", json=sar)).status == 403   # not system:auth-delegator
        r = await admin.post(f"{AUTHZ}/subjectaccessreviews", json={"spec": {"resourceAttributes": {"verb": "get"}}})
        assert r.status == 422 and "at least one of user or group" in (await r.json())["message"]
        lsar = {"spec": {"user": "jane", "resourceAttributes": {"verb": "get", "resource": "pods"}}}
        r = await admin.post(f"{AUTHZ}/namespaces/dev/localsubjectaccessreviews", json=lsar)
        assert (await r.json())["status"]["allowed"] is True
        r = await admin.post(f"{AUTHZ}/namespaces/qa/localsubjectaccessreviews", json=lsar)
        assert (await r.json())["status"]["allowed"] is False
        lsar["spec"]["resourceAttributes"]["namespace"] = "dev"
        assert (await admin.post(f"{AUTHZ}/namespaces/qa/localsubjectaccessreviews", json=lsar)).status == 400
        nonres = {"spec": {"user": "jane", "groups": ["system:authenticated"],
                           "nonResourceAttributes": {"verb": "get", "path": "/apis/apps"}}}
        r = await admin.post(f"{AUTHZ}/subjectaccessreviews", json=nonres)
        assert (await r.json())["status"]["allowed"] is True
        r = await jane.post(f"{AUTHZ}/selfsubjectrulesreviews", json={"spec": {"namespace": "dev"}})
        rules = (await r.json())["status"]
        assert {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]} in rules["resourceRules"]
        assert any("/version" in r["nonResourceURLs"] for r in rules["nonResourceRules"])
        r = await jane.post(f"{AUTHZ}/selfsubjectrulesreviews", json={"spec": {"namespace": "qa"}})
        assert {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]} not in \
            (await r.json())["status"]["resourceRules"]


async def test_no_credentials_is_401(server):
    async with server.session() as anon:
        r = await anon.get("/api/v1/namespaces/dev/pods")
        assert r.status == 401 and (await r.json())["message"] == "Unauthorized"
        assert (await anon.get("/version")).status == 200


ROLES = f"{RBAC}/namespaces/dev/roles"
BINDINGS = f"{RBAC}/namespaces/dev/rolebindings"
JANE_HOLDS = 'user "jane" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'


def _role(name, *rules):
    return {"metadata": {"name": name}, "rules": [
        {"apiGroups": [g], "resources": [r], "verbs": list(v), **({"resourceNames": n} if n else {})}
        for g, r, v, n in rules]}


def _binding(name, kind, role):
    return {"metadata": {"name": name}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
            "subjects": [{"kind": "User", "name": "jane"}]}


async def test_escalation_needs_the_permissions_or_escalate_and_bind(server):
    """jane may write Roles and RoleBindings in dev but only grant what she holds herself."""
    async with server.session("admin") as admin, server.session("jane") as jane:
        steward = _role("steward", ("rbac.authorization.k8s.io", "roles", ["create", "update", "get"], None),
                        ("rbac.authorization.k8s.io", "rolebindings", ["create"], None), ("", "pods", ["get", "list"], None))
        assert (await admin.post(ROLES, json=steward)).status == 201
        assert (await admin.post(BINDINGS, json=_binding("steward", "Role", "steward"))).status == 201

        async def status(r):
            return r.status, (await r.json()).get("message")
        # what she holds she may grant; more she may not
        assert (await jane.post(ROLES, json=_role("r1", ("", "pods", ["get"], None)))).status == 201
        assert await status(await jane.post(ROLES, json=_role("r2", ("", "secrets", ["get", "list"], None)))) == (
            403, 'roles.rbac.authorization.k8s.io "r2" is forbidden: ' + JANE_HOLDS +
            '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}')
        r1 = await (await jane.get(f"{ROLES}/r1")).json()
        r1["rules"][0]["verbs"] = ["get", "delete"]
        assert await status(await jane.put(f"{ROLES}/r1", json=r1)) == (
            403, 'roles.rbac.authorization.k8s.io "r1" is forbidden: ' + JANE_HOLDS +
            '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}')
        # a binding: to a role whose permissions she holds, yes; to edit, no; to a missing role, no
        assert (await jane.post(BINDINGS, json=_binding("b1", "Role", "r1"))).status == 201
        code, msg = await status(await jane.post(BINDINGS, json=_binding("b2", "ClusterRole", "edit")))
        assert code == 403 and msg.startswith('rolebindings.rbac.authorization.k8s.io "b2" is forbidden: ' + JANE_HOLDS)
        assert '{APIGroups:["apps"], Resources:["deployments"], Verbs:[' in msg
        assert await status(await jane.post(BINDINGS, json=_binding("b3", "Role", "nope"))) == (
            403, 'rolebindings.rbac.authorization.k8s.io "b3" is forbidden: roles.rbac.authorization.k8s.io "nope" not found')
        # `bind` on the one ClusterRole, `escalate` on roles: then she may
        may = _role("may", ("rbac.authorization.k8s.io", "clusterroles", ["bind"], ["edit"]),
                    ("rbac.authorization.k8s.io", "roles", ["escalate"], None))
        assert (await admin.post(ROLES, json=may)).status == 201
        assert (await admin.post(BINDINGS, json=_binding("may", "Role", "may"))).status == 201
        assert (await jane.post(BINDINGS, json=_binding("b2", "ClusterRole", "edit"))).status == 201
        assert (await jane.post(ROLES, json=_role("r2", ("", "secrets", ["get", "list"], None)))).status == 201
        # system:masters are never checked
        assert (await admin.post(ROLES, json=_role("r3", ("*", "*", ["*"], None)))).status == 201


TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
READER = {"username": "system:serviceaccount:dev:reader",
          "groups": ["system:serviceaccounts", "system:serviceaccounts:dev", "system:authenticated"]}


async def test_token_review(server):
    """TokenReview (what a webhook or an auth proxy asks): who a token is, for which audiences."""
    async with server.session("admin") as admin:
        sa_uid = (await (await admin.get("/api/v1/namespaces/dev/serviceaccounts/reader")).json())["metadata"]["uid"]
        pod_uid = (await (await admin.get("/api/v1/namespaces/dev/pods/web")).json())["metadata"]["uid"]

        async def token(**spec):
            r = await admin.post(SA_TOKEN, json={"spec": spec})
            assert r.status == 201, await r.text()
            return (await r.json())["status"]["token"]

        async def review(tok, audiences=None):
            spec = {"token": tok, **({"audiences": audiences} if audiences is not None else {})}
            r = await admin.post(TOKEN_REVIEWS, json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                                      "spec": spec})
            assert r.status == 201, await r.text()
            body = await r.json()
            assert body["kind"] == "TokenReview" and body["spec"]["token"] == tok
            return body["status"]
        plain = await token()
        bound = await token(boundObjectRef={"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": pod_uid})
        vault = await token(audiences=["vault"])
        api_aud = ["https://kubernetes.default.svc.cluster.local"]
        unauthenticated = {"authenticated": False, "user": {}, "error": "invalid bearer token"}
        for case, tok, audiences, want in [
            ("a TokenRequest token", plain, None, {"authenticated": True, "user": {**READER, "uid": sa_uid},
                                                  "audiences": api_aud}),
            ("bound to a pod: the pod in extra", bound, None, {"authenticated": True, "audiences": api_aud, "user": {
                **READER, "uid": sa_uid, "extra": {"authentication.kubernetes.io/pod-name": ["web"],
                                                   "authentication.kubernetes.io/pod-uid": [pod_uid]}}}),
            ("another audience, asked for", vault, ["vault"], {"authenticated": True, "audiences": ["vault"],
                                                                "user": {**READER, "uid": sa_uid}}),
            ("another audience, not asked for", vault, None, unauthenticated),
            ("the apiserver's token for vault", plain, ["vault"], unauthenticated),
            ("tampered", plain[:-4] + "AAAA", None, unauthenticated),
            ("not a JWT", "not-a-jwt", None, unauthenticated),
        ]:
            assert await review(tok, audiences) == want, case
        r = await admin.post(TOKEN_REVIEWS, json={"spec": {}})
        assert r.status == 400 and (await r.json())["message"] == "token is required for TokenReview in authentication group"
        assert (await admin.delete("/api/v1/namespaces/dev/serviceaccounts/reader")).status == 200
        assert await review(plain) == unauthenticated        # its ServiceAccount is gone
    async with server.session("jane") as jane:                 # not system:auth-delegator
        r = await jane.post(TOKEN_REVIEWS, json={"spec": {"token": plain}})
        assert r.status == 403

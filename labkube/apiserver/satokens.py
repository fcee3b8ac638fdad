"""ServiceAccount tokens: the TokenRequest subresource (`kubectl create token SA`) and bearer
token authentication.

A token is a JWT (HS256) whose claims are those Kubernetes puts in a bound ServiceAccount
token: iss, sub `system:serviceaccount:<ns>:<name>`, aud, iat/nbf/exp and `kubernetes.io`
(namespace, serviceaccount name and uid, the bound pod if any). It is signed with a key derived
from the apiserver's TLS private key, so tokens stay valid across restarts of the same
apiserver and no other key file is needed. (Kubernetes signs with RS256/ES256 so that others can
verify with the public key; nothing in the lab verifies tokens but the apiserver itself.)

Secrets of type kubernetes.io/service-account-token (annotation kubernetes.io/service-account.name)
get a long-lived token, the CA and the namespace written into them (`rbaccache.py` does what
Kubernetes' tokens controller does); such a token is valid while its Secret holds it.

A bearer token authenticates as the ServiceAccount, with groups system:serviceaccounts,
system:serviceaccounts:<ns> and system:authenticated, while it is unexpired, names the
apiserver's audience and its ServiceAccount still exists with the same uid.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime, timezone

from aiohttp import web

from .. import jsonio
from ..api import errors
from .authz import service_account_groups, service_account_user
from .httputil import read_body, reply
from .tls import UserInfo

ISSUER = "https://kubernetes.default.svc.cluster.local"
LEGACY_ISSUER = "kubernetes/serviceaccount"
LEGACY_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"
AUDIENCES = (ISSUER,)
DEFAULT_SECONDS = 3600
MIN_SECONDS = 600
MAX_SECONDS = 1 << 32
_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Signs and verifies ServiceAccount tokens with one HMAC key."""

    def __init__(self, key: bytes):
        self._key = key
        self._verified: dict[str, tuple[UserInfo, float, tuple[str, str], str]] = {}

    @classmethod
    def from_key_file(cls, path: str) -> "TokenIssuer":
        with open(path, "rb") as f:
            return cls(hashlib.sha256(b"labkube serviceaccount tokens\0" + f.read()).digest())

    def issue(self, namespace: str, name: str, uid: str, audiences: list[str], seconds: int,
              pod: dict | None = None, now: float | None = None) -> tuple[str, int]:
        """(token, expiry as unix seconds)."""
        iat = int(time.time() if now is None else now)
        claims = {"aud": audiences, "exp": iat + seconds, "iat": iat, "iss": ISSUER, "nbf": iat,
                  "sub": service_account_user(namespace, name),
                  "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}}}
        if pod:
            claims["kubernetes.io"]["pod"] = pod
        body = _HEADER + b"." + _b64(jsonio.dumps(claims))
        sig = hmac.new(self._key, body, hashlib.sha256).digest()
        return (body + b"." + _b64(sig)).decode(), iat + seconds

    def issue_legacy(self, namespace: str, name: str, uid: str, secret: str) -> str:
        """The long-lived token of a Secret of type kubernetes.io/service-account-token (valid
        while that Secret holds it), with the claims Kubernetes' tokens controller writes."""
        p = "kubernetes.io/serviceaccount/"
        claims = {"iss": LEGACY_ISSUER, p + "namespace": namespace, p + "secret.name": secret,
                  p + "service-account.name": name, p + "service-account.uid": uid,
                  "sub": service_account_user(namespace, name)}
        body = _HEADER + b"." + _b64(jsonio.dumps(claims))
        return (body + b"." + _b64(hmac.new(self._key, body, hashlib.sha256).digest())).decode()

    def claims(self, token: str, now: float | None = None, audiences=AUDIENCES) -> dict | None:
        """The claims of a token this issuer signed that is valid now for one of ``audiences``,
        else None (a legacy Secret token's claims are returned as they are: the caller checks
        its Secret)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        body = (parts[0] + "." + parts[1]).encode()
        try:
            sig = _unb64(parts[2])
            claims = jsonio.loads(_unb64(parts[1]))
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(sig, hmac.new(self._key, body, hashlib.sha256).digest()):
            return None
        if isinstance(claims, dict) and claims.get("iss") == LEGACY_ISSUER:
            return claims
        t = time.time() if now is None else now
        if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int) or claims["exp"] <= t \
                or claims.get("nbf", 0) > t + 60 or claims.get("iss") != ISSUER:
            return None
        aud = claims.get("aud")
        if not isinstance(aud, list) or not set(aud) & set(audiences):
            return None
        return claims

    def review(self, token: str, audiences, service_accounts: dict[tuple[str, str], str],
               secret_tokens: dict[tuple[str, str], str]) -> dict:
        """A TokenReview's status for ``token`` checked against ``audiences`` (the apiserver's
        when empty): the user with its ServiceAccount uid and, for a pod-bound token, the pod in
        `extra`, and the audiences it is valid for; or unauthenticated with an error."""
        auds = list(audiences or AUDIENCES)
        claims = self.claims(token, audiences=auds)
        if claims is not None and claims.get("iss") == LEGACY_ISSUER:
            p = "kubernetes.io/serviceaccount/"
            ns, name, uid = claims.get(p + "namespace", ""), claims.get(p + "service-account.name", ""), \
                claims.get(p + "service-account.uid", "")
            ok = secret_tokens.get((ns, claims.get(p + "secret.name"))) == token
            token_auds, pod = list(AUDIENCES), None
        elif claims is not None:
            k8s = claims.get("kubernetes.io") or {}
            ns, sa = k8s.get("namespace", ""), k8s.get("serviceaccount") or {}
            name, uid, ok, pod = sa.get("name", ""), sa.get("uid", ""), True, k8s.get("pod")
            token_auds = claims["aud"]
        if claims is None or not ok or service_accounts.get((ns, name)) != uid or \
                not set(token_auds) & set(auds):
            return {"authenticated": False, "user": {}, "error": "invalid bearer token"}
        user = {"username": service_account_user(ns, name), "uid": uid,
                "groups": [*service_account_groups(ns), "system:authenticated"]}
        if isinstance(pod, dict):
            user["extra"] = {"authentication.kubernetes.io/pod-name": [pod.get("name", "")],
                             "authentication.kubernetes.io/pod-uid": [pod.get("uid", "")]}
        return {"authenticated": True, "user": user, "audiences": [a for a in token_auds if a in auds]}

    def user(self, token: str, service_accounts: dict[tuple[str, str], str],
             secret_tokens: dict[tuple[str, str], str] | None = None) -> UserInfo | None:
        """The ServiceAccount a bearer token authenticates, or None (bad, expired, its
        ServiceAccount deleted or recreated since, or - a legacy Secret token - its Secret gone
        or holding another token). Checked tokens are remembered until expiry."""
        now = time.time()
        hit = self._verified.get(token)
        if hit is None:
            claims = self.claims(token, now)
            if claims is None:
                return None
            if claims.get("iss") == LEGACY_ISSUER:
                p = "kubernetes.io/serviceaccount/"
                ns, name = claims.get(p + "namespace", ""), claims.get(p + "service-account.name", "")
                uid, exp, secret = claims.get(p + "service-account.uid", ""), float("inf"), claims.get(p + "secret.name")
            else:
                k8s = claims.get("kubernetes.io") or {}
                ns, sa = k8s.get("namespace", ""), k8s.get("serviceaccount") or {}
                name, uid, exp, secret = sa.get("name", ""), sa.get("uid", ""), claims["exp"], None
            info = UserInfo(service_account_user(ns, name), service_account_groups(ns) + ("system:authenticated",))
            hit = (info, exp, (ns, name), uid, secret)
            if len(self._verified) > 10000:
                self._verified.clear()
            self._verified[token] = hit
        info, exp, sa_key, uid, secret = hit
        if exp <= now or service_accounts.get(sa_key) != uid:
            return None
        if secret is not None and (secret_tokens or {}).get((sa_key[0], secret)) != token:
            return None
        return info


def bearer_token(request: web.Request) -> str | None:
    h = request.headers.get("Authorization", "")
    if h[:7].lower() != "bearer ":
        return None
    return h[7:].strip() or None


async def token_request(request: web.Request, issuer: TokenIssuer, reg, t) -> web.Response:
    """POST .../namespaces/<ns>/serviceaccounts/<name>/token: a TokenRequest answered with a token."""
    from ..api.resources import resource
    if request.method != "POST":
        raise errors.method_not_allowed("serviceaccounts/token only supports create")
    body = await read_body(request, allow_empty=True) or {}
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a TokenRequest object")
    spec = body.get("spec") or {}
    if not isinstance(spec, dict):
        raise errors.bad_request("TokenRequest spec must be an object")
    sa = await reg.get(resource("serviceaccounts"), t.namespace, t.name)
    seconds = spec.get("expirationSeconds")
    seconds = DEFAULT_SECONDS if seconds is None else seconds
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise errors.bad_request("spec.expirationSeconds must be an integer")
    if seconds < MIN_SECONDS or seconds > MAX_SECONDS:
        why = "may not specify a duration less than 10 minutes" if seconds < MIN_SECONDS else \
            "may not specify a duration larger than 2^32 seconds"
        raise errors.ApiError(422, "Invalid", f'TokenRequest.authentication.k8s.io "{t.name}" is invalid: '
                              f"spec.expirationSeconds: Invalid value: {seconds}: {why}",
                              {"name": t.name, "group": "authentication.k8s.io", "kind": "TokenRequest"})
    audiences = spec.get("audiences") or list(AUDIENCES)
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise errors.bad_request("spec.audiences must be a list of strings")
    ref = spec.get("boundObjectRef") or None
    pod = None
    if isinstance(ref, dict) and ref.get("kind") == "Pod":
        pod = {"name": ref.get("name", ""), "uid": ref.get("uid", "")}
    md = sa.get("metadata") or {}
    token, exp = issuer.issue(t.namespace, t.name, md.get("uid", ""), audiences, seconds, pod)
    expires = datetime.fromtimestamp(exp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return reply({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                  "metadata": {"name": t.name, "namespace": t.namespace, "creationTimestamp": None},
                  "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": ref},
                  "status": {"token": token, "expirationTimestamp": expires}}, 201)

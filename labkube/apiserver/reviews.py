"""Virtual create-only resources that answer questions instead of storing objects, from the
same RBAC rules that authorize requests (`authz.RbacIndex`):

  SelfSubjectAccessReview   `kubectl auth can-i VERB RESOURCE` - may I (the requester)?
  SubjectAccessReview       may spec.user / spec.groups?
  LocalSubjectAccessReview  the same, in the URL's namespace
  SelfSubjectRulesReview    `kubectl auth can-i --list` - what may I do in spec.namespace?
  SelfSubjectReview         `kubectl auth whoami`
  TokenReview               who does this bearer token authenticate (the lab's ServiceAccount
                            tokens: TokenRequest ones, pod-bound ones, legacy Secret ones)?
"""
from __future__ import annotations

from aiohttp import web

from ..api import errors
from ..api.meta import now
from . import keys
from .access import CACHE, ISSUER
from .authz import Attributes, RbacIndex
from .httputil import read_body, reply
from .paths import Target

VIRTUAL = ("selfsubjectaccessreviews", "subjectaccessreviews", "localsubjectaccessreviews",
           "selfsubjectrulesreviews", "selfsubjectreviews", "tokenreviews")


def _invalid(kind: str, field: str, value: str, why: str) -> errors.ApiError:
    return errors.ApiError(422, "Invalid", f'{kind}.authorization.k8s.io "" is invalid: {field}: Invalid value: '
                           f'{value}: {why}', {"group": "authorization.k8s.io", "kind": kind})


def review_attributes(kind: str, user: str, groups: tuple[str, ...], spec: dict) -> Attributes:
    """The Attributes a *SubjectAccessReview spec asks about (ApiError 422 when it asks none or both)."""
    ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if bool(ra) == bool(nra):
        why = "exactly one of nonResourceAttributes or resourceAttributes must be specified"
        raise _invalid(kind, "spec.resourceAttributes", '"null"' if not ra else "\"{...}\"", why)
    if nra:
        if not isinstance(nra, dict):
            raise errors.bad_request("spec.nonResourceAttributes must be an object")
        return Attributes(user, groups, str(nra.get("verb") or ""), False, path=str(nra.get("path") or ""))
    if not isinstance(ra, dict):
        raise errors.bad_request("spec.resourceAttributes must be an object")
    s = {k: str(ra.get(k) or "") for k in ("verb", "group", "version", "resource", "subresource", "namespace", "name")}
    return Attributes(user, groups, s["verb"], True, s["group"], s["version"], s["resource"], s["subresource"],
                      s["namespace"], s["name"])


def access_status(index: RbacIndex, a: Attributes) -> dict:
    allowed, reason = index.authorize(a)
    out = {"allowed": allowed}
    if reason:
        out["reason"] = reason
    return out


def rules_status(index: RbacIndex, user: str, groups: tuple[str, ...], namespace: str) -> dict:
    """SelfSubjectRulesReview status: every rule that applies in `namespace`, resource rules and
    non-resource rules apart (each once, in the order RBAC visits them)."""
    res_rules, url_rules = [], []
    for rule, _ in index.rules_for(user, groups, namespace):
        raw = rule.raw
        if raw.get("nonResourceURLs"):
            r = {"verbs": list(raw.get("verbs") or []), "nonResourceURLs": list(raw["nonResourceURLs"])}
            if r not in url_rules:
                url_rules.append(r)
        if raw.get("resources"):
            r = {"verbs": list(raw.get("verbs") or []), "apiGroups": list(raw.get("apiGroups") or []),
                 "resources": list(raw["resources"])}
            if raw.get("resourceNames"):
                r["resourceNames"] = list(raw["resourceNames"])
            if r not in res_rules:
                res_rules.append(r)
    return {"resourceRules": res_rules, "nonResourceRules": url_rules, "incomplete": False}


def token_status(issuer, cache, spec: dict) -> dict:
    """A TokenReview's status (400 without a token, as Kubernetes)."""
    token, auds = spec.get("token"), spec.get("audiences") or []
    if not token or not isinstance(token, str):
        raise errors.bad_request("token is required for TokenReview in authentication group")
    if not isinstance(auds, list) or not all(isinstance(a, str) for a in auds):
        raise errors.bad_request("spec.audiences must be a list of strings")
    if issuer is None or cache is None:
        return {"authenticated": False, "user": {}, "error": "no ServiceAccount token issuer"}
    return issuer.review(token, auds, cache.service_accounts, cache.secret_tokens)


async def handle(request: web.Request, t: Target) -> web.Response:
    if request.method != "POST" or t.name:
        raise errors.method_not_allowed(f"{t.res.name} only supports create")
    body = await read_body(request)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    user = request.get(keys.USER)
    name, groups = (user.name, user.groups) if user else ("system:anonymous", ("system:unauthenticated",))
    cache = request.app.get(CACHE)
    index = cache.index if cache is not None else RbacIndex()
    out = {"kind": t.res.kind, "apiVersion": t.res.api_version, "metadata": {"creationTimestamp": now()}}
    if t.res.name == "selfsubjectreviews":
        out["status"] = {"userInfo": {"username": name, "groups": list(groups)}}
        return reply(out, 201)
    spec = body.get("spec") or {}
    if not isinstance(spec, dict):
        raise errors.bad_request(f'{t.res.kind} in version "v1" cannot be handled as a {t.res.kind}: '
                                 "json: cannot unmarshal into spec of type object")
    out["spec"] = spec
    if t.res.name == "tokenreviews":
        out["status"] = token_status(request.app.get(ISSUER), cache, spec)
        return reply(out, 201)
    if t.res.name == "selfsubjectrulesreviews":
        out["status"] = rules_status(index, name, groups, str(spec.get("namespace") or ""))
        return reply(out, 201)
    if t.res.name in ("subjectaccessreviews", "localsubjectaccessreviews"):
        name, groups = str(spec.get("user") or ""), tuple(str(g) for g in spec.get("groups") or [])
        if not name and not groups:
            raise _invalid(t.res.kind, "spec.user", '""', "at least one of user or group must be specified")
    if t.res.name == "localsubjectaccessreviews":
        ra = spec.get("resourceAttributes")
        if isinstance(ra, dict):
            if not ra.get("namespace"):
                ra["namespace"] = t.namespace
            elif ra["namespace"] != t.namespace:
                raise errors.bad_request(f"spec.resourceAttributes.namespace must match metadata.namespace: "
                                         f'"{ra["namespace"]}" "{t.namespace}"')
        out["metadata"]["namespace"] = t.namespace
    a = review_attributes(t.res.kind, name, groups, spec)
    # an apiserver without authorization (make_app(authenticate=False), in tests) allows every request
    out["status"] = access_status(index, a) if cache is not None else \
        {"allowed": True, "reason": "authorization is off: every request is allowed"}
    return reply(out, 201)

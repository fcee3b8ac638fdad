"""Virtual create-only resources: SelfSubjectAccessReview (`kubectl auth can-i`; every
authenticated user may do everything here) and SelfSubjectReview (`kubectl auth whoami`)."""
from __future__ import annotations

from aiohttp import web

from ..api import errors
from ..api.meta import now
from . import keys
from .httputil import read_body, reply
from .paths import Target

VIRTUAL = ("selfsubjectaccessreviews", "selfsubjectreviews")


async def handle(request: web.Request, t: Target) -> web.Response:
    if request.method != "POST" or t.name:
        raise errors.method_not_allowed(f"{t.res.name} only supports create")
    body = await read_body(request)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    user = request.get(keys.USER)
    out = {"kind": t.res.kind, "apiVersion": t.res.api_version,
           "metadata": {"creationTimestamp": now()}}
    if t.res.name == "selfsubjectaccessreviews":
        spec = body.get("spec") or {}
        if not isinstance(spec, dict):
            raise errors.bad_request("SelfSubjectAccessReview in version \"v1\" cannot be handled as a "
                                     "SelfSubjectAccessReview: json: cannot unmarshal into spec of type object")
        if not spec.get("resourceAttributes") and not spec.get("nonResourceAttributes"):
            raise errors.ApiError(422, "Invalid", 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                                  "spec.resourceAttributes: Invalid value: \"null\": exactly one of "
                                  "nonResourceAttributes or resourceAttributes must be specified")
        out["spec"] = spec
        out["status"] = {"allowed": True, "reason": "labkube allows every authenticated user"}
    else:
        info = {"username": user.name if user else "system:anonymous",
                "groups": list(user.groups) if user else ["system:unauthenticated"]}
        out["status"] = {"userInfo": info}
    return reply(out, 201)

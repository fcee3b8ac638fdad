"""ServiceAccount tokens for projected `serviceAccountToken` volume sources.

For each such source of a pod, the kubelet asks the apiserver for a token with a TokenRequest
(`serviceaccounts/<pod's ServiceAccount>/token`: the source's audience - none means the
apiserver's own -, its expirationSeconds, bound to the pod) and keeps it until 80 % of its
lifetime has passed; then the next volume refresh (every 10 s) asks for a new one. A failed
refresh keeps the old token while it is valid. The volume code reads tokens with
``fetch(TOKENS, token_key(pod, source))``.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime

log = logging.getLogger(__name__)

TOKENS = "serviceaccounttokens"      # the fetch kind under which the volume code asks for a token
DEFAULT_SECONDS = 3600
REFRESH_AT = 0.8                     # of a token's lifetime


def token_sources(pod: dict) -> list[dict]:
    """The serviceAccountToken sources of the pod's projected volumes."""
    out = []
    for v in (pod.get("spec") or {}).get("volumes") or []:
        for src in (v.get("projected") or {}).get("sources") or []:
            if isinstance(src.get("serviceAccountToken"), dict):
                out.append(src["serviceAccountToken"])
    return out


def token_key(pod: dict, src: dict) -> str:
    seconds = int(src.get("expirationSeconds") or DEFAULT_SECONDS)
    return f"{pod['metadata'].get('uid', '')}/{src.get('audience') or ''}/{seconds}"


def token_request(pod: dict, src: dict) -> dict:
    """The TokenRequest body the kubelet sends for one source."""
    md = pod["metadata"]
    spec = {"expirationSeconds": int(src.get("expirationSeconds") or DEFAULT_SECONDS),
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": md["name"], "uid": md.get("uid", "")}}
    if src.get("audience"):
        spec["audiences"] = [src["audience"]]
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


def _unix(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


class TokenManager:
    """Tokens by token_key: requested when missing, renewed after 80 % of their lifetime."""

    def __init__(self, client, now=time.time):
        self.client = client
        self.now = now
        self._tokens: dict[str, tuple[str, float, float]] = {}     # key -> (token, issued, expires)
        self.errors: dict[str, str] = {}                             # key -> why the last request failed

    def get(self, key: str) -> dict | None:
        """{"token": ...} while a valid token is held, else {"error": why} after a failed request,
        else None (never requested)."""
        hit = self._tokens.get(key)
        if hit is not None and hit[2] > self.now():
            return {"token": hit[0]}
        return {"error": self.errors[key]} if key in self.errors else None

    def needs_refresh(self, key: str) -> bool:
        hit = self._tokens.get(key)
        if hit is None:
            return True
        _token, issued, expires = hit
        return self.now() >= issued + REFRESH_AT * (expires - issued)

    async def ensure(self, pod: dict) -> None:
        """Request the pod's tokens that are missing or due for renewal."""
        md = pod["metadata"]
        sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        for src in token_sources(pod):
            key = token_key(pod, src)
            if not self.needs_refresh(key):
                continue
            issued = self.now()
            try:
                tr = await self.client.post_subresource("serviceaccounts", sa, "token", token_request(pod, src),
                                                        namespace=md["namespace"])
                status = tr.get("status") or {}
                token, expires = status["token"], _unix(status["expirationTimestamp"])
            except Exception as e:  # noqa: BLE001 - reported through the volume (FailedMount)
                self.errors[key] = f"{type(e).__name__}: {e}" if not str(e) else str(e)
                log.warning("token for pod %s/%s (serviceaccount %s): %s", md["namespace"], md["name"], sa, e)
                continue
            self._tokens[key] = (token, issued, expires)
            self.errors.pop(key, None)

    def forget(self, uid: str) -> None:
        """Drop the tokens of a pod that is gone."""
        for key in [k for k in self._tokens if k.startswith(uid + "/")]:
            del self._tokens[key]
        for key in [k for k in self.errors if k.startswith(uid + "/")]:
            del self.errors[key]

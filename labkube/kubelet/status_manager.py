"""Send pod statuses to the apiserver through the status subresource, only when changed.

Keeps the last status sent (or seen from the API) per pod uid; a failed send stays
pending and is retried on the next `set` or `flush`.
"""
from __future__ import annotations

import json
import logging

log = logging.getLogger(__name__)


def _canon(status: dict) -> str:
    return json.dumps(status, sort_keys=True)


class StatusManager:
    def __init__(self, client):
        self.client = client
        self._sent: dict[str, str] = {}
        self._pending: dict[str, tuple] = {}

    def seen(self, pod: dict) -> None:
        """Remember the status the API already has (so an unchanged one is not re-sent)."""
        uid = pod["metadata"]["uid"]
        if uid not in self._sent and pod.get("status"):
            self._sent[uid] = _canon(pod["status"])

    def changed(self, uid: str, status: dict) -> bool:
        return self._sent.get(uid) != _canon(status)

    async def set(self, pod: dict, status: dict) -> bool:
        """Send ``status`` for ``pod`` if it differs from the last one sent; True if sent."""
        meta = pod["metadata"]
        uid = meta["uid"]
        if not self.changed(uid, status):
            self._pending.pop(uid, None)
            return False
        try:
            await self.client.patch("pods", meta["name"], {"status": status}, namespace=meta["namespace"],
                                    patch_type="merge", subresource="status")
        except Exception as e:  # noqa: BLE001 - network or API errors: retry later
            code = getattr(e, "code", None)
            if code == 404:
                self._pending.pop(uid, None)
                return False
            self._pending[uid] = (pod, status)
            log.warning("status of pod %s/%s not sent: %s", meta["namespace"], meta["name"], e)
            return False
        self._sent[uid] = _canon(status)
        self._pending.pop(uid, None)
        return True

    async def flush(self) -> None:
        for pod, status in list(self._pending.values()):
            await self.set(pod, status)

    def forget(self, uid: str) -> None:
        self._sent.pop(uid, None)
        self._pending.pop(uid, None)

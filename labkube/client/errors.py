"""ApiError: a failed API call, parsed from a Kubernetes Status body."""
from __future__ import annotations

import json


class ApiError(Exception):
    """An API request that the server answered with a non-2xx status (or a watch ERROR event).

    `code` is the HTTP status, `reason` the Status reason (NotFound, AlreadyExists, Conflict,
    Expired, ...), `message` the human-readable message; `status` is the whole Status dict.
    """

    def __init__(self, code: int, reason: str = "", message: str = "", status: dict | None = None):
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.status = status or {}

    @classmethod
    def from_status(cls, status: dict, code: int | None = None) -> "ApiError":
        return cls(int(status.get("code") or code or 500), status.get("reason", "") or "",
                   status.get("message", "") or "", status)

    @classmethod
    def from_body(cls, code: int, body: bytes | str) -> "ApiError":
        """Build from an HTTP error response body (a Status, or anything else)."""
        text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else body
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("kind") == "Status":
            return cls(code, data.get("reason", "") or "", data.get("message", "") or "", data)
        return cls(code, _default_reason(code), text.strip()[:500])

    @property
    def not_found(self) -> bool:
        return self.code == 404

    @property
    def conflict(self) -> bool:
        return self.code == 409

    @property
    def gone(self) -> bool:
        return self.code == 410


def _default_reason(code: int) -> str:
    return {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 422: "Invalid",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
            504: "Timeout"}.get(code, "Unknown")


def status_error(code: int, reason: str, message: str) -> ApiError:
    """An ApiError with a Status body, as a server would send (used by the fake API)."""
    return ApiError(code, reason, message, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                            "status": "Failure", "reason": reason,
                                            "message": message, "code": code})

"""ApiError: an error that the apiserver answers as a Kubernetes `Status` object."""
from __future__ import annotations


class ApiError(Exception):
    """HTTP `code` with a Status `reason` (NotFound, AlreadyExists, Conflict, Invalid, ...)."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:      # {} too: a 404 for a path has empty details, as upstream
            body["details"] = self.details
        return body


def not_found(kind: str, name: str, group: str = "") -> ApiError:
    """kind is the plural resource name, as upstream prints it ('pods "x" not found')."""
    res = f"{kind}.{group}" if group else kind
    return ApiError(404, "NotFound", f'{res} "{name}" not found',
                    {"name": name, "group": group, "kind": kind} if group else {"name": name, "kind": kind})


def already_exists(kind: str, name: str, group: str = "") -> ApiError:
    res = f"{kind}.{group}" if group else kind
    return ApiError(409, "AlreadyExists", f'{res} "{name}" already exists', {"name": name, "kind": kind})


def conflict(kind: str, name: str, why: str, group: str = "") -> ApiError:
    res = f"{kind}.{group}" if group else kind
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res} "{name}": {why}',
                    {"name": name, "kind": kind})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def invalid(kind: str, name: str, errors: list, group: str = "") -> ApiError:
    """422 Invalid for a list of validation.FieldError ('Deployment.apps "x" is invalid: ...')."""
    msgs = [str(e) for e in errors]
    text = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    causes = [{"reason": e.reason, "message": e.detail_message(), "field": e.path} for e in errors]
    qualified = f"{kind}.{group}" if group else kind
    details = {"name": name, "kind": kind, "causes": causes}
    if group:
        details["group"] = group
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {text}', details)


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def forbidden(message: str, kind: str = "", name: str = "") -> ApiError:
    return ApiError(403, "Forbidden", message, {"name": name, "kind": kind} if kind else None)


def unsupported_media(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got "{content_type}")')

"""Table columns of APIServices as the upstream aggregator prints them: SERVICE (`ns/name`, or
`Local` for a group the apiserver serves itself), AVAILABLE (`True`, or the condition's status
with its reason, e.g. `False (MissingEndpoints)`; `Unknown` before the first check), AGE."""
from __future__ import annotations

from .base import AGE, NAME, Column, Printer, age_of, name_of


def available(obj: dict) -> str:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Available":
            status = str(c.get("status", "Unknown"))
            if status != "True" and c.get("reason"):
                return f"{status} ({c['reason']})"
            return status
    return "Unknown"


def _cells(o: dict) -> list:
    svc = (o.get("spec") or {}).get("service")
    where = f"{svc.get('namespace', '')}/{svc.get('name', '')}" if isinstance(svc, dict) else "Local"
    return [name_of(o), where, available(o), age_of(o)]


APISERVICES = Printer((NAME, Column("Service", description="The reference to the service that hosts this API "
                                                           "endpoint."),
                       Column("Available", description="Whether this service is available."), AGE), _cells)

"""Table plumbing: column definitions, rows with PartialObjectMetadata, the Table object."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .age import age


@dataclass(frozen=True)
class Column:
    name: str
    priority: int = 0
    type: str = "string"
    format: str = ""
    description: str = ""

    def definition(self) -> dict:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description or self.name, "priority": self.priority}


NAME = Column("Name", format="name", description="Name must be unique within a namespace.")
AGE = Column("Age", description="CreationTimestamp is a timestamp representing the server time when this object was created.")


@dataclass(frozen=True)
class Printer:
    columns: tuple[Column, ...]
    cells: Callable[[dict], list]


def name_of(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def age_of(obj: dict) -> str:
    return age((obj.get("metadata") or {}).get("creationTimestamp"))


GENERIC = Printer((NAME, AGE), lambda o: [name_of(o), age_of(o)])


def row_object(obj: dict, include: str) -> dict | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def build_table(printer: Printer, objs: list[dict], resource_version: str,
                include: str = "Metadata", with_columns: bool = True, continue_token: str = "") -> dict:
    rows = []
    for o in objs:
        row = {"cells": printer.cells(o)}
        ro = row_object(o, include)
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    md = {"resourceVersion": resource_version}
    if continue_token:
        md["continue"] = continue_token
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": md,
            "columnDefinitions": [c.definition() for c in printer.columns] if with_columns else None,
            "rows": rows}

"""Table columns of custom resources: NAME plus the CRD's additionalPrinterColumns (or AGE)."""
from __future__ import annotations

from .. import crschema, jsonpath
from .age import age
from .base import AGE, NAME, Column, Printer, age_of, name_of


def _cell(obj: dict, col: dict):
    text = jsonpath.cell(obj, col.get("jsonPath", ""))
    typ = col.get("type", "string")
    if typ == "date":
        return age(text) if text else "<unknown>"
    if typ in ("integer", "number") and text:
        try:
            return int(text) if typ == "integer" else float(text)
        except ValueError:
            return text
    return text


def custom_printer(res) -> Printer:
    cols = crschema.columns_for(res.group, res.version, res.name)
    if not cols:
        return Printer((NAME, AGE), lambda o: [name_of(o), age_of(o)])
    columns = (NAME,) + tuple(Column(c.get("name", ""), int(c.get("priority") or 0),
                                     "string" if c.get("type") == "date" else c.get("type", "string"),
                                     description=c.get("description", "")) for c in cols)
    return Printer(columns, lambda o: [name_of(o)] + [_cell(o, c) for c in cols])

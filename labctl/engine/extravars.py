"""``-e`` extra vars: ``key=value ...``, inline YAML/JSON, or ``@file``."""
from __future__ import annotations

from labctl.inventory.yamlsrc import YamlSourceError, load_yaml, load_yaml_text

from .args import split_args
from .errors import PlaybookError


def parse_extra_vars(values) -> dict:
    """Merge a list of ``-e`` arguments (later wins)."""
    out: dict = {}
    for v in values or []:
        v = str(v).strip()
        if not v:
            continue
        if v.startswith("@"):
            try:
                data = load_yaml(v[1:])
            except YamlSourceError as e:
                raise PlaybookError(f"-e {v}: {e}") from None
        elif v[0] in "{[":
            try:
                data = load_yaml_text(v, "<extra vars>")
            except YamlSourceError as e:
                raise PlaybookError(f"-e {v!r}: {e}") from None
        else:
            data = {}
            for tok in split_args(v):
                k, sep, val = tok.partition("=")
                if not sep:
                    raise PlaybookError(f"-e {v!r}: expected key=value, YAML/JSON or @file")
                if len(val) >= 2 and val[0] == val[-1] and val[0] in "'\"":
                    val = val[1:-1]
                data[k] = val
        if not isinstance(data, dict):
            raise PlaybookError(f"-e {v!r}: extra vars must be a mapping")
        out.update(data)
    return out

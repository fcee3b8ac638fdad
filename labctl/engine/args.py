"""Module arguments: a mapping, or Ansible's ``k=v`` string form.

``copy: src=a dest=/b mode=0644`` becomes ``{"src": "a", "dest": "/b",
"mode": "0644"}``.  Free-form modules (command, shell, ...) keep the text in
``_raw_params``; only their known ``k=v`` options are split off.
"""
from __future__ import annotations

FREE_FORM_OPTIONS = {"creates", "removes", "chdir", "executable", "stdin", "warn",
                     "stdin_add_newline", "strip_empty_ends", "file", "apply", "msg", "var",
                     "verbosity"}


def split_args(text: str) -> list[str]:
    """Split on whitespace, keeping quoted strings and Jinja2 blocks whole."""
    tokens, buf, quote, depth, i = [], "", None, 0, 0
    while i < len(text):
        ch = text[i]
        two = text[i:i + 2]
        if quote:
            buf += ch
            if ch == "\\" and i + 1 < len(text):
                buf += text[i + 1]
                i += 2
                continue
            if ch == quote:
                quote = None
        elif two in ("{{", "{%", "{#"):
            depth += 1
            buf += two
            i += 2
            continue
        elif two in ("}}", "%}", "#}") and depth:
            depth -= 1
            buf += two
            i += 2
            continue
        elif ch in "'\"" and not depth:
            quote = ch
            buf += ch
        elif ch.isspace() and not depth:
            if buf:
                tokens.append(buf)
            buf = ""
        else:
            buf += ch
        i += 1
    if quote:
        raise ValueError(f"unbalanced quote in {text!r}")
    if buf:
        tokens.append(buf)
    return tokens


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    return v


def parse_args(action: str, raw, free_form: bool = False) -> dict:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return dict(raw)
    if not isinstance(raw, (str, int, float, bool)):
        raise ValueError(f"arguments must be a mapping or a k=v string, got {type(raw).__name__}")
    text = str(raw)
    out: dict = {}
    if free_form:
        rest = []
        for tok in split_args(text):
            k, sep, v = tok.partition("=")
            if sep and k in FREE_FORM_OPTIONS and action not in ("debug", "fail") or \
                    (sep and action in ("debug", "fail") and k in ("msg", "var", "verbosity")):
                out[k] = _unquote(v)
            else:
                rest.append(tok)
        if rest:
            # keep the original spacing of the command part
            out["_raw_params"] = text if len(rest) == len(split_args(text)) else " ".join(rest)
        return out
    for tok in split_args(text):
        k, sep, v = tok.partition("=")
        if not sep or not k.isidentifier():
            raise ValueError(f"expected key=value arguments, got {tok!r}")
        out[k] = _unquote(v)
    return out

"""Jinja2 templating with Ansible's semantics.

* Variables are rendered lazily: a variable whose value is itself a template
  (``url: "https://{{ host }}:6443"``) is rendered when it is used, with the
  same variables (:class:`Scope`).
* ``StrictUndefined``: using an undefined variable raises
  :class:`TemplateError` whose message names the variable.
* A string that is exactly one expression (``"{{ items | map('x') }}"``) keeps
  its native type (list, dict, int, bool ...); anything else is a string.
* ``render_file`` renders a template file the way the template module does
  (``trim_blocks``, trailing newline kept).
"""
from __future__ import annotations

import os
import subprocess
import types
from collections.abc import Mapping

from jinja2 import Environment, StrictUndefined, TemplateSyntaxError, Undefined
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.exceptions import UndefinedError
from jinja2 import nodes
from jinja2.nativetypes import NativeCodeGenerator, NativeEnvironment

from .filters import FILTERS, TESTS, FilterError, to_bool

_EXTENSIONS = ["jinja2.ext.do", "jinja2.ext.loopcontrols"]


class _NoFoldCodeGenerator(NativeCodeGenerator):
    """Native code generation without compile-time folding of expressions.

    Jinja folds constant expressions into strings at compile time (``{{ 'off' | bool }}``
    would yield the text ``'False'``); evaluating them at render time keeps native types.
    """

    def _output_child_to_const(self, node, frame, finalize):
        if not isinstance(node, nodes.TemplateData):
            raise nodes.Impossible()
        return super()._output_child_to_const(node, frame, finalize)


class _NativeEnv(NativeEnvironment):
    code_generator_class = _NoFoldCodeGenerator


class TemplateError(Exception):
    """A template could not be rendered; ``str()`` is one line."""


def is_template(value) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value or "{#" in value)


def needs_render(value) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, dict):   # plain data only: lazy mappings (hostvars, vars) render themselves
        return any(needs_render(k) or needs_render(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(needs_render(v) for v in value)
    return False


def _lookup(kind, *terms, **kw):
    out = []
    for t in terms:
        if kind == "env":
            out.append(os.environ.get(t, kw.get("default", "")))
        elif kind == "file":
            with open(t, encoding="utf-8") as f:
                out.append(f.read().rstrip("\n"))
        elif kind == "pipe":
            out.append(subprocess.run(t, shell=True, capture_output=True, text=True,
                                      check=True).stdout.rstrip("\n"))
        elif kind in ("items", "list"):
            out.extend(t if isinstance(t, list) else [t])
        else:
            raise TemplateError(f"lookup plugin {kind!r} is not supported (env, file, pipe, items)")
    return out


def lookup(kind, *terms, **kw):
    res = _lookup(kind, *terms, **kw)
    if kw.get("wantlist") or kind in ("items", "list"):
        return res
    return ",".join(str(x) for x in res) if len(res) != 1 else res[0]


def query(kind, *terms, **kw):
    return _lookup(kind, *terms, **kw)


def _setup(env):
    env.filters.update(FILTERS)
    env.tests.update(TESTS)
    env.globals.update(lookup=lookup, query=query, q=query)
    return env


class Scope(Mapping):
    """Variables for one host and task, rendered on first use and cached."""

    def __init__(self, templar: "Templar", data: dict):
        self.templar = templar
        self.data = data
        self._cache: dict = {}
        self._resolving: set = set()

    def __getitem__(self, key):
        try:
            return self._cache[key]
        except KeyError:
            pass
        if key in self.data:
            raw = self.data[key]
            if needs_render(raw):
                if key in self._resolving:
                    raise TemplateError(f"variable '{key}' refers to itself (recursive template)")
                self._resolving.add(key)
                try:
                    value = self.templar.render(raw, self)
                finally:
                    self._resolving.discard(key)
            else:
                value = raw
            self._cache[key] = value
            return value
        if key == "vars":
            return self
        if key in self.templar.env.globals:
            return self.templar.env.globals[key]
        raise KeyError(key)

    def __contains__(self, key):
        return key in self.data or key == "vars" or key in self.templar.env.globals

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)

    def child(self, more: dict) -> "Scope":
        """A scope with extra variables on top (loop items, registered results)."""
        return Scope(self.templar, {**self.data, **more})

    def get_raw(self, key, default=None):
        return self.data.get(key, default)


def _materialize(v):
    if isinstance(v, (types.GeneratorType, map, filter, zip)) or type(v).__name__ in (
            "generator", "dict_keys", "dict_values", "dict_items"):
        return list(v)
    return v


class Templar:
    def __init__(self):
        # optimized=False: no constant folding, so "{{ 42 }}" stays an int like "{{ x }}" does
        self.env = _setup(_NativeEnv(undefined=StrictUndefined, keep_trailing_newline=True, optimized=False,
                                            extensions=_EXTENSIONS))
        self.file_env = _setup(Environment(undefined=StrictUndefined, keep_trailing_newline=True,
                                           trim_blocks=True, extensions=_EXTENSIONS))
        self._cache: dict = {}

    def _compile(self, source: str, env):
        key = (id(env), source)
        t = self._cache.get(key)
        if t is None:
            try:
                t = env.from_string(source)
            except TemplateSyntaxError as e:
                raise TemplateError(f"template syntax error: {e.message} in {source!r}") from None
            if len(self._cache) > 20000:
                self._cache = {k: v for k, v in self._cache.items() if k and k[0] == "overlay"}
            self._cache[key] = t
        return t

    def render_string(self, source: str, scope: Mapping):
        if not is_template(source):
            return source
        tmpl = self._compile(source, self.env)
        ctx = tmpl.new_context(scope, shared=True)
        try:
            parts = list(tmpl.root_render_func(ctx))
            if len(parts) == 1:
                v = _materialize(parts[0])
                if isinstance(v, Undefined):
                    v._fail_with_undefined_error()
                return v
            return "".join(str(p) for p in parts)
        except UndefinedError as e:
            raise TemplateError(f"{e.message}") from None
        except TemplateError:
            raise
        except (JinjaTemplateError, FilterError) as e:
            raise TemplateError(f"{type(e).__name__}: {e} (in {source!r})") from None
        except Exception as e:  # filters raise all sorts of things
            raise TemplateError(f"{type(e).__name__}: {e} (in {source!r})") from None

    def render(self, value, scope: Mapping):
        """Render strings inside any structure; other values pass through."""
        if isinstance(value, str):
            return self.render_string(value, scope)
        if isinstance(value, dict):
            return {self.render(k, scope): self.render(v, scope) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.render(v, scope) for v in value]
        return value

    def evaluate(self, expr, scope: Mapping) -> bool:
        """A ``when``/``changed_when``/``failed_when`` condition."""
        if isinstance(expr, bool):
            return expr
        if expr is None:
            return False
        if isinstance(expr, (int, float)):
            return bool(expr)
        s = str(expr).strip()
        if s.startswith("{{") and s.endswith("}}") and s.count("{{") == 1:
            s = s[2:-2]
        v = self.render_string("{{ (" + s + ") }}", scope)
        if isinstance(v, str):
            low = v.strip().lower()
            if low in ("false", "no", "off", "0", "", "none"):
                return False
            if low in ("true", "yes", "on", "1"):
                return True
        return bool(v)

    def render_file(self, text: str, scope: Mapping, name: str = "<template>", **env_opts) -> str:
        """Render a template file; ``env_opts`` (trim_blocks, lstrip_blocks, ...) as the template module."""
        env = self.file_env
        if env_opts:
            okey = ("overlay",) + tuple(sorted(env_opts.items()))
            env = self._cache.get(okey)
            if env is None:
                env = self._cache[okey] = self.file_env.overlay(**env_opts)
        key = (id(env), text)
        tmpl = self._cache.get(key)
        if tmpl is None:
            try:
                tmpl = self._cache[key] = env.from_string(text)
            except TemplateSyntaxError as e:
                raise TemplateError(f"{name}:{e.lineno}: template syntax error: {e.message}") from None
        try:
            return "".join(
                tmpl.root_render_func(tmpl.new_context(scope, shared=True)))
        except UndefinedError as e:
            raise TemplateError(f"{name}: {e.message}") from None
        except TemplateError as e:
            raise TemplateError(f"{name}: {e}") from None
        except Exception as e:
            raise TemplateError(f"{name}: {type(e).__name__}: {e}") from None


__all__ = ["Templar", "Scope", "TemplateError", "is_template", "needs_render", "to_bool"]

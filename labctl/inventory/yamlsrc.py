"""YAML loading that remembers where things came from.

Inventories, playbooks and roles are YAML; when they are wrong the user needs
the file and line.  ``load_yaml`` returns plain Python data, except that every
mapping is a :class:`LineDict` (a ``dict`` carrying ``.src_file`` and
``.src_line``, 1-based) and every list a :class:`LineList`.  Ansible's
``!unsafe`` tag is accepted (the value stays a plain string) and ``!vault``
is rejected with a clear message.
"""
from __future__ import annotations

import yaml


class YamlSourceError(Exception):
    """A YAML file could not be parsed; ``str()`` is one line with file:line."""

    def __init__(self, path, line, msg):
        self.path, self.line, self.msg = str(path), line, msg
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {msg}")


class LineDict(dict):
    src_file = None
    src_line = None


class LineList(list):
    src_file = None
    src_line = None


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml's parser when present (much faster)


class _Loader(_Base):
    """SafeLoader that tags containers with their source position."""

    filename = "<string>"


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    d = LineDict()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "unhashable mapping key", key_node.start_mark)
        d[key] = loader.construct_object(value_node, deep=True)
    d.src_file = loader.filename
    d.src_line = node.start_mark.line + 1
    return d


def _construct_seq(loader, node):
    lst = LineList(loader.construct_object(n, deep=True) for n in node.value)
    lst.src_file = loader.filename
    lst.src_line = node.start_mark.line + 1
    return lst


def _construct_unsafe(loader, node):
    if isinstance(node, yaml.ScalarNode):
        return str(loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return _construct_seq(loader, node)
    return _construct_mapping(loader, node)


def _construct_vault(loader, node):
    raise yaml.constructor.ConstructorError(
        None, None, "ansible-vault encrypted values are not supported", node.start_mark)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)
_Loader.add_constructor("!unsafe", _construct_unsafe)
_Loader.add_constructor("!vault", _construct_vault)


def load_yaml_text(text: str, filename: str = "<string>"):
    """Parse YAML text; raise :class:`YamlSourceError` naming file and line."""
    loader = _Loader(text)
    loader.filename = str(filename)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        msg = " ".join(x for x in (e.context, e.problem) if x) or str(e)
        raise YamlSourceError(filename, line, "YAML syntax error: " + msg.replace("\n", " ")) from None
    except yaml.YAMLError as e:
        raise YamlSourceError(filename, None, "YAML error: " + str(e).replace("\n", " ")) from None
    finally:
        loader.dispose()


def load_yaml(path):
    """Read and parse a YAML (or JSON) file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise YamlSourceError(path, None, f"cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise YamlSourceError(path, None, "not UTF-8 text") from None
    return load_yaml_text(text, str(path))


def where(obj, default_file=None) -> str:
    """``file:line`` for a loaded container (best effort)."""
    f = getattr(obj, "src_file", None) or default_file
    line = getattr(obj, "src_line", None)
    if f and line:
        return f"{f}:{line}"
    return str(f or "<unknown>")

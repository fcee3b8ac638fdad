"""Templating: Ansible filters/tests, native types for single expressions, lazy variables, errors."""
import pytest

from labctl.engine.templating import Scope, Templar, TemplateError

VARS = {
    "name": "w1-k8s", "n": 3, "items": [3, 1, 3, 2], "d": {"b": 2, "a": 1},
    "nested": "{{ name }}-x", "yes_str": "yes", "text": "a: 1\nb: [x, y]\n",
    "path": "/etc/labkube/pki/ca.crt", "results": [{"changed": True, "item": "a"}, {"changed": False, "item": "b"}],
}


@pytest.mark.parametrize("expr,expected", [
    ("{{ missing | default('dflt') }}", "dflt"),
    ("{{ missing | d(5) }}", 5),
    ("{{ '' | default('e', true) }}", "e"),
    ("{{ yes_str | bool }}", True),
    ("{{ 'off' | bool }}", False),
    ("{{ d | to_json }}", '{"b": 2, "a": 1}'),
    ("{{ d | to_nice_json }}", '{\n    "a": 1,\n    "b": 2\n}'),
    ("{{ d | to_yaml }}", "{a: 1, b: 2}\n"),   # flow style for flat data, as Ansible
    ("{{ d | to_nice_yaml }}", "a: 1\nb: 2\n"),
    ("{{ text | from_yaml }}", {"a": 1, "b": ["x", "y"]}),
    ("{{ '{\"k\": [1]}' | from_json }}", {"k": [1]}),
    ("{{ 'hello' | b64encode }}", "aGVsbG8="),
    ("{{ 'aGVsbG8=' | b64decode }}", "hello"),
    ("{{ name | regex_replace('^w(\\\\d+)-.*$', 'worker\\\\1') }}", "worker1"),
    ("{{ name | regex_search('\\\\d+') }}", "1"),
    ("{{ items | join(',') }}", "3,1,3,2"),
    ("{{ items | map('string') | list }}", ["3", "1", "3", "2"]),
    ("{{ items | select('gt', 2) | list }}", [3, 3]),
    ("{{ items | reject('gt', 2) | list }}", [1, 2]),
    ("{{ d | dict2items }}", [{"key": "b", "value": 2}, {"key": "a", "value": 1}]),
    ("{{ d | dict2items | items2dict }}", {"b": 2, "a": 1}),
    ("{{ path | basename }}", "ca.crt"),
    ("{{ path | dirname }}", "/etc/labkube/pki"),
    ("{{ 'a b' | quote }}", "'a b'"),
    ("{{ '42' | int + 1 }}", 43),
    ("{{ n | string }}", "3"),
    ("{{ name | upper }}", "W1-K8S"),
    ("{{ (n > 2) | ternary('big', 'small') }}", "big"),
    ("{{ d | combine({'c': 3}) }}", {"b": 2, "a": 1, "c": 3}),
    ("{{ {'a': {'x': 1}} | combine({'a': {'y': 2}}, recursive=true) }}", {"a": {"x": 1, "y": 2}}),
    ("{{ items | unique }}", [3, 1, 2]),
    ("{{ [1, [2, [3]]] | flatten }}", [1, 2, 3]),
    ("{{ [1, [2, [3]]] | flatten(1) }}", [1, 2, [3]]),
    ("{{ 'abc' | hash('sha1') }}", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("{{ 'abc' | checksum }}", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("{{ results | selectattr('changed') | map(attribute='item') | list }}", ["a"]),
    ("{{ results[0] is changed }}", True),
    ("{{ results[1] is succeeded }}", True),
    ("{{ name is match('w\\\\d') }}", True),
    ("{{ '1.10.2' is version('1.9', '>') }}", True),
    ("{{ nested }}", "w1-k8s-x"),
    ("{{ n * 2 }}", 6),
    ("x{{ n }}", "x3"),
    ("{{ vars['name'] }}", "w1-k8s"),
    ("{{ lookup('env', 'LABCTL_SURELY_UNSET_VAR') }}", ""),
])
def test_filters_and_native_types(expr, expected):
    t = Templar()
    assert t.render(expr, Scope(t, dict(VARS))) == expected


def test_undefined_names_the_variable():
    t = Templar()
    with pytest.raises(TemplateError, match="'nope' is undefined"):
        t.render("{{ nope }}", Scope(t, dict(VARS)))
    with pytest.raises(TemplateError, match="'ghost' is undefined"):
        t.render("{{ ref }}", Scope(t, {"ref": "{{ ghost }}"}))


def test_recursive_variable_is_an_error():
    t = Templar()
    with pytest.raises(TemplateError, match="refers to itself"):
        t.render("{{ a }}", Scope(t, {"a": "{{ b }}", "b": "{{ a }}"}))


@pytest.mark.parametrize("cond,expected", [
    ("n == 3", True), ("n > 5", False), ("'w1' in name", True), ("missing is defined", False),
    ("missing is undefined", True), ("{{ n == 3 }}", True), (True, True), ("yes_str", True),
])
def test_conditions(cond, expected):
    t = Templar()
    assert t.evaluate(cond, Scope(t, dict(VARS))) is expected


def test_template_file_semantics():
    t = Templar()
    out = t.render_file("{% for i in items %}\n{{ i }}\n{% endfor %}\nend\n", Scope(t, dict(VARS)))
    assert out == "3\n1\n3\n2\nend\n"

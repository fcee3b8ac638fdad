"""Engine behaviour: handlers, when/loop/register, precedence, blocks, tags, idempotence, errors."""
import json

import pytest

from enginekit import host_results, play, result_of, write_tree
from labctl.engine import JsonLinesCallback, PlaybookError, run_playbook
from labctl.inventory import load_inventory


def test_handlers_run_once_only_when_notified(tmp_path):
    out = tmp_path / "out"
    files = {"site.yml": f"""\
        - hosts: web
          gather_facts: false
          tasks:
            - name: change a file
              copy: {{content: "x", dest: "{out}-{{{{ inventory_hostname }}}}"}}
              notify: h
            - name: change it again (second notify, same handler)
              copy: {{content: "y", dest: "{out}-{{{{ inventory_hostname }}}}.2"}}
              notify: [h, topic]
            - name: never changes
              command: "true"
              changed_when: false
              notify: unused
          handlers:
            - name: h
              shell: echo ran >> {out}-{{{{ inventory_hostname }}}}.log
            - name: unused
              shell: echo bad >> {out}-unused.log
            - name: listener
              listen: topic
              debug: msg=heard
        """}
    res, ev = play(tmp_path, files)
    assert res.ok
    for h in ("h1", "h2"):
        assert (tmp_path / f"out-{h}.log").read_text() == "ran\n"
    assert not (tmp_path / "out-unused.log").exists()
    handler_starts = [e["task"] for e in ev if e["event"] == "task_start" and e["handler"]]
    assert handler_starts == ["h", "listener"]
    # second run: nothing changes, so no handler runs
    res2, ev2 = play(tmp_path, files)
    assert res2.changed == 0
    assert not [e for e in ev2 if e["event"] == "task_start" and e["handler"]]
    assert (tmp_path / "out-h1.log").read_text() == "ran\n"


def test_flush_handlers_runs_them_mid_play(tmp_path):
    files = {"site.yml": """\
        - hosts: h1
          gather_facts: false
          tasks:
            - command: "true"
              notify: h
            - meta: flush_handlers
            - name: after flush
              debug: msg=after
          handlers:
            - name: h
              debug: msg=handler
        """}
    res, ev = play(tmp_path, files)
    order = [e["task"] for e in ev if e["event"] == "task_start"]
    assert order == ["command", "h", "after flush"]


def test_when_loop_register(tmp_path):
    files = {"site.yml": """\
        - hosts: web
          gather_facts: false
          tasks:
            - name: loop with register
              shell: echo {{ item }}-{{ color }}
              loop: [a, b, c]
              when: item != 'b'
              register: out
            - name: loop_var and with_items
              set_fact:
                seen: "{{ (seen | default([])) + [thing] }}"
              with_items: [[1, 2], 3]
              loop_control: {loop_var: thing}
            - name: only red
              debug: msg=red
              when:
                - color == 'red'
                - out.results | length == 3
            - name: facts
              set_fact:
                outs: "{{ out.results | selectattr('skipped', 'undefined') | map(attribute='stdout') | list }}"
        """}
    res, ev = play(tmp_path, files)
    assert res.ok
    assert result_of(ev, "only red", "h1")["status"] == "ok"
    assert result_of(ev, "only red", "h2")["status"] == "skipped"
    items = [e for e in ev if e["event"] == "item_result" and e["task"] == "loop with register" and e["host"] == "h1"]
    assert [(i["item"], i["status"]) for i in items] == [("a", "changed"), ("b", "skipped"), ("c", "changed")]
    f = result_of(ev, "facts", "h2")["result"]["ansible_facts"]
    assert f["outs"] == ["a-blue", "c-blue"]
    f = result_of(ev, "loop_var and with_items", "h1")["result"]["results"][-1]["ansible_facts"]
    assert f["seen"] == [1, 2, 3]


def test_variable_precedence(tmp_path):
    files = {
        "group_vars/all.yml": "v_inv: inventory\nv_play: inventory\nv_role_default: inventory\n",
        "roles/r/defaults/main.yml": "v_role_default: role-default\nv_inv: role-default\nv_only_default: d\n",
        "roles/r/vars/main.yml": "v_role_vars: role-vars\nv_play: role-vars\nv_fact: role-vars\n",
        "roles/r/tasks/main.yml": """\
            - set_fact: {v_fact: set-fact, v_extra: set-fact}
            - name: show
              debug:
                msg: "{{ v_inv }} {{ v_play }} {{ v_role_default }} {{ v_only_default }} {{ v_role_vars }} {{ v_fact }} {{ v_extra }} {{ v_param }}"
            """,
        "site.yml": """\
            - hosts: h1
              gather_facts: false
              vars: {v_play: play, v_role_vars: play, v_param: play}
              roles:
                - {role: r, v_param: role-param}
            """,
    }
    res, ev = play(tmp_path, files, extra_vars={"v_extra": "extra"})
    assert res.ok, ev
    msg = result_of(ev, "r : show", "h1")["result"]["msg"]
    # inventory beats role defaults; role vars beat play vars; set_fact beats role vars;
    # extra vars beat everything; role params beat play vars
    assert msg == "inventory role-vars inventory d role-vars set-fact extra role-param"


def test_block_rescue_always(tmp_path):
    files = {"site.yml": """\
        - hosts: web
          gather_facts: false
          tasks:
            - block:
                - name: maybe fail
                  command: "false"
                  when: color == 'red'
                - name: after failure
                  debug: msg=not-for-red
              rescue:
                - name: rescue
                  debug: msg=rescued
              always:
                - name: always
                  debug: msg=always
            - name: next
              debug: msg=continues
        """}
    res, ev = play(tmp_path, files)
    assert res.ok
    assert res.stats["h1"]["rescued"] == 1 and res.stats["h1"]["failed"] == 0
    assert result_of(ev, "after failure", "h2")["status"] == "ok"
    assert not host_results(ev, "after failure", "h1")
    assert result_of(ev, "rescue", "h1")["status"] == "ok"
    assert not host_results(ev, "rescue", "h2")
    assert {e["host"] for e in host_results(ev, "always")} == {"h1", "h2"}
    assert {e["host"] for e in host_results(ev, "next")} == {"h1", "h2"}


def test_failed_host_leaves_play_and_exit_code(tmp_path):
    files = {"site.yml": """\
        - hosts: all
          gather_facts: false
          tasks:
            - name: fail on h1
              fail: msg=boom
              when: inventory_hostname == 'h1'
            - name: ignored
              command: "false"
              ignore_errors: true
            - name: still running
              debug: msg=hi
        """}
    res, ev = play(tmp_path, files)
    assert res.exit_code == 2 and not res.ok
    assert {e["host"] for e in host_results(ev, "still running")} == {"h2", "h3"}
    assert res.stats["h2"]["ignored"] == 1 and res.stats["h1"]["failed"] == 1


def test_unreachable_exit_code(tmp_path):
    inv = "all:\n  hosts:\n    ghost: {ansible_host: 127.0.0.1, ansible_port: 1, ansible_ssh_timeout: 2}\n"
    files = {"site.yml": "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: 'true'\n"}
    res, ev = play(tmp_path, files, inventory=inv)
    assert res.exit_code == 4 and res.stats["ghost"]["unreachable"] == 1
    assert "ghost" in host_results(ev)[0]["result"]["msg"]


def test_second_run_reports_zero_changed_and_check_mode(tmp_path):
    d = tmp_path / "data"
    files = {
        "roles/app/templates/app.conf.j2": "name={{ inventory_hostname }}\ncolor={{ color }}\n",
        "roles/app/files/static.txt": "static\n",
        "roles/app/tasks/main.yml": f"""\
            - file: {{path: "{d}/{{{{ inventory_hostname }}}}", state: directory, mode: "0755"}}
            - template: {{src: app.conf.j2, dest: "{d}/{{{{ inventory_hostname }}}}/app.conf"}}
            - copy: {{src: static.txt, dest: "{d}/{{{{ inventory_hostname }}}}/static.txt", mode: "0600"}}
            - lineinfile: {{path: "{d}/{{{{ inventory_hostname }}}}/extra.conf", line: "extra=1", create: true}}
            """,
        "site.yml": "- hosts: web\n  gather_facts: false\n  roles: [app]\n",
    }
    res, _ = play(tmp_path, files, check=True)
    assert res.ok and res.changed > 0 and not d.exists()
    res, _ = play(tmp_path, files)
    assert res.ok and res.changed == 8
    assert (d / "h2" / "app.conf").read_text() == "name=h2\ncolor=blue\n"
    assert (d / "h2" / "extra.conf").read_text() == "extra=1\n"
    res, _ = play(tmp_path, files)
    assert res.ok and res.changed == 0


def test_tags_and_skip_tags(tmp_path):
    files = {"site.yml": """\
        - hosts: h1
          gather_facts: false
          tasks:
            - {name: a, debug: msg=a, tags: [one]}
            - {name: b, debug: msg=b, tags: [two]}
            - {name: c, debug: msg=c, tags: [always]}
            - {name: d, debug: msg=d}
            - {name: e, debug: msg=e, tags: [never, debugonly]}
        """}

    def names(**kw):
        _, ev = play(tmp_path, files, **kw)
        return [e["task"] for e in host_results(ev)]
    assert names() == ["a", "b", "c", "d"]
    assert names(tags=["one"]) == ["a", "c"]
    assert names(skip_tags=["one", "always"]) == ["b", "d"]
    assert names(tags="debugonly") == ["c", "e"]


def test_limit_delegate_to_run_once(tmp_path):
    files = {"site.yml": f"""\
        - hosts: all
          gather_facts: false
          tasks:
            - name: once
              shell: echo once >> {tmp_path}/once.log
              run_once: true
              register: o
            - name: delegated
              shell: echo {{{{ inventory_hostname }}}} >> {tmp_path}/deleg.log
              delegate_to: localhost
            - name: everyone sees run_once result
              assert: {{that: "o.rc == 0"}}
        """}
    res, ev = play(tmp_path, files, limit="web")
    assert res.ok
    assert (tmp_path / "once.log").read_text() == "once\n"
    assert sorted((tmp_path / "deleg.log").read_text().split()) == ["h1", "h2"]
    assert {e["host"] for e in host_results(ev, "everyone sees run_once result")} == {"h1", "h2"}


def test_include_and_import_tasks(tmp_path):
    files = {
        "tasks/static.yml": "- name: imported\n  debug: msg={{ p }}\n",
        "tasks/dyn-red.yml": "- name: dynamic red\n  debug: msg=red\n",
        "tasks/dyn-blue.yml": "- name: dynamic blue\n  debug: msg=blue\n",
        "site.yml": """\
            - hosts: web
              gather_facts: false
              tasks:
                - import_tasks: tasks/static.yml
                  vars: {p: param}
                - include_tasks: "tasks/dyn-{{ color }}.yml"
            """,
    }
    res, ev = play(tmp_path, files)
    assert res.ok
    assert {e["host"] for e in host_results(ev, "imported")} == {"h1", "h2"}
    assert [e["host"] for e in host_results(ev, "dynamic red")] == ["h1"]
    assert [e["host"] for e in host_results(ev, "dynamic blue")] == ["h2"]


def test_undefined_variable_names_variable_task_and_file(tmp_path):
    files = {"site.yml": """\
        - hosts: h1
          gather_facts: false
          tasks:
            - name: uses undefined
              debug: msg="{{ no_such_var }}"
        """}
    res, ev = play(tmp_path, files)
    assert res.exit_code == 2
    msg = result_of(ev, "uses undefined", "h1")["result"]["msg"]
    assert "no_such_var" in msg and "uses undefined" in msg and "site.yml:4" in msg


@pytest.mark.parametrize("files,needle", [
    ({"site.yml": "- hosts: all\n  tasks:\n    - debug: msg=[\n      bad: : yaml\n"}, "site.yml:"),
    ({"site.yml": "- hosts: all\n  tasks:\n    - name: x\n      no_such_module: {a: 1}\n"},
     "site.yml:3: unknown module 'no_such_module'"),
    ({"site.yml": "- hosts: all\n  tasks:\n    - copy: {dest: /x, bogus: 1}\n"},
     "site.yml:3: copy: unsupported option 'bogus'"),
    ({"site.yml": "- hosts: all\n  roles: [missing_role]\n"}, "role 'missing_role' not found"),
    ({"site.yml": "- hosts: all\n  tasks:\n    - command: 'true'\n      notify: nobody\n"},
     "site.yml:3: notify: no handler"),
    ({"site.yml": "- hosts: all\n  roles: [r]\n", "roles/r/tasks/main.yml": "- name: ok\n  debug: msg=1\n- file: {path: /x, nope: 2}\n"},
     "main.yml:3: file: unsupported option 'nope'"),
    ({"site.yml": "- hosts: all\n  tasks:\n    - import_tasks: nothere.yml\n"}, "nothere.yml' not found"),
    ({"site.yml": "- hosts: all\n  bogus_key: 1\n"}, "site.yml:1: unknown play keyword 'bogus_key'"),
    ({"site.yml": "- hosts: all\n  vars_files: [nope.yml]\n"}, "site.yml:1: vars_files: 'nope.yml' not found"),
    ({"site.yml": "- hosts: all\n  tasks:\n    - debug: {msg: '{{ x | }}'}\n"}, "site.yml:3: template error"),
    ({"site.yml": "- hosts: all\n  tasks:\n    - debug: msg=1\n      when: x ==\n"}, "site.yml:3: template error"),
    ({"site.yml": "- hosts: all\n  tasks:\n    - template: {src: nope.j2, dest: /x}\n"},
     "site.yml:3: template: src 'nope.j2' not found"),
    ({"site.yml": "- hosts: all\n  roles: [r]\n", "roles/r/tasks/main.yml": "- template: {src: t.j2, dest: /x}\n",
      "roles/r/templates/t.j2": "ok\n{% for x in y %}\nno end\n"}, "t.j2:3: template syntax error"),
    ({"site.yml": "- hosts: all\n  tasks:\n    - debug: {msg: 1}\n      registr: x\n"},
     "site.yml:3: task has more than one module or unknown keyword"),
])
def test_load_errors_name_file_and_line_before_running(tmp_path, files, needle):
    marker = tmp_path / "ran"
    files = dict(files)
    with pytest.raises(PlaybookError) as ei:
        play(tmp_path, files)
    assert needle in str(ei.value) and "\n" not in str(ei.value)
    assert not marker.exists()


def test_nothing_runs_when_a_later_play_is_broken(tmp_path):
    files = {"site.yml": f"""\
        - hosts: all
          gather_facts: false
          tasks:
            - shell: touch {tmp_path}/ran
        - hosts: all
          tasks:
            - nonexistent_mod: {{}}
        """}
    with pytest.raises(PlaybookError):
        play(tmp_path, files)
    assert not (tmp_path / "ran").exists()


def test_json_lines_callback(tmp_path):
    import io
    buf = io.StringIO()
    write_tree(tmp_path, {"hosts.yml": "all:\n  hosts:\n    localhost: {ansible_connection: local}\n",
                          "site.yml": "- hosts: all\n  gather_facts: true\n  tasks:\n    - debug: msg=hi\n"})
    res = run_playbook(tmp_path / "site.yml", load_inventory(tmp_path / "hosts.yml"),
                       callback=JsonLinesCallback(buf))
    events = [json.loads(l) for l in buf.getvalue().splitlines()]
    assert events[0]["event"] == "playbook_start" and events[-1]["event"] == "recap"
    assert events[-1]["stats"]["localhost"]["ok"] == 2 and res.ok


def test_facts_and_human_output(tmp_path):
    import io
    from labctl.engine import HumanCallback
    buf = io.StringIO()
    write_tree(tmp_path, {"hosts.yml": "all:\n  hosts:\n    n1: {ansible_connection: local}\n",
                          "site.yml": "- name: P\n  hosts: all\n  tasks:\n    - name: show\n      debug: var=ansible_hostname\n"})
    res = run_playbook(tmp_path / "site.yml", load_inventory(tmp_path / "hosts.yml"),
                       callback=HumanCallback(file=buf))
    text = buf.getvalue()
    assert "PLAY [P] ***" in text and "TASK [show] ***" in text and "ok: [n1]" in text
    assert "PLAY RECAP" in text and "n1" in text and "ok=2" in text and "VARIABLE IS NOT DEFINED" not in text


def test_any_errors_fatal_start_at_task_and_listing(tmp_path):
    from labctl.engine import list_hosts, list_tasks
    files = {"site.yml": """\
        - name: P
          hosts: web
          gather_facts: false
          any_errors_fatal: true
          tasks:
            - {name: first, debug: msg=1, tags: [a]}
            - {name: second, fail: msg=x, when: "inventory_hostname == 'h1'"}
            - {name: third, debug: msg=3}
        """}
    res, ev = play(tmp_path, files)
    assert not host_results(ev, "third")          # h2 stops too
    res, ev = play(tmp_path, files, start_at_task="third")
    assert [e["task"] for e in host_results(ev)] == ["third", "third"]
    inv = load_inventory(tmp_path / "hosts.yml")
    assert list_hosts(tmp_path / "site.yml", inv) == [("P", ["h1", "h2"])]
    assert list_tasks(tmp_path / "site.yml", tags=["a"]) == [("P", [("first", ["a"])])]


def test_roles_dedupe_import_role_and_handlers_once(tmp_path):
    files = {
        "roles/base/tasks/main.yml": "- name: base\n  command: 'true'\n  notify: base handler\n",
        "roles/base/handlers/main.yml": "- name: base handler\n  debug: msg=h\n",
        "roles/a/meta/main.yml": "dependencies: [base]\n",
        "roles/a/tasks/main.yml": "- name: a\n  debug: msg=a\n",
        "roles/b/meta/main.yml": "dependencies: [base]\n",
        "roles/b/tasks/main.yml": "- name: b\n  debug: msg=b\n",
        "roles/c/tasks/main.yml": "- name: c main\n  debug: msg=c\n",
        "roles/c/tasks/extra.yml": "- name: c extra\n  debug: msg={{ cvar }}\n",
        "site.yml": """\
            - hosts: h1
              gather_facts: false
              roles: [a, b]
              tasks:
                - import_role: {name: c}
                - include_role: {name: c, tasks_from: extra}
                  vars: {cvar: from-include}
                  when: true
            """,
    }
    res, ev = play(tmp_path, files)
    assert res.ok
    names = [e["task"] for e in host_results(ev)]
    assert names == ["base : base", "a : a", "b : b", "c : c main", "c : c extra", "base : base handler"]
    assert result_of(ev, "c : c extra", "h1")["result"]["msg"] == "from-include"


def test_check_mode_override_and_serial(tmp_path):
    files = {"site.yml": f"""\
        - hosts: web
          gather_facts: false
          serial: 1
          tasks:
            - name: always really runs
              shell: echo x >> {tmp_path}/real-{{{{ inventory_hostname }}}}
              check_mode: false
            - name: check only
              shell: echo x >> {tmp_path}/never
        """}
    res, ev = play(tmp_path, files, check=True)
    assert res.ok
    assert (tmp_path / "real-h1").exists() and not (tmp_path / "never").exists()
    # serial 1: the whole play runs on h1 before h2
    assert [(e["task"], e["host"]) for e in host_results(ev)] == [
        ("always really runs", "h1"), ("check only", "h1"), ("always really runs", "h2"), ("check only", "h2")]


def test_diff_rendering_in_human_output(tmp_path):
    import io
    from labctl.engine import HumanCallback
    f = tmp_path / "f.txt"
    f.write_text("old\n")
    write_tree(tmp_path, {"hosts.yml": "all:\n  hosts:\n    n1: {ansible_connection: local}\n",
                          "site.yml": f"- hosts: all\n  gather_facts: false\n  tasks:\n    - copy: {{content: \"new\\n\", dest: {f}}}\n"})
    buf = io.StringIO()
    run_playbook(tmp_path / "site.yml", load_inventory(tmp_path / "hosts.yml"), diff=True,
                 callback=HumanCallback(file=buf))
    text = buf.getvalue()
    assert "-old" in text and "+new" in text and "changed: [n1]" in text


def test_become_wraps_commands_with_sudo():
    from labctl.connections import CommandResult
    from labctl.engine.become import BecomeConnection

    class Fake:
        host, user = "n1", "vagrant"

        def __init__(self):
            self.cmds = []

        def run(self, cmd, **kw):
            self.cmds.append(cmd)
            return CommandResult(0, "", "")
    fake = Fake()
    BecomeConnection(fake, "root").run("id -u", env={"A": "1"})
    assert fake.cmds == ["sudo -n -H -u root /bin/sh -c 'export A=1; id -u'"]


def test_task_names_are_rendered_with_play_vars(tmp_path):
    files = {"site.yml": """\
        - hosts: h1
          gather_facts: false
          vars: {what: world}
          tasks:
            - name: "hello {{ what }}"
              debug: msg=x
        """}
    _, ev = play(tmp_path, files)
    assert [e["task"] for e in ev if e["event"] == "task_start"] == ["hello world"]


def test_include_tasks_with_loop_inside_role(tmp_path):
    files = {
        "roles/r/tasks/main.yml": """\
            - include_tasks: one.yml
              loop: [x, y]
              loop_control: {loop_var: thing}
            - import_tasks: two.yml
            """,
        "roles/r/tasks/one.yml": "- name: one\n  debug: msg=\"{{ thing }}-{{ inventory_hostname }}\"\n",
        "roles/r/tasks/two.yml": "- name: two\n  debug: msg=two\n",
        "site.yml": "- hosts: web\n  gather_facts: false\n  roles: [r]\n",
    }
    res, ev = play(tmp_path, files)
    assert res.ok
    msgs = sorted(e["result"]["msg"] for e in host_results(ev, "r : one"))
    assert msgs == ["x-h1", "x-h2", "y-h1", "y-h2"]
    assert len(host_results(ev, "r : two")) == 2


def test_write_into_missing_directory_is_a_clear_failure(tmp_path):
    files = {"site.yml": f"- hosts: h1\n  gather_facts: false\n  tasks:\n    - copy: {{content: x, dest: {tmp_path}/no/such/f}}\n"}
    res, ev = play(tmp_path, files)
    msg = host_results(ev)[0]["result"]["msg"]
    assert res.exit_code == 2 and "site.yml:4" in msg and "cannot write" in msg and "crashed" not in msg


def test_facts_parse_and_cache(tmp_path, monkeypatch):
    from labctl.engine import facts
    text = ("hostname=node1.lab\nfqdn=node1.lab\nsystem=Linux\nkernel=6.1\narch=x86_64\nvcpus=4\n"
            "memkb=2048000\npyver=3.11.2\npid1=systemd\nos_ID=debian\nos_VERSION_ID=\"12\"\n"
            "os_VERSION_CODENAME=bookworm\ndefroute=default via 10.0.0.1 dev eth0\n"
            "addr=lo 127.0.0.1/8\naddr=eth0 10.0.0.5/24\n")
    f = facts.parse(text)
    assert (f["ansible_hostname"], f["ansible_distribution"], f["ansible_distribution_major_version"]) == \
        ("node1", "Debian", "12")
    assert f["ansible_default_ipv4"]["address"] == "10.0.0.5" and f["ansible_processor_vcpus"] == 4
    assert f["ansible_memtotal_mb"] == 2000 and f["ansible_all_ipv4_addresses"] == ["10.0.0.5"]
    assert facts.parse(text.replace("defroute=default via 10.0.0.1 dev eth0", "defroute="))["ansible_default_ipv4"] == {}
    monkeypatch.setenv("LABCTL_FACT_CACHE", str(tmp_path / "cache"))
    files = {"site.yml": "- hosts: h1\n  tasks:\n    - debug: var=ansible_distribution\n"}
    play(tmp_path, files)
    assert (tmp_path / "cache" / "h1.json").exists()


def test_with_sequence_and_with_dict(tmp_path):
    files = {"site.yml": """\
        - hosts: h1
          gather_facts: false
          tasks:
            - name: seq
              debug: msg={{ item }}
              with_sequence: start=1 end=3 format=w%02d
            - name: dict
              debug: msg="{{ item.key }}={{ item.value }}"
              with_dict: {a: 1}
        """}
    res, ev = play(tmp_path, files)
    assert [e["item"] for e in ev if e["event"] == "item_result" and e["task"] == "seq"] == ["w01", "w02", "w03"]
    assert result_of(ev, "dict", "h1")["result"]["results"][0]["msg"] == "a=1"


def test_edge_cases(tmp_path):
    files = {
        "bad.yml": "- name: broken\n  no_such_module: {}\n",
        "other.yml": "- hosts: nosuchgroup\n  tasks:\n    - debug: msg=never\n",
        "site.yml": """\
            - import_playbook: other.yml
            - hosts: h1
              gather_facts: false
              tasks:
                - name: literal false
                  debug: msg=x
                  when: false
                - name: retry until
                  shell: n=$(cat {d}/n 2>/dev/null || echo 0); echo $((n + 1)) > {d}/n; cat {d}/n
                  register: r
                  until: r.stdout | int >= 3
                  retries: 5
                  delay: 0
                - name: chained handler
                  command: "true"
                  notify: first
                - name: dynamic include of a broken file
                  include_tasks: "{{{{ 'bad.yml' }}}}"
              handlers:
                - name: first
                  debug: msg=first
                  changed_when: true
                  notify: second
                - name: second
                  debug: msg=second
            """.format(d=tmp_path),
    }
    res, ev = play(tmp_path, files)
    assert res.exit_code == 2
    assert result_of(ev, "literal false", "h1")["status"] == "skipped"
    r = result_of(ev, "retry until", "h1")
    assert r["status"] == "changed", r
    assert r["result"]["stdout"] == "3" and r["result"]["attempts"] == 3
    assert "unknown module 'no_such_module'" in host_results(ev, "dynamic include of a broken file")[0]["result"]["msg"]
    assert any(e["event"] == "no_hosts" for e in ev)
    assert not host_results(ev, "first")      # the host failed before handlers ran


def test_module_defaults(tmp_path):
    files = {"site.yml": f"""\
        - hosts: h1
          gather_facts: false
          module_defaults:
            ansible.builtin.copy: {{mode: "0600"}}
          tasks:
            - copy: {{content: a, dest: "{tmp_path}/a"}}
            - block:
                - copy: {{content: b, dest: "{tmp_path}/b"}}
              module_defaults:
                copy: {{mode: "0640"}}
            - copy: {{content: c, dest: "{tmp_path}/c", mode: "0644"}}
        """}
    res, _ = play(tmp_path, files)
    assert res.ok
    modes = [oct((tmp_path / n).stat().st_mode & 0o777) for n in "abc"]
    assert modes == ["0o600", "0o640", "0o644"]


def test_hostvars_and_groups(tmp_path):
    files = {"site.yml": """\
        - hosts: web
          gather_facts: false
          tasks:
            - set_fact: {mine: "{{ color }}-fact"}
            - name: others
              debug:
                msg: "{{ hostvars['h2'].color }} {{ groups['web'] | map('extract', hostvars, 'color') | list }} {{ hostvars[groups['web'][0]]['mine'] }}"
        """}
    res, ev = play(tmp_path, files)
    assert res.ok
    assert result_of(ev, "others", "h2")["result"]["msg"] == "blue ['red', 'blue'] red-fact"

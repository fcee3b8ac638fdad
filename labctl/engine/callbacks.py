"""Output callbacks: turn engine events (dicts) into something a person or CI reads.

* :class:`HumanCallback` prints Ansible-like lines (``TASK [role : name] ***``,
  ``ok: [host]``, ``PLAY RECAP``) through rich: colours and a live status
  line on a terminal, plain text otherwise.
* :class:`JsonLinesCallback` writes one JSON object per event (``--json``).
* :class:`MultiCallback` fans out to several.

Events (dicts, key ``event``): ``playbook_start`` {playbook, check, diff},
``play_start`` {play, hosts, file}, ``no_hosts`` {play}, ``task_start`` {task,
action, file, line, handler}, ``item_result`` {host, task, action, status,
item, result}, ``host_result`` {host, task, action, status (ok|changed|failed|
skipped|unreachable), ignored, result, diff}, ``include`` {file, hosts},
``warning`` {msg}, ``recap`` {stats: {host: {ok, changed, unreachable, failed,
skipped, rescued, ignored}}, duration}.  Every event has ``ts`` (Unix time).
"""
from __future__ import annotations

import difflib
import json
import sys

from rich.console import Console
from rich.markup import escape

_COLORS = {"ok": "green", "changed": "yellow", "failed": "red", "unreachable": "red",
           "skipped": "cyan", "ignored": "cyan", "rescued": "magenta"}


def _banner(text, width=80):
    return text + " " + "*" * max(3, width - len(text) - 1)


def render_diff(diff) -> str:
    if not diff:
        return ""
    out = []
    for d in diff if isinstance(diff, list) else [diff]:
        if not isinstance(d, dict):
            continue
        if "prepared" in d:
            out.append(str(d["prepared"]))
            continue
        before, after = d.get("before", ""), d.get("after", "")
        if not isinstance(before, str) or not isinstance(after, str):
            before, after = json.dumps(before, indent=2, default=str), json.dumps(after, indent=2, default=str)
        lines = difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                     d.get("before_header", "before"), d.get("after_header", "after"))
        text = "".join(x if x.endswith("\n") else x + "\n" for x in lines)
        out.append(text)
    return "".join(out)


class HumanCallback:
    def __init__(self, file=None, verbosity=0, show_diff=None, console=None, show_skipped=True):
        self.console = console or Console(file=file or sys.stdout, highlight=False, soft_wrap=True)
        self.verbosity = verbosity
        self.show_diff = show_diff
        self.show_skipped = show_skipped
        self.live = self.console.is_terminal
        self._status = None
        self.check = False

    def _print(self, text, style=None):
        self.console.print(escape(text) if style is None else f"[{style}]{escape(text)}[/]")

    def _status_update(self, text):
        if not self.live:
            return
        if self._status is None:
            self._status = self.console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def _status_stop(self):
        if self._status is not None:
            self._status.stop()
            self._status = None

    def __call__(self, ev):
        kind = ev.get("event")
        fn = getattr(self, "on_" + str(kind), None)
        if fn:
            fn(ev)

    def on_playbook_start(self, ev):
        self.check = ev.get("check", False)
        if self.show_diff is None:
            self.show_diff = bool(ev.get("diff"))

    def on_play_start(self, ev):
        self._n_hosts = len(ev.get("hosts") or [])
        self._status_stop()
        self._print("")
        self._print(_banner(f"PLAY [{ev['play']}]"))

    def on_no_hosts(self, ev):
        self._print("skipping: no hosts matched", "cyan")

    def on_task_start(self, ev):
        self._status_stop()
        self._print("")
        kind = "RUNNING HANDLER" if ev.get("handler") else "TASK"
        self._print(_banner(f"{kind} [{ev['task']}]"))
        if self.verbosity:
            self._print(f"task path: {ev.get('file')}:{ev.get('line')}", "dim")
        self._task, self._done = ev["task"], 0
        self._status_update(f"{ev['task']} ... 0/{getattr(self, '_n_hosts', 0)} hosts")

    def on_include(self, ev):
        self._print(f"included: {ev['file']} for {', '.join(ev['hosts'])}", "cyan")

    def on_warning(self, ev):
        self._status_stop()
        self._print(f"[WARNING]: {ev['msg']}", "magenta")

    def _line(self, status, host, res, item=None, ignored=False, action=None):
        label = {"ok": "ok", "changed": "changed", "skipped": "skipping", "failed": "fatal",
                 "unreachable": "fatal"}[status]
        deleg = f" -> {res['delegated_to']}" if isinstance(res, dict) and res.get("delegated_to") else ""
        head = f"{label}: [{host}{deleg}]"
        if item is not None:
            head += f" => (item={item if not isinstance(item, (dict, list)) else json.dumps(item, default=str)})"
        if status == "failed" and item is not None:
            body = {k: v for k, v in res.items() if k in ("msg", "rc", "stdout", "stderr", "cmd")} \
                if self.verbosity == 0 else res
            itext = item if not isinstance(item, (dict, list)) else json.dumps(item, default=str)
            self._print(f"failed: [{host}{deleg}] (item={itext}) => {json.dumps(body, default=str)}", "red")
            return
        if status in ("failed", "unreachable"):
            word = "UNREACHABLE!" if status == "unreachable" else "FAILED!"
            body = {k: v for k, v in res.items() if k in ("msg", "rc", "stdout", "stderr", "cmd",
                                                          "failed_when_result")} \
                if self.verbosity == 0 else res
            text = f"{head}: {word} => {json.dumps(body, default=str)}"
            if status == "unreachable":
                text = f"fatal: [{host}]: UNREACHABLE! => {json.dumps(body, default=str)}"
            self._print(text, "red")
            if ignored:
                self._print("...ignoring", "cyan")
            return
        if status == "skipped" and not self.show_skipped:
            return
        if self.verbosity and isinstance(res, dict):
            head += " => " + json.dumps(res, default=str)
        elif action == "debug" and isinstance(res, dict) and status == "ok":
            body = {k: v for k, v in res.items()
                    if k not in ("changed", "failed", "ansible_loop_var", "ansible_loop",
                                 res.get("ansible_loop_var", "item"))}
            head += " => " + json.dumps(body, indent=4, default=str)
        self._print(head, _COLORS.get(status))

    def on_item_result(self, ev):
        self._status_stop()
        res = ev.get("result") or {}
        if self.show_diff and res.get("diff"):
            self.console.out(render_diff(res["diff"]), highlight=False)
        self._line(ev["status"], ev["host"], res, item=ev.get("item"), action=ev.get("action"))

    def on_host_result(self, ev):
        self._status_stop()
        self._done = getattr(self, "_done", 0) + 1
        res = ev.get("result") or {}
        if "results" in res and ev["status"] != "unreachable":
            # per-item lines were printed already; summarise failures only
            if ev["status"] == "failed":
                self._print(f"fatal: [{ev['host']}]: FAILED! => {json.dumps({'msg': res.get('msg')})}", "red")
                if ev.get("ignored"):
                    self._print("...ignoring", "cyan")
            return
        if self.show_diff and ev.get("diff"):
            self.console.out(render_diff(ev["diff"]), highlight=False)
        self._line(ev["status"], ev["host"], res, ignored=ev.get("ignored"), action=ev.get("action"))
        if self._done < getattr(self, "_n_hosts", 0):
            self._status_update(f"{getattr(self, '_task', '')} ... {self._done}/{self._n_hosts} hosts")

    def on_recap(self, ev):
        self._status_stop()
        self._print("")
        self._print(_banner("PLAY RECAP"))
        stats = ev["stats"]
        for h in sorted(stats):
            s = stats[h]
            color = "red" if s["failed"] or s["unreachable"] else ("yellow" if s["changed"] else "green")
            # the same columns as ansible-playbook: host padded to 26, each "key=N" padded to 4
            parts = " ".join(f"{k}={str(s[k]):<4}" for k in ("ok", "changed", "unreachable", "failed",
                                                           "skipped", "rescued", "ignored"))
            self.console.print(f"[{color}]{escape(f'{h:<26}')}[/] : {parts}")
        self._print("")


class JsonLinesCallback:
    """One JSON object per line per event, for CI (``--json``)."""

    def __init__(self, file=None):
        self.file = file or sys.stdout

    def __call__(self, ev):
        self.file.write(json.dumps(ev, default=str, sort_keys=True) + "\n")
        self.file.flush()


class MultiCallback:
    def __init__(self, *cbs):
        self.cbs = [c for c in cbs if c is not None]

    def __call__(self, ev):
        for c in self.cbs:
            c(ev)

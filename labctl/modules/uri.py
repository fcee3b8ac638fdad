"""uri: an HTTP(S) request from the managed host to a lab address (health checks, API probes).

Only lab addresses are allowed: loopback, private (RFC 1918) and link-local
IPs, ``localhost`` and inventory host names -- lab traffic never leaves the
machine.  Options: ``url``, ``method`` (GET default), ``status_code`` (int or
list, default 200), ``return_content``, ``ca_path``, ``client_cert``,
``client_key``, ``validate_certs``, ``headers``, ``body``/``body_format``
(json|raw), ``timeout``.  The request runs remotely in a small python3 program.
"""
from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlparse

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg, run_python

ARGS = {"url", "method", "status_code", "return_content", "ca_path", "client_cert", "client_key",
        "validate_certs", "headers", "body", "body_format", "timeout", "follow_redirects",
        "url_username", "url_password", "force_basic_auth", "dest", "creates", "removes"}

_PY = r'''
import json, ssl, sys, urllib.request, urllib.error
a = json.loads(sys.argv[1])
ctx = None
if a["url"].startswith("https"):
    ctx = ssl.create_default_context(cafile=a["ca_path"]) if a["validate"] else ssl._create_unverified_context()
    if not a["validate"]:
        ctx.check_hostname = False
    if a["cert"]:
        ctx.load_cert_chain(a["cert"], a["key"])
data = a["body"].encode() if a["body"] is not None else None
req = urllib.request.Request(a["url"], data=data, method=a["method"], headers=a["headers"])
out = {}
try:
    r = urllib.request.urlopen(req, timeout=a["timeout"], context=ctx)
    body, out["status"] = r.read(), r.status
    out["headers"] = dict(r.headers)
except urllib.error.HTTPError as e:
    body, out["status"] = e.read(), e.code
    out["headers"] = dict(e.headers or {})
except Exception as e:
    out["status"] = -1
    out["error"] = "%s: %s" % (type(e).__name__, e)
    body = b""
out["content"] = body.decode("utf-8", "replace")
print(json.dumps(out))
'''


def lab_address(host: str, inventory_hosts=()) -> bool:
    if host in ("localhost",) or host in inventory_hosts:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host.endswith((".svc", ".svc.cluster.local", ".cluster.local", ".local", ".lab"))
    return ip.is_loopback or ip.is_private or ip.is_link_local


def run(ctx, args):
    url = str(args.get("url") or "")
    u = urlparse(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ModuleError(f"uri: bad url {url!r}")
    groups = ctx.vars.get("groups") if hasattr(ctx.vars, "get") else None
    inv_hosts = (groups or {}).get("all", []) if isinstance(groups, dict) else []
    if not lab_address(u.hostname, inv_hosts):
        raise ModuleError(f"uri: {u.hostname} is not a lab address (only loopback, private and inventory hosts)")
    method = str(args.get("method") or "GET").upper()
    body = args.get("body")
    headers = dict(args.get("headers") or {})
    if body is not None and (args.get("body_format") == "json" or not isinstance(body, str)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    codes = args.get("status_code", 200)
    codes = [int(c) for c in (codes if isinstance(codes, list) else str(codes).split(","))]
    if ctx.check_mode and method != "GET":
        return TaskResult(changed=False, skipped=True, msg="not sent in check mode")
    a = {"url": url, "method": method, "headers": headers, "body": body,
         "timeout": float(args.get("timeout") or 30), "validate": bool_arg(args.get("validate_certs"), True),
         "ca_path": args.get("ca_path"), "cert": args.get("client_cert"), "key": args.get("client_key")}
    r = run_python(ctx, _PY, [json.dumps(a)],
                     timeout=a["timeout"] + 30)
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise ModuleError(f"uri: request program failed: {(r.stderr or r.stdout).strip()[-300:]}") from None
    data = {"status": out["status"], "url": url}
    content = out.get("content", "")
    if bool_arg(args.get("return_content")):
        data["content"] = content
        try:
            data["json"] = json.loads(content)
        except ValueError:
            pass
    data["headers"] = out.get("headers", {})
    if out["status"] not in codes:
        msg = out.get("error") or f"Status code was {out['status']} and not {codes}"
        return TaskResult(failed=True, msg=msg, data=data)
    return TaskResult(changed=False, data=data)

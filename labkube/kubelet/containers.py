"""From a pod's container spec and its image to the runtime's ContainerConfig.

Kubernetes semantics: command/args over the image's Entrypoint/Cmd, `$(VAR)` expansion,
image Env, then envFrom (ConfigMap/Secret, with prefix), then env (fieldRef, resourceFieldRef,
ConfigMap/Secret keys), workingDir,
volume mounts (emptyDir, hostPath; the pod worker resolves the sources), resource
limits, runAsUser/runAsGroup, image stop signal.
"""
from __future__ import annotations

import re

from .quantity import bytes_, milli_cpu
from .runtime.base import ContainerConfig


class ContainerConfigError(Exception):
    """The container cannot be created as specified (reason CreateContainerConfigError)."""


_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: dict) -> str:
    """Kubernetes `$(VAR)` expansion: known variables replaced, `$$` -> `$`, others kept."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR.sub(sub, text)


def command_line(container: dict, image_config: dict, env: dict | None = None) -> list[str]:
    """The process args: command/args over the image's Entrypoint/Cmd."""
    env = env or {}
    command, args = container.get("command"), container.get("args")
    entrypoint = image_config.get("Entrypoint") or []
    cmd = image_config.get("Cmd") or []
    if command:
        result = [expand(c, env) for c in command] + [expand(a, env) for a in (args or [])]
    elif args:
        result = list(entrypoint) + [expand(a, env) for a in args]
    else:
        result = list(entrypoint) + list(cmd)
    if not result:
        raise ContainerConfigError(f"container {container.get('name')!r}: no command specified "
                                   "and the image has no Entrypoint or Cmd")
    return result


def _field_ref(pod: dict, path: str, host_ip: str, pod_ip: str) -> str:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    simple = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
              "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
              "spec.serviceAccountName": spec.get("serviceAccountName"),
              "status.hostIP": host_ip, "status.hostIPs": host_ip,
              "status.podIP": pod_ip, "status.podIPs": pod_ip}
    if path not in simple:
        raise ContainerConfigError(f"unsupported fieldRef {path!r}")
    return str(simple[path] or "")


def _resource_ref(container: dict, ref: dict) -> str:
    res = (container.get("resources") or {})
    kind, _, what = ref.get("resource", "").partition(".")
    val = (res.get(kind) or {}).get(what)
    if val is None:
        return "0"
    div = ref.get("divisor") or ("1" if what == "cpu" else "1")
    if what == "cpu":
        return str(max(1, -(-milli_cpu(val) // milli_cpu(div))))
    return str(bytes_(val) // max(1, bytes_(div)))


def env_from(container: dict, lookup_all) -> tuple[dict, list]:
    """The variables of a container's envFrom sources ({name: value}, names skipped as invalid).
    ``lookup_all(kind, name, optional)`` returns a ConfigMap's/Secret's decoded data (None when
    optional and missing); keys that are no valid variable name after the prefix are skipped."""
    out: dict[str, str] = {}
    skipped: list[str] = []
    for src in container.get("envFrom") or []:
        if "configMapRef" not in src and "secretRef" not in src:
            raise ContainerConfigError(f"envFrom: unsupported source {sorted(src)}")
        kind = "configmaps" if "configMapRef" in src else "secrets"
        ref = src.get("configMapRef") or src.get("secretRef") or {}
        if lookup_all is None:
            raise ContainerConfigError(f"envFrom {kind[:-1]} {ref.get('name')}: no lookup available")
        data = lookup_all(kind, ref.get("name"), bool(ref.get("optional")))
        for key in sorted(data or {}):
            name = (src.get("prefix") or "") + key
            if _ENV_NAME.fullmatch(name):
                out[name] = data[key]
            else:
                skipped.append(name)
    return out, skipped


def environment(pod: dict, container: dict, image_config: dict, host_ip: str, pod_ip: str,
                lookup=None, lookup_all=None, services: dict | None = None) -> list[str]:
    """["K=V", ...]: image Env, then the ``services`` variables (serviceenv.py), then envFrom,
    then the container's env in order (later wins).
    ``lookup(kind, name, key, optional)`` resolves configMapKeyRef/secretKeyRef values,
    ``lookup_all(kind, name, optional)`` the whole data of envFrom's sources."""
    env: dict[str, str] = {}
    for item in image_config.get("Env") or []:
        k, _, v = item.partition("=")
        env[k] = v
    env.update(services or {})
    env.update(env_from(container, lookup_all)[0])
    for e in container.get("env") or []:
        name = e["name"]
        if "valueFrom" in e:
            vf = e["valueFrom"] or {}
            if "fieldRef" in vf:
                env[name] = _field_ref(pod, vf["fieldRef"].get("fieldPath", ""), host_ip, pod_ip)
            elif "resourceFieldRef" in vf:
                env[name] = _resource_ref(container, vf["resourceFieldRef"])
            elif ("configMapKeyRef" in vf or "secretKeyRef" in vf) and lookup is not None:
                kind = "configmaps" if "configMapKeyRef" in vf else "secrets"
                ref = vf.get("configMapKeyRef") or vf.get("secretKeyRef")
                val = lookup(kind, ref.get("name"), ref.get("key"), bool(ref.get("optional")))
                if val is not None:
                    env[name] = val
            else:
                raise ContainerConfigError(f"env {name}: unsupported valueFrom {sorted(vf)}")
        else:
            env[name] = expand(str(e.get("value", "")), env)
    return [f"{k}={v}" for k, v in env.items()]


def resource_limits(container: dict) -> tuple:
    """(memory bytes, cpu quota per 100 ms, cpu shares) from resources (None where unset)."""
    res = container.get("resources") or {}
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    mem = bytes_(limits["memory"]) if "memory" in limits else None
    quota = max(1000, milli_cpu(limits["cpu"]) * 100) if "cpu" in limits else None
    req_cpu = requests.get("cpu", limits.get("cpu"))
    shares = max(2, milli_cpu(req_cpu) * 1024 // 1000) if req_cpu is not None else 2
    return mem, quota, shares


def capabilities(container: dict) -> list | None:
    """securityContext.capabilities add/drop over Docker's defaults (None when unchanged)."""
    from .runtime.spec import ALL_CAPS, DEFAULT_CAPS
    caps = (container.get("securityContext") or {}).get("capabilities") or {}
    if not caps:
        return None
    norm = lambda c: c if c.startswith("CAP_") else f"CAP_{c}"   # noqa: E731
    drop = {norm(c) for c in caps.get("drop") or []}
    out = [] if "CAP_ALL" in drop else [c for c in DEFAULT_CAPS if c not in drop]
    for c in caps.get("add") or []:
        for add in (ALL_CAPS if norm(c) == "CAP_ALL" else (norm(c),)):
            if add not in out:
                out.append(add)
    return out


def user_of(pod: dict, container: dict) -> tuple:
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    csc = container.get("securityContext") or {}
    uid = csc.get("runAsUser", psc.get("runAsUser", 0))
    gid = csc.get("runAsGroup", psc.get("runAsGroup", 0 if uid == 0 else uid))
    return int(uid), int(gid)


def build_container_config(pod: dict, container: dict, image, *, host_ip: str, pod_ip: str,
                           mounts: list, log_path: str, restart_count: int, lookup=None,
                           lookup_all=None, services: dict | None = None) -> ContainerConfig:
    env = environment(pod, container, image.config, host_ip, pod_ip, lookup, lookup_all, services)
    env_map = dict(e.split("=", 1) for e in env)
    mem, quota, shares = resource_limits(container)
    csc = container.get("securityContext") or {}
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    user = user_of(pod, container)
    if csc.get("runAsNonRoot", psc.get("runAsNonRoot")) and user[0] == 0:
        raise ContainerConfigError("container has runAsNonRoot and image will run as root")
    return ContainerConfig(
        name=container["name"], pod_uid=pod["metadata"]["uid"], image_ref=image.ref, image_id=image.image_id,
        rootfs=image.rootfs, args=command_line(container, image.config, env_map), env=env,
        working_dir=container.get("workingDir") or image.config.get("WorkingDir") or "/",
        mounts=mounts, log_path=log_path, restart_count=restart_count,
        stop_signal=image.config.get("StopSignal") or "SIGTERM", memory_limit=mem, cpu_quota=quota,
        cpu_shares=shares, user=user, tty=bool(container.get("tty")),
        stdin=bool(container.get("stdin")), stdin_once=bool(container.get("stdinOnce")),
        readonly_rootfs=bool(csc.get("readOnlyRootFilesystem")), capabilities=capabilities(container),
        privileged=bool(csc.get("privileged")), no_new_privileges=csc.get("allowPrivilegeEscalation") is False,
        host_pid=bool((pod.get("spec") or {}).get("hostPID")), host_ipc=bool((pod.get("spec") or {}).get("hostIPC")))

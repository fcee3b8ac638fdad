"""KubeConfig: load a standard kubeconfig YAML and build the TLS context it describes.

Supports current-context, clusters/users/contexts, `certificate-authority`,
`client-certificate`, `client-key` file paths (relative ones resolve against the
kubeconfig's directory) and their `*-data` base64 variants, plus bearer `token`.
"""
from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass

import yaml


class KubeConfigError(ValueError):
    """The kubeconfig is missing, unreadable or incomplete."""


@dataclass
class KubeConfig:
    server: str
    ca_data: bytes | None = None          # PEM
    cert_data: bytes | None = None        # PEM
    key_data: bytes | None = None         # PEM
    token: str | None = None
    namespace: str = "default"
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    path: str | None = None

    @classmethod
    def load(cls, path: str, context: str | None = None) -> "KubeConfig":
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f) or {}
        except OSError as e:
            raise KubeConfigError(f"{path}: cannot read kubeconfig: {e.strerror}") from e
        except yaml.YAMLError as e:
            raise KubeConfigError(f"{path}: not valid YAML: {e}") from e
        if not isinstance(doc, dict):
            raise KubeConfigError(f"{path}: not a kubeconfig (expected a mapping)")
        return cls.from_dict(doc, base_dir=os.path.dirname(os.path.abspath(path)),
                             context=context, path=path)

    @classmethod
    def from_dict(cls, doc: dict, base_dir: str = ".", context: str | None = None,
                  path: str | None = None) -> "KubeConfig":
        where = path or "kubeconfig"
        ctx_name = context or doc.get("current-context")
        contexts = _named(doc.get("contexts"))
        if ctx_name:
            if ctx_name not in contexts:
                raise KubeConfigError(f"{where}: context {ctx_name!r} not found")
            ctx = contexts[ctx_name]
        elif len(contexts) == 1:
            ctx = next(iter(contexts.values()))
        else:
            raise KubeConfigError(f"{where}: no current-context")
        clusters, users = _named(doc.get("clusters")), _named(doc.get("users"))
        cluster = clusters.get(ctx.get("cluster"))
        if cluster is None:
            raise KubeConfigError(f"{where}: cluster {ctx.get('cluster')!r} not found")
        user = users.get(ctx.get("user"), {}) if ctx.get("user") else {}
        server = cluster.get("server")
        if not server:
            raise KubeConfigError(f"{where}: cluster {ctx.get('cluster')!r} has no server")

        def blob(section: dict, key: str) -> bytes | None:
            if section.get(f"{key}-data"):
                return base64.b64decode(section[f"{key}-data"])
            if section.get(key):
                p = section[key]
                p = p if os.path.isabs(p) else os.path.join(base_dir, p)
                try:
                    with open(p, "rb") as f:
                        return f.read()
                except OSError as e:
                    raise KubeConfigError(f"{where}: {key} {p}: {e.strerror}") from e
            return None

        return cls(server=server.rstrip("/"),
                   ca_data=blob(cluster, "certificate-authority"),
                   cert_data=blob(user, "client-certificate"),
                   key_data=blob(user, "client-key"),
                   token=user.get("token"),
                   namespace=ctx.get("namespace") or "default",
                   insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
                   tls_server_name=cluster.get("tls-server-name"),
                   path=path)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The client TLS context (CA + client cert), or None for plain http servers."""
        if not self.server.startswith("https"):
            return None
        if self.insecure_skip_tls_verify:
            # nothing is verified, so no CA is loaded (the system bundle's ~150 certificates cost
            # ~25 ms of CPU per context); otherwise the settings of create_default_context's
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_data:
            # the kubeconfig's CA is the only one trusted, as client-go does (its RootCAs are then
            # that CA alone): the system bundle is not loaded as well, which would vouch for any server
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=self.ca_data.decode("ascii"))
        else:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.cert_data and self.key_data:
            load_pem_chain(ctx, self.cert_data, self.key_data)
        return ctx


def _named(items) -> dict:
    """kubeconfig lists of {name, cluster|user|context: {...}} -> {name: {...}}."""
    out = {}
    for it in items or []:
        if isinstance(it, dict) and "name" in it:
            body = it.get("cluster") or it.get("user") or it.get("context") or {}
            out[it["name"]] = body
    return out


def load_pem_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """Load a certificate chain and key given as PEM bytes into ctx (ssl loads chains only from
    files: they go through a private temporary directory)."""
    with tempfile.TemporaryDirectory(prefix="labkube-tls-") as d:
        cp, kp = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
        for p, data in ((cp, cert), (kp, key)):
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        ctx.load_cert_chain(cp, kp)

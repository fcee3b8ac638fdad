"""Root CA publisher: every active namespace holds the ConfigMap `kube-root-ca.crt` whose key
`ca.crt` is the cluster CA (PEM), as Kubernetes' root-ca-cert-publisher keeps it. Pods read it
through the projected `kube-api-access-*` volume that ServiceAccount admission adds, to verify
the apiserver at https://kubernetes.default.svc.

The CA is the one this controller-manager trusts the apiserver with (its kubeconfig's
certificate-authority), or the setting `root_ca_data` (tests). A changed or deleted ConfigMap is
put back; the controller's own annotation `kubernetes.io/description` is set as upstream does."""
from __future__ import annotations

from labkube.client.errors import ApiError

from .base import Controller

NAME = "kube-root-ca.crt"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
               "endpoints such as the internal service IP or kubernetes.default.svc. No other usage "
               "is guaranteed across distributions of Kubernetes clusters.")


class RootCACertPublisher(Controller):
    name = "root-ca-cert-publisher"

    def setup(self) -> None:
        ca = self.settings.get("root_ca_data")
        if ca is None:
            ca = getattr(getattr(self.client, "config", None), "ca_data", None)
        if isinstance(ca, bytes):
            ca = ca.decode("ascii")
        self.ca = ca
        self.namespaces = self.informer("namespaces")
        self.configmaps = self.informer("configmaps")
        self.namespaces.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), None)
        mine = lambda cm: cm["metadata"]["name"] == NAME           # noqa: E731
        self.configmaps.add_handlers(None, lambda o, n: mine(n) and self.queue.add(n["metadata"]["namespace"]),
                                     lambda cm: mine(cm) and self.queue.add(cm["metadata"]["namespace"]))

    async def sync(self, ns: str) -> None:
        if not self.ca:
            self.log.warning("no cluster CA known (kubeconfig without certificate-authority): %s not published", NAME)
            return
        nso = self.namespaces.get(ns)
        if nso is None or nso["metadata"].get("deletionTimestamp") or (nso.get("status") or {}).get("phase") == "Terminating":
            return
        cm = self.configmaps.get(f"{ns}/{NAME}")
        data = {"ca.crt": self.ca}
        if cm is None:
            try:
                await self.client.create("configmaps", {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": NAME, "namespace": ns, "annotations": {"kubernetes.io/description": DESCRIPTION}},
                    "data": data}, namespace=ns)
            except ApiError as e:
                if e.code not in (403, 409):      # exists already (stale cache), or the namespace is terminating
                    raise
            return
        if cm.get("data") == data and not cm.get("binaryData"):
            return
        new = {**cm, "data": data}
        new.pop("binaryData", None)
        await self.client.replace("configmaps", NAME, new, namespace=ns)

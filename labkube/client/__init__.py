"""labkube.client: the async API client, informers, work queues, events and leader election.

    cfg = KubeConfig.load(path)
    async with Client(cfg) as c:
        pod = await c.get("pods", "web", namespace="default")
"""
from .errors import ApiError
from .kubeconfig import KubeConfig, KubeConfigError
from .rest import Client

__all__ = ["ApiError", "Client", "KubeConfig", "KubeConfigError"]

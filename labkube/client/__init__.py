"""labkube.client: the async API client, informers, work queues, events and leader election.

    cfg = KubeConfig.load(path)
    async with Client(cfg) as c:
        pod = await c.get("pods", "web", namespace="default")
"""
from .errors import ApiError
from .events import EventRecorder
from .factory import InformerFactory
from .informer import Informer
from .kubeconfig import KubeConfig, KubeConfigError
from .leaderelection import LeaderElector, LeadershipLost
from .rest import Client
from .workqueue import WorkQueue

__all__ = ["ApiError", "Client", "EventRecorder", "Informer", "InformerFactory", "KubeConfig", "KubeConfigError",
           "LeaderElector", "LeadershipLost", "WorkQueue"]

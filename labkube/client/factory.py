"""InformerFactory: one shared Informer per (resource, namespace), so controllers share caches.
`transforms` maps a resource name to what its informers keep of each object (default: the
informer's `compact`)."""
from __future__ import annotations

import asyncio
from typing import Callable

from .informer import Informer
from .rest import as_resource


class InformerFactory:
    def __init__(self, client, transforms: dict[str, Callable[[dict], dict]] | None = None):
        self.client = client
        self.transforms = dict(transforms or {})
        self.informers: dict[tuple[str, str | None], Informer] = {}

    def get(self, res, namespace: str | None = None) -> Informer:
        key = (as_resource(res).name, namespace)
        if key not in self.informers:
            tf = self.transforms.get(key[0])
            self.informers[key] = Informer(self.client, res, namespace=namespace,
                                           **({"transform": tf} if tf is not None else {}))
        return self.informers[key]

    def start(self) -> None:
        for inf in self.informers.values():
            inf.start()

    async def wait_synced(self) -> None:
        await asyncio.gather(*(inf.wait_synced() for inf in self.informers.values()))

    async def stop(self) -> None:
        await asyncio.gather(*(inf.stop() for inf in self.informers.values()))

"""WebSocket requests through the ingress: the `Upgrade: websocket` handshake is made with the pod
first (its subprotocol choice is passed on), then the client's is accepted and messages are
relayed both ways until either side closes, as ingress-nginx proxies upgraded connections; the close
code and reason of the side that closes are passed on to the other (wsrelay, forward_close_code).
"""
from __future__ import annotations

import aiohttp
from aiohttp import web

from ..wsrelay import relay

HANDSHAKE_HEADERS = frozenset(h.lower() for h in (
    "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"))


def is_websocket(request: web.BaseRequest) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket" and \
        "upgrade" in request.headers.get("Connection", "").lower()


async def proxy_websocket(session: aiohttp.ClientSession, request: web.BaseRequest, url, headers) -> web.StreamResponse:
    """Relay a WebSocket between the client and url; raises aiohttp.ClientError when the pod will not
    take it (the caller answers 502)."""
    protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    upstream_headers = {k: v for k, v in headers.items() if k.lower() not in HANDSHAKE_HEADERS}
    async with session.ws_connect(url.with_scheme("ws"), headers=upstream_headers, protocols=protocols,
                                  autoping=True, max_msg_size=0) as upstream:
        client = web.WebSocketResponse(protocols=[upstream.protocol] if upstream.protocol else (),
                                       autoping=True, max_msg_size=0)
        await client.prepare(request)
        try:
            await relay(client, upstream, forward_close_code=True)
        finally:
            await client.close()
        return client

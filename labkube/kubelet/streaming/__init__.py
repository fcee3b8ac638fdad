"""Streaming APIs of the kubelet: exec/attach over the websocket channel protocol
(`channels.py`, `execsession.py`) and port-forward over SPDY/3.1 tunnelled in a websocket
(`spdy.py`, `portforward.py`). `routes.py` adds them to the kubelet's HTTPS server."""

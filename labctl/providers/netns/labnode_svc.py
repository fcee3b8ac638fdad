"""labnode-svc: control the services of a netns node, the node's answer to systemctl.

Usage: labnode-svc {start|stop|restart|reload|status|enable|disable} NAME
       labnode-svc {list|daemon-reload}
Talks to the node supervisor over /run/labnode/supervisor.sock; stdlib only, since it
runs with the system python inside the node. Prints JSON; exit 0 ok, 1 failed, 4 no such unit.
"""
import json
import socket
import sys

SOCKET = "/run/labnode/supervisor.sock"


def main(argv: list[str]) -> int:
    if not argv or (argv[0] not in ("list", "daemon-reload") and len(argv) != 2):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    request = {"cmd": argv[0], "name": argv[1] if len(argv) > 1 else None}
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(120)
        sock.connect(SOCKET)
        sock.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        print(f"labnode-svc: cannot reach the node supervisor at {SOCKET}: {exc}", file=sys.stderr)
        return 1
    reply = json.loads(data or b"{}")
    if reply.get("error"):
        print(f"labnode-svc: {reply['error']}", file=sys.stderr)
        if "status" in reply:
            print(json.dumps(reply["status"]))
        return 4 if reply.get("missing") else 1
    print(json.dumps(reply.get("status", reply.get("services"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

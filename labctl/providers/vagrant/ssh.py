"""The lab's SSH key and the wait for a VM's sshd on its static lab address."""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from ..base import ProviderError


def lab_key(state_dir: Path) -> Path:
    """state_dir/ssh/id_ed25519, made once; the Vagrantfile gives root its public half."""
    key = Path(state_dir) / "ssh" / "id_ed25519"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "labctl-lab",
                        "-f", str(key)], check=True)
    return key


def wait_ssh(name: str, address: str, key: Path, timeout: float = 600, give_up=None) -> None:
    """Until sshd on address:22 accepts root with the lab key. A VM under emulation on a
    busy host can need minutes for its lab address and sshd after a boot. give_up(), when
    given, is asked between tries: a reason (a string) ends the wait with that error."""
    import paramiko
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        reason = give_up() if give_up else None
        if reason:
            raise ProviderError(reason)
        try:
            with socket.create_connection((address, 22), timeout=3):
                pass
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            client.connect(address, username="root", key_filename=str(key), timeout=30,
                           banner_timeout=60, auth_timeout=60, allow_agent=False, look_for_keys=False)
            client.close()
            return
        except Exception as exc:  # refused, reset, auth not yet set up: try again
            last = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            time.sleep(1)
    raise ProviderError(f"host {name}: ssh root@{address} with the lab key failed for "
                        f"{timeout:.0f} s ({last})")


def wait_ssh_all(nodes: list[tuple[str, str]], key: Path, timeout: float = 600, give_up=None) -> None:
    """wait_ssh for every (name, address) at once, one thread each (a paramiko handshake
    with an emulated VM takes seconds); the first failure is raised once all have ended."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max(1, len(nodes)), thread_name_prefix="labctl-ssh-wait") as pool:
        waits = [pool.submit(wait_ssh, name, address, key, timeout, give_up) for name, address in nodes]
    for w in waits:
        w.result()


def request_poweroff(address: str, key: Path, timeout: float = 60) -> str:
    """Ask a VM to power off (`systemctl poweroff --no-block`: systemd stops the services
    in order, the command itself returns at once); "" when asked, else why not."""
    cmd = ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(timeout)}",
           f"root@{address}", "systemctl poweroff --no-block"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        return f"ssh root@{address} did not return in {timeout + 30:.0f} s"
    # 255: ssh itself failed, or the connection dropped as the VM went down
    return "" if res.returncode == 0 else (res.stderr.strip().splitlines() or [f"exit {res.returncode}"])[-1]

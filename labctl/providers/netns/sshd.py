"""Per-node sshd set-up for netns nodes: the lab's key pair, host keys and sshd_config.

Every node runs its own sshd with its own config and host key (no PAM, no StrictModes,
no PidFile), listening only on the node's lab address. The lab key pair lives in the
lab's state directory; its public half is the only authorized key.
"""
from __future__ import annotations

from pathlib import Path

from .sh import sh

SSHD_CONFIG = """\
# sshd of lab node {name}, written by labctl
ListenAddress {address}
Port 22
HostKey /etc/labkube/ssh/ssh_host_ed25519_key
PidFile none
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile /etc/labkube/ssh/authorized_keys
Subsystem sftp internal-sftp
MaxSessions 64
MaxStartups 64:30:128
UseDNS no
LogLevel ERROR
"""

SSHD_UNIT = """\
[Unit]
Description=OpenSSH server of the lab node

[Service]
ExecStart=/usr/sbin/sshd -D -e -f /etc/labkube/ssh/sshd_config
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
"""


def lab_key(state_dir: Path) -> Path:
    """The lab's SSH private key, created on first use."""
    key = state_dir / "ssh" / "id_ed25519"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "labctl", "-f", str(key))
    return key


def prepare_node(node_dir: Path, name: str, address: str, key: Path) -> None:
    """Write the node's sshd config, host key, authorized key and sshd unit (idempotent)."""
    ssh_dir = node_dir / "etc-labkube" / "ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    host_key = ssh_dir / "ssh_host_ed25519_key"
    if not host_key.exists():
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}", "-f", str(host_key))
    (ssh_dir / "sshd_config").write_text(SSHD_CONFIG.format(name=name, address=address))
    (ssh_dir / "authorized_keys").write_text(Path(f"{key}.pub").read_text())
    units = node_dir / "etc-labkube" / "units"
    (units / "enabled").mkdir(parents=True, exist_ok=True)
    (units / "sshd.service").write_text(SSHD_UNIT)
    (units / "enabled" / "sshd").touch()

"""`vagrant up` in a thread, so that labctl can go on as soon as the VMs answer.

On libvirt every VM applies its lab address and root's lab key itself at boot (the box's
labctl-node-setup, from the kernel command line), so labctl's own SSH wait on the lab
addresses tells when a VM is ready for site.yml. `vagrant up` finishes later: after the
DHCP lease it waits for sshd on the management network and opens SSH sessions of its own
(tens of seconds per emulated VM) that labctl does not need. The thread is not a daemon:
the process that started it ends only after `vagrant up` has, so Vagrant's machine
state is complete before any later `vagrant` command runs.
"""
from __future__ import annotations

import sys
import threading


class BackgroundUp:
    """Runs up() (which raises on failure) in a thread; failure() is its error, if any."""

    def __init__(self, up, name: str = "labctl-vagrant-up"):
        self._up = up
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._up()
        except BaseException as exc:   # kept for failure(); the waiting side decides
            self._error = exc

    def done(self) -> bool:
        return not self._thread.is_alive()

    def failure(self) -> str | None:
        """Why `vagrant up` failed; None while it runs or when it succeeded."""
        if self._error is None:
            return None
        return str(self._error) or type(self._error).__name__

    def join(self, timeout: float | None = None) -> str | None:
        """Wait for `vagrant up` to end; its failure, if any."""
        self._thread.join(timeout)
        return self.failure()

    def report_late_failure(self) -> None:
        """Called when labctl no longer waits: a failure after the VMs answered is only
        reported (the VMs work; Vagrant's own checks on them did not finish)."""
        def watch():
            error = self.join()
            if error:
                print(f"labctl: warning: vagrant up ended with an error after the VMs answered: {error}",
                      file=sys.stderr)
        threading.Thread(target=watch, name="labctl-vagrant-up-watch").start()

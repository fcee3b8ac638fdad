"""Running a command on a pseudo-terminal as a person at a keyboard would: the one pty drive
loop the tests share (kubectl run -it, attach -it, exec -it, debug -it).

    rc, out = on_a_terminal(["kubectl", "exec", "-it", "p", "--", "sh"], b"tty; exit 3\\n", env,
                            rows=33, cols=100)

`typed` is written once: at once, or, with `after`, once the output contains `after` (kubectl's
"If you don't see a command prompt" hint says it is attached). Returns the exit code and all
that appeared on the terminal (decoded, undecodable bytes replaced). The command is killed
when it is still running after `timeout` seconds.
"""
import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time

ATTACHED = b"command prompt"      # kubectl's "If you don't see a command prompt, try pressing enter."


def on_a_terminal(argv, typed: bytes, env, *, after: bytes | None = None, rows: int | None = None,
                  cols: int | None = None, timeout: float = 120) -> tuple[int, str]:
    master, slave = pty.openpty()
    if rows and cols:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out, deadline = b"", time.monotonic() + timeout
    pending = typed
    try:
        if after is None:
            os.write(master, pending)
            pending = b""
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:             # EIO: every holder of the terminal's other side is gone
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
            if pending and after in out:
                time.sleep(0.5)             # let the attach settle before the first keystroke
                os.write(master, pending)
                pending = b""
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.wait(timeout=30), out.decode(errors="replace")

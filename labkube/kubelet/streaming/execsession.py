"""One exec (or attach) session: a helper process (`crun exec [-t] ID CMD...`) wired to a
websocket that speaks the channel protocol (channels.py).

Without a TTY the process gets pipes: channel 0 feeds its stdin (closed on the v5 close
signal or when the socket ends), its stdout and stderr go out on channels 1 and 2. With a
TTY it gets a pseudo-terminal for all three (crun exec -t relays it into the container):
output goes on channel 1 only (kubectl discards channel 2 then) and resize messages set the
terminal size. The exit code ends the session as a Status on channel 3. A client that goes
away before the command ends takes the command with it (SIGHUP + SIGTERM, then SIGKILL).
"""
from __future__ import annotations

import asyncio
import logging
import os
import pty
import signal

from aiohttp import WSMsgType, web

from ..terminal import CHUNK, read_when_ready, set_winsize
from . import channels
from .console import start_with_console

log = logging.getLogger(__name__)


class ExecSession:
    def __init__(self, ws: web.WebSocketResponse, argv: list, *, stdin: bool, stdout: bool, stderr: bool,
                 tty: bool, console_argv=None):
        self.ws, self.argv = ws, argv
        self.console_argv = console_argv      # socket path -> argv: the runtime hands us its terminal
        self.want_stdin, self.want_stdout, self.want_stderr, self.tty = stdin, stdout, stderr, tty
        self.proc: asyncio.subprocess.Process | None = None
        self.master: int | None = None

    async def run(self) -> int | None:
        """Run to the end; returns the exit code (None when the process could not start)."""
        try:
            if self.tty and self.console_argv is not None:
                readers = await self._start_console()
            else:
                readers = await (self._start_tty() if self.tty else self._start_pipes())
        except OSError as e:
            await self._send(channels.status_message(None, f"cannot start the command: {e}"))
            return None
        feeder = asyncio.create_task(self._feed())
        outputs = asyncio.gather(*readers, return_exceptions=True)
        exited = asyncio.ensure_future(self.proc.wait())
        try:
            await asyncio.wait([feeder, outputs, exited], return_when=asyncio.FIRST_COMPLETED)
            if feeder.done() and self.ws.closed and self.proc.returncode is None:
                await self._hang_up()          # the client went away: end its command
            rc = await exited
        except asyncio.CancelledError:         # the server dropped the request (client gone)
            self._signal_hang_up()
            asyncio.get_running_loop().call_later(5, self._kill)
            for task in (feeder, *readers):
                task.cancel()
            raise
        try:                                   # drain what is left; a leftover holder of the
            await asyncio.wait_for(outputs, 2)  # output (a background child) does not hold us
        except asyncio.TimeoutError:
            pass
        feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)
        if self.master is not None:
            os.close(self.master)
        await self._send(channels.status_message(rc))
        return rc

    def _signal_hang_up(self) -> None:
        """SIGHUP and SIGTERM to the helper; crun passes them on to the command (a shell on a
        terminal ignores TERM but not HUP)."""
        for sig in (signal.SIGHUP, signal.SIGTERM):
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                return

    def _kill(self) -> None:
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass

    async def _hang_up(self, grace: float = 5.0) -> None:
        """Hang up, then SIGKILL the helper after ``grace``."""
        self._signal_hang_up()
        try:
            await asyncio.wait_for(self.proc.wait(), grace)
        except asyncio.TimeoutError:
            self._kill()

    # -- start ----------------------------------------------------------------------------
    async def _start_pipes(self) -> list:
        pipe, null = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=pipe if self.want_stdin else null, stdout=pipe, stderr=pipe, start_new_session=True)
        out = [self._pump(self.proc.stdout, channels.STDOUT if self.want_stdout else None),
               self._pump(self.proc.stderr, channels.STDERR if self.want_stderr else None)]
        return [asyncio.create_task(c) for c in out]

    async def _start_tty(self) -> list:
        master, slave = pty.openpty()
        self.master = master
        set_winsize(master, 80, 24)
        try:
            self.proc = await asyncio.create_subprocess_exec(*self.argv, stdin=slave, stdout=slave, stderr=slave,
                                                             start_new_session=True)
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        return [asyncio.create_task(self._pump_pty(master))]

    async def _start_console(self) -> list:
        self.proc, master = await start_with_console(self.console_argv)
        self.master = master
        set_winsize(master, 80, 24)
        os.set_blocking(master, False)
        return [asyncio.create_task(self._pump_pty(master))]

    # -- output ---------------------------------------------------------------------------
    async def _send(self, message: bytes) -> None:
        await channels.send(self.ws, message)

    async def _pump(self, stream: asyncio.StreamReader, channel: int | None) -> None:
        while True:
            data = await stream.read(CHUNK)
            if not data:
                return
            if channel is not None:
                await self._send(channels.encode(channel, data))

    async def _pump_pty(self, fd: int) -> None:
        while True:
            data = await read_when_ready(fd)
            if not data:               # every slave end is closed, the process is gone
                return
            await self._send(channels.encode(channels.STDOUT, data))

    # -- input ----------------------------------------------------------------------------
    async def _feed(self) -> None:
        """Client messages: stdin data, resize, close; the socket ending closes stdin."""
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY or not msg.data:
                    continue
                ch, payload = channels.decode(msg.data)
                if ch == channels.STDIN:
                    await self._write_stdin(payload)
                elif ch == channels.RESIZE and self.master is not None:
                    size = channels.parse_resize(payload)
                    if size:
                        set_winsize(self.master, *size)
                elif ch == channels.CLOSE and payload[:1] == bytes([channels.STDIN]):
                    self._close_stdin()
        finally:
            self._close_stdin()

    async def _write_stdin(self, data: bytes) -> None:
        if self.master is not None:
            try:
                os.write(self.master, data)
            except BlockingIOError:
                await asyncio.sleep(0.01)
                os.write(self.master, data)
        elif self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.write(data)
            try:
                await self.proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass

    def _close_stdin(self) -> None:
        if self.master is None and self.proc is not None and self.proc.stdin is not None:
            if not self.proc.stdin.is_closing():
                self.proc.stdin.close()

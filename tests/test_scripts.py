"""scripts/start_celery_worker.sh and start_celery_beat.sh, run the way the guide runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from consultantos.jobs.queues import QUEUES
from tests.helpers.worker import REPO, wait_for

pytestmark = pytest.mark.worker

CELERY = [sys.executable, str(Path(sys.executable).parent / "celery")]
CELERY += ["-A", "consultantos.jobs.celery_app"]


@contextmanager
def script(
    name: str, tmp_path: Path, cwd: Path | None = None, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run scripts/<name> in its own session with output in tmp_path/<name>.out; stop it by
    pid (SIGTERM, then SIGKILL to its process group) when the block ends."""
    out = tmp_path / f"{name}.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [str(REPO / "scripts" / name)], cwd=cwd or tmp_path, env={**os.environ, **env},
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(20)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(10)


def read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def inspect(command: str, node: str) -> dict:
    done = subprocess.run(
        [*CELERY, "inspect", command, "--timeout", "5", "-d", node, "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)[node]


def test_worker_script_honours_its_settings_restarts_on_hup_and_stops_on_term(
    tmp_path: Path, redis_url: str
) -> None:
    node = f"script-{uuid.uuid4().hex[:8]}@127.0.0.1"
    out = tmp_path / "start_celery_worker.sh.out"
    settings = {"CONCURRENCY": "2", "LOG_LEVEL": "debug", "QUEUES": ",".join(QUEUES)}
    with script("start_celery_worker.sh", tmp_path, WORKER_NAME=node, **settings) as worker:
        wait_for(lambda: " ready." in read(out), timeout=60, message=read(out)[-3000:])
        # exec: the worker is the script's own process, and `pkill -f "celery.*worker"` sees it.
        argv = " ".join(cmdline(worker.pid))
        assert "/celery -A consultantos.jobs.celery_app worker" in argv
        assert f"-Q {','.join(QUEUES)} -c 2 -l debug -n {node}" in argv
        assert "DEBUG/MainProcess" in read(out)

        assert inspect("stats", node)["pool"]["max-concurrency"] == 2
        consumed = {queue["name"] for queue in inspect("active_queues", node)}
        assert consumed == set(QUEUES)

        # SIGHUP (what `pkill -HUP -f "celery.*worker"` sends): same process, ready again.
        worker.send_signal(signal.SIGHUP)
        wait_for(lambda: read(out).count(" ready.") == 2, timeout=60, message=read(out)[-3000:])
        assert worker.poll() is None and "worker" in cmdline(worker.pid)

        # SIGTERM: warm shutdown, clean exit.
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    assert "Warm shutdown" in read(out)


def test_worker_script_logs_to_celery_log_file(tmp_path: Path, redis_url: str) -> None:
    node = f"script-{uuid.uuid4().hex[:8]}@127.0.0.1"
    log = tmp_path / "var" / "log" / "celery" / "worker.log"
    # A relative CELERY_LOG_FILE is relative to where the script was started.
    with script(
        "start_celery_worker.sh", tmp_path, WORKER_NAME=node, CONCURRENCY="1",
        CELERY_LOG_FILE="var/log/celery/worker.log",
    ) as worker:  # fmt: skip
        wait_for(lambda: " ready." in read(log), timeout=60, message=read(log)[-3000:])
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    # Log records go to the file (what `tail -f /var/log/celery/worker.log` shows), not stdout.
    assert " ready." not in read(tmp_path / "start_celery_worker.sh.out")


def test_beat_script_writes_its_schedule_in_data_dir_and_stops_on_term(
    tmp_path: Path, redis_url: str
) -> None:
    data_dir = tmp_path / "beat-data"
    log = tmp_path / "logs" / "beat.log"
    with script(
        "start_celery_beat.sh", tmp_path, DATA_DIR=str(data_dir), CELERY_LOG_FILE=str(log),
        LOG_LEVEL="debug",
    ) as beat:  # fmt: skip
        # "Waking up" is logged once the schedule is loaded: a SIGTERM before that can find
        # Celery's Beat half set up and make it exit 1.
        wait_for(lambda: "beat: Waking up" in read(log), timeout=60, message=read(log)[-3000:])
        assert list(data_dir.glob("celerybeat-schedule*"))
        argv = " ".join(cmdline(beat.pid))
        assert "/celery -A consultantos.jobs.celery_app beat" in argv
        assert f"-s {data_dir}/celerybeat-schedule -l debug" in argv
        beat.send_signal(signal.SIGTERM)
        assert beat.wait(30) == 0

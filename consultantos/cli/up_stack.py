"""What `consultantos up` runs and in which order: the plan, the children, the Stack."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from consultantos.config import Settings
from consultantos.embedded_redis import RedisChoice, mask_url, ping
from consultantos.jobs.queues import QUEUES
from consultantos.stack import Child, ChildSpec, StopSignals, Supervisor

CELERY_APP = "consultantos.jobs.celery_app"
REDIS_START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Plan:
    """Everything `up` starts, resolved from options and settings before anything starts."""

    settings: Settings
    data_dir: Path
    redis: RedisChoice
    api_host: str
    api_port: int
    flower_port: int | None
    metrics_port: int | None
    concurrency: int
    log_level: str

    @property
    def local_host(self) -> str:
        """Where to reach the API from this machine (a wildcard address is not dialable)."""
        return "127.0.0.1" if self.api_host in ("0.0.0.0", "::", "") else self.api_host

    @property
    def api_url(self) -> str:
        return f"http://{self.local_host}:{self.api_port}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


def celery_command(python: str = sys.executable) -> list[str]:
    """`python <venv>/bin/celery`, not `python -m celery`: on SIGHUP (the guide's graceful
    restart) a worker re-executes its own argv, which fails from `celery/__main__.py`."""
    script = Path(python).parent / "celery"
    return [python, str(script)] if script.is_file() else [python, "-m", "celery"]


def child_env(plan: Plan) -> dict[str, str]:
    """Our environment plus the resolved settings, so every child sees the same Redis and DB."""
    env = dict(os.environ)
    env.update(
        REDIS_URL=plan.redis.url,
        DATABASE_URL=plan.settings.sqlalchemy_url,
        DATA_DIR=str(plan.data_dir),
        CONCURRENCY=str(plan.concurrency),
        LOG_LEVEL=plan.log_level,
        API_HOST=plan.api_host,
        API_PORT=str(plan.api_port),
        PYTHONUNBUFFERED="1",
    )
    if plan.flower_port:
        env["FLOWER_PORT"] = str(plan.flower_port)
    if plan.metrics_port:
        env["METRICS_PORT"] = str(plan.metrics_port)
    return env


def service_specs(plan: Plan) -> list[ChildSpec]:
    """API, one worker on all four queues, Beat and (unless disabled) Flower and the
    Prometheus exporter."""
    env = child_env(plan)
    python = sys.executable
    celery = [*celery_command(python), "-A", CELERY_APP]
    level = plan.log_level
    specs = [
        ChildSpec(
            "api",
            [python, "-m", "uvicorn", "consultantos.api.app:app", "--host", plan.api_host,
             "--port", str(plan.api_port), "--log-level", level],
            env,
        ),
        ChildSpec(
            "worker",
            [*celery, "worker", "-Q", ",".join(QUEUES), "-c", str(plan.concurrency), "-l", level,
             "-n", "worker@%h"],
            env,
            ready_text=" ready.",
        ),
        ChildSpec(
            "beat",
            [*celery, "beat", "-s", str(plan.data_dir / "celerybeat-schedule"), "-l", level],
            env,
            ready_text="beat: Starting",
        ),
    ]  # fmt: skip
    if plan.flower_port:
        specs.append(
            ChildSpec(
                "flower",
                [*celery, "flower", f"--port={plan.flower_port}", "--address=127.0.0.1"],
                env,
                ready_text="Visit me at",
            )
        )
    if plan.metrics_port:
        specs.append(
            ChildSpec(
                "metrics",
                [
                    python,
                    "-m",
                    "consultantos.cli",
                    "metrics",
                    "--port",
                    str(plan.metrics_port),
                    "--host",
                    "127.0.0.1",
                ],
                env,
                ready_text="metrics: http://",
            )
        )
    return specs


def summary(plan: Plan, names: list[str]) -> list[str]:
    """The table `up` prints: where each part is."""
    redis = mask_url(plan.redis.url)
    if plan.redis.embedded:
        redis += f"  (embedded, data in {plan.data_dir / 'redis'})"
    else:
        redis += f"  ({plan.redis.reason})"
    rows = [
        ("API", f"{plan.api_url}  (docs {plan.api_url}/docs, health {plan.api_url}/health)"),
        ("Flower", f"http://127.0.0.1:{plan.flower_port}" if plan.flower_port else "not started"),
        (
            "Metrics",
            f"http://127.0.0.1:{plan.metrics_port}/metrics" if plan.metrics_port else "not started",
        ),
        ("Worker", f"queues {','.join(QUEUES)}, concurrency {plan.concurrency}"),
        ("Beat", f"schedule {plan.data_dir / 'celerybeat-schedule'}"),
        ("Redis", redis),
        ("Database", mask_url(plan.settings.sqlalchemy_url)),
        ("Data dir", str(plan.data_dir)),
        ("Logs", f"{plan.log_dir}/{{{','.join(names)}}}.log  (previous run: .log.1)"),
    ]
    lines = ["ConsultantOS is starting:"] + [f"  {label:<9} {value}" for label, value in rows]
    if plan.redis.url != plan.settings.redis_url.replace("//localhost:", "//127.0.0.1:"):
        lines.append(f"  Other shells (celery inspect, scripts): export REDIS_URL={plan.redis.url}")
    lines.append("Ctrl-C stops everything (twice: at once).")
    return lines


class Stack:
    """Starts the plan's processes in order, watches them, and stops them in reverse order."""

    def __init__(self, plan: Plan, signals: StopSignals, *, ready_timeout: float, grace: float):
        self.plan = plan
        self.signals = signals
        self.ready_timeout = ready_timeout
        self.grace = grace
        self.supervisor = Supervisor(log_dir=plan.log_dir)
        self.redis: Child | None = None
        self.services: list[Child] = []

    def run(self) -> int:
        """Start, wait for readiness, supervise; the exit code of `up`."""
        try:
            if self.plan.redis.embedded and not self._start_redis():
                return 0 if self.signals.requested else 1
            self.services = [self.supervisor.start(s) for s in service_specs(self.plan)]
            for line in summary(self.plan, [c.name for c in self.supervisor.children]):
                self.supervisor.say(line)
            outcome = self._wait(self._api_healthy, self.ready_timeout)
            if outcome == "ready":
                self.supervisor.say(f"ready: API answers {self.plan.api_url}/health")
            elif outcome == "timeout":
                self.supervisor.say(
                    f"warning: {self.plan.api_url}/health did not answer 200 within "
                    f"{self.ready_timeout:g}s; still running (see {self.plan.log_dir}/api.log)"
                )
            if outcome in ("ready", "timeout"):
                outcome = self._wait(lambda: False, None)
            return 0 if outcome == "signal" else 1
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Services first (workers finish their tasks while Redis is still up), Redis last."""
        for group in (self.services, [self.redis] if self.redis else []):
            running = [c for c in group if c.alive()]
            if not running:
                self.supervisor.stop(group, grace=0, forced=lambda: True)
                continue
            self.supervisor.say(f"stopping {', '.join(c.name for c in running)}")
            killed = self.supervisor.stop(group, grace=self.grace, forced=self._forced)
            for child in killed:
                self.supervisor.say(f"{child.name} did not stop in time: killed")
        self.supervisor.say("stopped")
        self.supervisor.close()

    def _forced(self) -> bool:
        return self.signals.forced

    def _start_redis(self) -> bool:
        from consultantos import embedded_redis

        port = self.plan.redis.port or embedded_redis.DEFAULT_PORT
        argv = embedded_redis.command(self.plan.data_dir / "redis", port)
        self.redis = self.supervisor.start(ChildSpec("redis", argv, child_env(self.plan)))
        outcome = self._wait(lambda: ping(self.plan.redis.url, 0.5) is None, REDIS_START_TIMEOUT)
        if outcome == "timeout":
            self.supervisor.say(f"embedded Redis did not answer within {REDIS_START_TIMEOUT:g}s")
        return outcome == "ready"

    def _api_healthy(self) -> bool:
        import httpx

        try:
            # trust_env=False: a probe of this machine never goes through HTTP_PROXY.
            response = httpx.get(f"{self.plan.api_url}/health", timeout=2, trust_env=False)
            return response.status_code == 200
        except httpx.HTTPError:
            return False

    def _wait(self, ready: Callable[[], bool], timeout: float | None) -> str:
        """Pump output until `ready()`, a stop signal, a child's exit, or the timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        next_probe = 0.0
        while True:
            self.supervisor.pump(0.2)
            if self.signals.requested:
                self.supervisor.say(f"{self.signals.describe()} received: stopping")
                return "signal"
            for child in self.supervisor.exited():
                code = child.proc.returncode
                how = f"with code {code}" if code >= 0 else f"killed by signal {-code}"
                self.supervisor.say(
                    f"{child.name} exited unexpectedly ({how}); stopping everything "
                    f"(log: {self.supervisor.log_path(child.name)})"
                )
                return "exited"
            if time.monotonic() >= next_probe:
                if ready():
                    return "ready"
                next_probe = time.monotonic() + 0.5
            if deadline is not None and time.monotonic() >= deadline:
                return "timeout"

"""All settings, read from environment variables (or a `.env` file) into one typed object.

Every setting is documented here and in the README's settings table; `get_settings()` builds the
object once, on first use, never at import.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class Settings(BaseSettings):
    """Environment variables of ConsultantOS Jobs (names are the upper-case field names)."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, use_attribute_docstrings=True
    )

    redis_url: str = "redis://localhost:6379/0"
    """Broker and result backend. `consultantos up` starts an embedded server when unset."""
    result_backend_url: str | None = None
    """Result backend, when it should differ from REDIS_URL."""
    data_dir: Path = Path("data")
    """Where the embedded SQLite database and embedded Redis keep their files."""
    database_url: str | None = None
    """SQLAlchemy URL; default: SQLite at DATA_DIR/consultantos.db (WAL mode)."""

    concurrency: int = Field(default=4, ge=1, le=256)
    """Worker processes per worker (scripts/start_celery_worker.sh, `consultantos up`)."""
    log_level: LogLevel = "info"
    """Log level of every process."""

    rate_limit_check_monitor: str = "10/m"
    """Per-worker rate limit of check_monitor_task (the guide: 10/min)."""
    rate_limit_alerts: str = "30/m"
    """Per-worker rate limit of process_alert_task and send_alert_webhook (30/min)."""
    rate_limit_analysis: str = "5/m"
    """Per-worker rate limit of run_analysis_task (5/min)."""

    retry_backoff: Annotated[list[int], NoDecode] = [60, 300, 900]
    """Seconds before retry 1, 2, 3...; comma-separated. The last value repeats."""
    retry_jitter: float = Field(default=0.2, ge=0, le=1)
    """Each backoff is multiplied by a random factor in [1 - jitter, 1 + jitter]."""
    max_retries: int = Field(default=3, ge=0, le=100)
    """Retries of a transient failure before the task is dead-lettered."""
    max_deliveries: int = Field(default=3, ge=1, le=100)
    """Deliveries of one task attempt that never finished (its worker died) before it is
    dead-lettered as a poison message."""

    visibility_timeout: int = Field(default=4 * 3600, ge=1)
    """Seconds before Redis redelivers an unacknowledged task. Must exceed every countdown,
    ETA and retry backoff the system uses, or delayed tasks run twice."""
    result_expires: int = Field(default=7 * 24 * 3600, ge=60)
    """Seconds task results are kept in Redis."""
    dead_letter_retention_days: int = Field(default=30, ge=1)
    """Days dead-letter entries are kept before cleanup trims them."""
    retention_days: int = Field(default=90, ge=1)
    """Days snapshots, alerts and alert deliveries are kept (cleanup_old_data_task's default);
    daily rollups are kept for ever, and so is the latest snapshot of an active monitor."""
    cleanup_batch_size: int = Field(default=1000, ge=1, le=100_000)
    """Rows cleanup deletes per transaction: small batches keep each lock short."""
    aggregation_catchup_days: int = Field(default=7, ge=1, le=366)
    """aggregate_snapshots_task without a day rolls up this many days before today, so days
    missed while Beat or the workers were down are caught up (an existing rollup is replaced
    only by one built from at least as many checks)."""
    anomaly_min_snapshots: int = Field(default=30, ge=10)
    """Successful snapshots (in the training window) a monitor needs for an anomaly model;
    with fewer it keeps the threshold rule only."""
    anomaly_training_days: int = Field(default=28, ge=1, le=366)
    """Days of history train_anomaly_model_task learns from."""
    anomaly_threshold: float = Field(default=5.0, gt=0)
    """Robust z-score (distance from the expected value in scaled MADs) above which a metric
    is anomalous; the alert's expected range is the expected value ± this many scales."""
    anomaly_min_bucket_points: int = Field(default=5, ge=1)
    """Points an hour-of-day or day-of-week bucket needs to get its own seasonal effect;
    sparser buckets fall back to the coarser (non-seasonal) expectation."""

    fetch_connect_timeout: float = Field(default=5.0, gt=0)
    """Seconds to connect to a monitored source."""
    fetch_read_timeout: float = Field(default=20.0, gt=0)
    """Seconds to wait for a monitored source to answer."""
    fetch_max_bytes: int = Field(default=5_000_000, ge=1024)
    """Largest response body accepted from a source."""
    fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    """Redirects followed when fetching a source."""
    fetch_user_agent: str = "ConsultantOS-Monitor/0.1 (+https://consultantos.example/bot)"
    """User-Agent sent to monitored sources."""

    schedule_jitter: float = Field(default=0.1, ge=0, le=1)
    """Scheduled checks spread next_check_at by up to this fraction of the interval."""
    schedule_batch_size: int = Field(default=500, ge=1)
    """Due monitors claimed and enqueued per batch by check_scheduled_monitors_task."""
    duplicate_check_window: float = Field(default=0.5, ge=0, le=1)
    """A scheduled check started within this fraction of the interval after the previous one
    is a duplicate and is skipped."""

    api_host: str = "127.0.0.1"
    """Address the API listens on (`consultantos up`)."""
    api_port: int = 8000
    """Port of the API."""
    flower_port: int = 5555
    """Port of Flower (`consultantos up`)."""
    metrics_port: int = Field(default=9808, ge=1, le=65535)
    """Port of the Prometheus exporter (`consultantos metrics`): /metrics and /health."""
    public_base_url: str = "http://127.0.0.1:8000"
    """Base URL used in links sent to users (alert links)."""

    smtp_host: str = "localhost"
    """SMTP server that sends alert emails."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    """Port of the SMTP server (587 is usual for STARTTLS, 465 for SSL, 25 for plain)."""
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    """`starttls` (upgrade a plain connection), `ssl` (TLS from the first byte) or `none`
    (plain text: a local relay only)."""
    smtp_username: str | None = None
    """SMTP login; unset means no authentication."""
    smtp_password: SecretStr | None = None
    """SMTP password, used with SMTP_USERNAME."""
    smtp_from: str = "ConsultantOS Alerts <alerts@localhost>"
    """From: of alert emails."""
    smtp_ca_file: Path | None = None
    """A PEM file of CA certificates to trust for the SMTP server (a private relay's CA);
    unset means the system's trusted CAs."""
    alert_cooldown_seconds: int = Field(default=300, ge=0)
    """Alerts of one monitor and kind within this window go to each channel as one message:
    the first at once, later ones together when the window ends. 0 sends each at once.
    Capped at 90% of VISIBILITY_TIMEOUT (a grouped message waits that long in the broker)."""
    alert_send_timeout: float = Field(default=10.0, gt=0)
    """Seconds to connect to, and then to wait for, an SMTP server, Slack or a webhook
    endpoint in one delivery attempt; a timeout is retried."""

    @field_validator("retry_backoff", mode="before")
    @classmethod
    def _split_backoff(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return [int(part) for part in value.replace(" ", "").split(",") if part]
            except ValueError as exc:
                raise ValueError(
                    "RETRY_BACKOFF must be comma-separated seconds, e.g. 60,300,900"
                ) from exc
        return value

    @field_validator("retry_backoff")
    @classmethod
    def _backoff_positive(cls, value: list[int]) -> list[int]:
        if not value or any(v < 0 for v in value):
            raise ValueError("RETRY_BACKOFF needs at least one non-negative number of seconds")
        return value

    @model_validator(mode="after")
    def _visibility_covers_delays(self) -> Settings:
        longest = self.longest_retry_delay
        if self.visibility_timeout <= longest:
            raise ValueError(
                f"VISIBILITY_TIMEOUT ({self.visibility_timeout}s) must exceed the longest retry "
                f"backoff with jitter ({longest:.0f}s), or retried tasks would run twice"
            )
        return self

    @property
    def alert_group_window(self) -> int:
        """ALERT_COOLDOWN_SECONDS, capped to what the broker can hold a delayed task for."""
        return min(self.alert_cooldown_seconds, self.max_eta_seconds)

    @property
    def longest_retry_delay(self) -> float:
        """The longest countdown a retry can get."""
        return max(self.retry_backoff) * (1 + self.retry_jitter)

    @property
    def max_eta_seconds(self) -> int:
        """The furthest ahead a task may be scheduled; later ones would be redelivered early."""
        return int(self.visibility_timeout * 0.9)

    @property
    def sqlalchemy_url(self) -> str:
        """DATABASE_URL, or the embedded SQLite database in DATA_DIR."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'consultantos.db').resolve()}"

    @property
    def result_backend(self) -> str:
        return self.result_backend_url or self.redis_url


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return Settings()


def settings_table() -> str:
    """The README's settings table, made from the field docstrings above."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, list):
            default = ",".join(str(item) for item in default)
        shown = "(unset)" if default is None else f"`{default}`"
        meaning = " ".join((field.description or "").split())
        rows.append(f"| `{name.upper()}` | {shown} | {meaning} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())

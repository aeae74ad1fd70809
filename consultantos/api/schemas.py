"""Request and response models of the API.

Monitor bodies are the domain's MonitorCreate and MonitorUpdate, so the API and the CLI accept
the same definitions; the API only adds the refusal of NUL characters, which PostgreSQL cannot
store (SQLite can, so without it the same request would succeed or fail by backend).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from consultantos.db.models import AlertKind, AlertStatus, MonitorStatus, SourceType
from consultantos.monitoring.schemas import MonitorCreate, MonitorUpdate


class NoNulText(BaseModel):
    """Refuses NUL characters in every text field, naming the field in the 422."""

    @field_validator("*", check_fields=False)
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text may not contain NUL characters")
        return value


class MonitorCreateBody(MonitorCreate, NoNulText):
    """A new monitor (MonitorCreate; unknown fields are refused)."""


class MonitorUpdateBody(MonitorUpdate, NoNulText):
    """Changes to a monitor (MonitorUpdate); fields left out stay as they are."""


class ErrorOut(BaseModel):
    """Every error answer carries a human-readable `detail`."""

    detail: str


class MonitorOut(BaseModel):
    """A monitor as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    user_id: str
    company: str
    industry: str | None
    name: str
    source_type: SourceType
    url: str
    selector: str | None
    check_interval_seconds: int
    change_threshold_pct: float
    status: MonitorStatus
    next_check_at: datetime
    last_check_started_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SnapshotOut(BaseModel):
    """What one check saw; `content_text` only when asked for (it can be megabytes)."""

    id: int
    monitor_id: str
    check_id: str
    checked_at: datetime
    ok: bool
    http_status: int | None
    response_time_ms: float | None
    content_hash: str | None
    metrics: dict[str, Any]
    error: str | None
    content_text: str | None = Field(
        default=None, description="Present only with include_content=true."
    )


class AlertOut(BaseModel):
    """An alert raised for a monitor."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    monitor_id: str
    snapshot_id: int | None
    kind: AlertKind
    title: str
    details: dict[str, Any]
    status: AlertStatus
    created_at: datetime


class CheckRequest(NoNulText):
    """Who asks for the check: only the monitor's owner may trigger it."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=128)


class TaskQueued(BaseModel):
    """A task accepted onto a queue; poll `status_url` for its state."""

    task_id: str
    queue: str
    status_url: str


class TaskStatus(BaseModel):
    """A task's state in the result backend. An id nobody ever sent is PENDING too."""

    task_id: str
    state: str = Field(description="PENDING, RECEIVED, STARTED, RETRY, SUCCESS, FAILURE, REVOKED.")
    name: str | None = Field(default=None, description="Task name, once a worker recorded it.")
    queue: str | None = None
    retries: int | None = None
    date_done: datetime | None = None
    result: Any = Field(default=None, description="Return value, on SUCCESS.")
    error: str | None = Field(
        default=None, description="`ExceptionType: message`, on FAILURE, RETRY or REVOKED."
    )
    error_type: str | None = None
    traceback: str | None = Field(default=None, description="On FAILURE, when recorded.")


class RevokeRequest(NoNulText):
    """Body form of the revoke options (the `terminate` query parameter works as well)."""

    model_config = ConfigDict(extra="forbid")

    terminate: bool = False


class RevokeOut(BaseModel):
    """The revoke was broadcast to the workers."""

    task_id: str
    revoked: Literal[True] = True
    terminate: bool


class DeadLetterSizes(BaseModel):
    """Entries per dead-letter queue."""

    queues: dict[str, int]


class DeadLetterEntryOut(BaseModel):
    """A task that failed for good, with what is needed to understand and replay it."""

    task_id: str
    task_name: str
    args: list[Any]
    kwargs: dict[str, Any]
    exception: str
    traceback: str | None
    failed_at: str
    retries: int
    queue: str
    priority: int
    reason: str
    details: dict[str, Any]
    dead_letter_queue: str


class DeadLetterPage(BaseModel):
    """A page of a dead-letter queue, newest first."""

    queue: str
    total: int
    limit: int
    offset: int
    entries: list[DeadLetterEntryOut]


class Requeued(BaseModel):
    """Task ids sent back to their original queues (same ids, same priorities)."""

    requeued: list[str]
    count: int


class Purged(BaseModel):
    """How many entries were deleted."""

    purged: int


class HealthOut(BaseModel):
    """`ok`, or why a dependency failed."""

    status: Literal["ok", "unavailable"]
    redis: str
    database: str
    detail: str | None = None

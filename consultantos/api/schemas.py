"""Request and response models of the API.

Monitor bodies are the domain's MonitorCreate and MonitorUpdate, so the API and the CLI accept
the same definitions; the API only adds the refusal of NUL characters, which PostgreSQL cannot
store (SQLite can, so without it the same request would succeed or fail by backend).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from consultantos.analysis.request import AnalysisRequest
from consultantos.db.analysis_models import AnalysisStatus
from consultantos.db.models import (
    AlertKind,
    AlertStatus,
    ChannelKind,
    MessageStatus,
    MonitorStatus,
    SourceType,
)
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


class ChannelOut(BaseModel):
    """A channel alerts go to. `secret` (webhooks) is what receivers verify signatures with."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    user_id: str
    monitor_id: str | None = Field(description="None for one of the user's default channels.")
    kind: ChannelKind
    target: str = Field(description="The email address, or the Slack / webhook URL.")
    secret: str | None = Field(description="Webhooks: the `whsec_…` signing secret.")
    enabled: bool
    created_at: datetime
    updated_at: datetime


class MonitorChannelsOut(BaseModel):
    """A monitor's own channels; with none, its alerts go to the user's default channels."""

    monitor_id: str
    user_id: str
    uses_user_defaults: bool
    channels: list[ChannelOut]


class UserChannelsOut(BaseModel):
    """A user's default channels, for monitors without channels of their own."""

    user_id: str
    channels: list[ChannelOut]


class DeliveryOut(BaseModel):
    """An alert's delivery to one channel: the state of the message that carries it."""

    channel_id: str | None = Field(description="None once the channel was removed.")
    channel_kind: ChannelKind
    target: str
    message_id: str = Field(description="Also the `webhook-id` of webhook deliveries.")
    status: MessageStatus
    attempts: int
    status_code: int | None = Field(description="HTTP status or SMTP reply of the last attempt.")
    response_excerpt: str | None
    error: str | None
    not_before: datetime = Field(description="When it was due (grouped alerts wait).")
    last_attempt_at: datetime | None
    delivered_at: datetime | None


class AlertDeliveriesOut(AlertOut):
    """An alert with its delivery state per channel."""

    deliveries: list[DeliveryOut]


class ResendOut(BaseModel):
    """Messages queued by a re-send; channels with a message being sent are left to it."""

    alert_id: str
    queued: list[str] = Field(description="Ids of the send tasks queued.")
    message_ids: list[str]
    in_flight: list[str] = Field(description="Channel ids already being sent to.")


class AnalysisRequestBody(AnalysisRequest, NoNulText):
    """A competitive analysis to run: one company over whole UTC days, both inclusive."""

    user_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Analyse only this user's monitors (and peers); all monitors when absent.",
    )


class AnalysisQueued(BaseModel):
    """An analysis accepted and queued; poll `status_url`, then fetch the report."""

    analysis_id: str = Field(description="Also the id of its run_analysis_task.")
    task_id: str
    queue: str
    status_url: str
    report_url: str
    report_html_url: str


class AnalysisOut(BaseModel):
    """Where an analysis stands. `done` has a report; `failed` says why in `error`."""

    analysis_id: str
    company: str
    user_id: str | None
    period_start: date
    period_end: date
    status: AnalysisStatus
    task_state: str | None = Field(
        default=None, description="The task's Celery state while it is not done."
    )
    error: str | None = None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    report_url: str | None = None
    report_html_url: str | None = None

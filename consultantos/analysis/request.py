"""What an analysis may be asked for, checked the same way by the API (a 4xx at once) and by
run_analysis_task (a permanent error, dead-lettered with the reason).

A period is two UTC dates, both inclusive: {"company": "Acme", "start": "2025-03-01",
"end": "2025-03-07"}. Refused: an end before the start (an empty period), a period reaching past
today (the future has no data yet), a period longer than MAX_PERIOD_DAYS, and a company none of
the monitors in scope belongs to.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from consultantos.db.models import Monitor
from consultantos.errors import InvalidArguments, NotFound

MAX_PERIOD_DAYS = 366


class AnalysisRequest(BaseModel):
    """One company over a period of whole UTC days."""

    model_config = ConfigDict(extra="forbid")

    company: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")
    start: date = Field(description="First day of the period (UTC), inclusive.")
    end: date = Field(description="Last day of the period (UTC), inclusive.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def parse_request(value: object) -> AnalysisRequest:
    """`value` (a dict, as a task receives it) as an AnalysisRequest, or InvalidArguments."""
    if isinstance(value, AnalysisRequest):
        return value
    if not isinstance(value, dict):
        raise InvalidArguments(f"an analysis request must be a JSON object, got {value!r}")
    try:
        return AnalysisRequest.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'request'}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidArguments(f"invalid analysis request: {problems}") from exc


def check_period(request: AnalysisRequest, *, today: date) -> None:
    """InvalidArguments for an empty, future or too long period."""
    if request.end < request.start:
        raise InvalidArguments(f"empty period: end {request.end} is before start {request.start}")
    if request.end > today:
        raise InvalidArguments(
            f"period {request.start} to {request.end} reaches into the future (today is {today})"
        )
    if request.days > MAX_PERIOD_DAYS:
        raise InvalidArguments(
            f"period of {request.days} days is longer than the maximum of {MAX_PERIOD_DAYS}"
        )


def check_user(user_id: object) -> str | None:
    """None (every monitor) or a user id whose monitors the analysis covers."""
    if user_id is None:
        return None
    if not isinstance(user_id, str) or not 1 <= len(user_id) <= 128 or "\x00" in user_id:
        raise InvalidArguments(f"user_id must be a string of 1-128 characters, got {user_id!r}")
    return user_id


def monitors_in_scope(
    session: Session, *, user_id: str | None, company: str | None = None
) -> list[Monitor]:
    """The monitors an analysis for `user_id` may use (all when None), of one company if given."""
    query = select(Monitor).order_by(Monitor.company, Monitor.name, Monitor.id)
    if user_id is not None:
        query = query.where(Monitor.user_id == user_id)
    if company is not None:
        query = query.where(Monitor.company == company)
    return list(session.scalars(query))


def validate_analysis(
    session: Session, *, request: object, user_id: object, today: date
) -> tuple[AnalysisRequest, str | None, list[Monitor]]:
    """The checked request and user, and the company's monitors; InvalidArguments or NotFound."""
    parsed = parse_request(request)
    user = check_user(user_id)
    check_period(parsed, today=today)
    monitors = monitors_in_scope(session, user_id=user, company=parsed.company)
    if not monitors:
        whose = f" of user {user!r}" if user is not None else ""
        raise NotFound(f"no monitors{whose} watch a company named {parsed.company!r}")
    return parsed, user, monitors


def request_dict(request: AnalysisRequest) -> dict[str, Any]:
    """The request as run_analysis_task receives it."""
    return request.model_dump(mode="json")

"""Analysis records: requested (queued), run (running, then done or failed), read back.

The analysis id is the id of its run_analysis_task, so the API can answer for an analysis
before a worker has taken it, and a redelivered task finds its finished report and returns it
instead of building it again. A task sent without the API (the guide's `apply_async`) creates
its record when it starts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from consultantos.analysis.data import build_report_data
from consultantos.analysis.render import render_html
from consultantos.analysis.request import AnalysisRequest, validate_analysis
from consultantos.db import session_scope
from consultantos.db.analysis_models import AnalysisReport, AnalysisStatus
from consultantos.db.errors import database_unavailable_as_transient
from consultantos.db.models import new_id, utcnow
from consultantos.errors import NotFound, PermanentError

log = logging.getLogger(__name__)


def create_analysis(
    session: Session,
    *,
    request: object,
    user_id: object,
    analysis_id: str,
    now: datetime | None = None,
) -> tuple[AnalysisReport, AnalysisRequest]:
    """Check the request (InvalidArguments, NotFound) and store it as queued."""
    now = now or utcnow()
    parsed, user, _ = validate_analysis(
        session, request=request, user_id=user_id, today=now.astimezone(UTC).date()
    )
    record = AnalysisReport(
        id=analysis_id,
        user_id=user,
        company=parsed.company,
        period_start=parsed.start,
        period_end=parsed.end,
        status=AnalysisStatus.QUEUED,
        requested_at=now,
    )
    session.add(record)
    session.flush()
    return record, parsed


def get_analysis(session: Session, *, analysis_id: str) -> AnalysisReport:
    """The record of an analysis, or NotFound."""
    record = session.get(AnalysisReport, analysis_id)
    if record is None:
        raise NotFound(f"analysis {analysis_id!r} does not exist")
    return record


def mark_failed(*, analysis_id: str, error: str) -> None:
    """Record that an analysis cannot be done (when its record exists)."""
    with session_scope() as session:
        record = session.get(AnalysisReport, analysis_id)
        if record is not None and record.status != AnalysisStatus.DONE:
            record.status = AnalysisStatus.FAILED
            record.error = error
            record.finished_at = utcnow()


def run_analysis(
    *,
    request: object,
    user_id: object = None,
    analysis_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Build and store the report of `request`; returns a small summary of the record.

    Bad requests raise InvalidArguments or NotFound (the record, if any, is marked failed);
    an unreachable database raises DependencyUnavailable (the task retries)."""
    analysis_id = analysis_id or new_id("ana")
    try:
        with database_unavailable_as_transient(f"running analysis {analysis_id!r}"):
            return _run(request, user_id, analysis_id, now or utcnow())
    except PermanentError as exc:
        try:
            mark_failed(analysis_id=analysis_id, error=f"{type(exc).__name__}: {exc}")
        except SQLAlchemyError:  # the task's own error matters more than this note
            log.exception("could not mark analysis %s failed", analysis_id)
        raise


def _run(request: object, user_id: object, analysis_id: str, now: datetime) -> dict[str, Any]:
    today = now.astimezone(UTC).date()
    with session_scope() as session:
        record = session.get(AnalysisReport, analysis_id)
        if record is not None and record.status == AnalysisStatus.DONE:
            return summary(record)  # a redelivered task: the report is already there
        parsed, user, monitors = validate_analysis(
            session, request=request, user_id=user_id, today=today
        )
        if record is None:
            record = AnalysisReport(id=analysis_id, requested_at=now)
            session.add(record)
        record.user_id = user
        record.company = parsed.company
        record.period_start, record.period_end = parsed.start, parsed.end
        record.status = AnalysisStatus.RUNNING
        record.started_at = now
    with session_scope() as session:
        data = build_report_data(
            session, request=parsed, user_id=user, monitors=monitors, today=today
        )
    generated = utcnow()
    data = {"analysis_id": analysis_id, "generated_at": generated.isoformat(), **data}
    html = render_html(data, generated_at=generated.isoformat())
    with session_scope() as session:
        record = get_analysis(session, analysis_id=analysis_id)
        record.data = data
        record.html = html
        record.status = AnalysisStatus.DONE
        record.error = None
        record.finished_at = generated
        log.info(
            "analysis %s of %s done: %d monitors, %d bytes of HTML",
            analysis_id,
            parsed.company,
            len(monitors),
            len(html),
        )
        return summary(record)


def summary(record: AnalysisReport) -> dict[str, Any]:
    """What run_analysis_task returns: the record's id, state and where its report is."""
    return {
        "analysis_id": record.id,
        "status": str(record.status),
        "company": record.company,
        "period_start": record.period_start.isoformat(),
        "period_end": record.period_end.isoformat(),
        "report_url": f"/analyses/{record.id}/report",
        "report_html_url": f"/analyses/{record.id}/report.html",
    }

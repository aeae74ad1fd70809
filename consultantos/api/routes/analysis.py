"""Competitive analyses: request one (run_analysis_task on the normal queue), follow it, and
fetch its report as JSON or as a self-contained HTML page."""

from __future__ import annotations

import uuid

from celery import states
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from consultantos.analysis.reports import create_analysis, get_analysis
from consultantos.analysis.request import request_dict
from consultantos.api.deps import BrokerReady, CeleryDep, SessionDep, TaskId
from consultantos.api.routes.tasks import describe_error, read_task_meta
from consultantos.api.schemas import AnalysisOut, AnalysisQueued, AnalysisRequestBody, ErrorOut
from consultantos.db.analysis_models import AnalysisReport, AnalysisStatus

router = APIRouter(prefix="/analyses", tags=["analyses"])

NOT_FOUND = {404: {"model": ErrorOut, "description": "No analysis with this id."}}
NOT_READY = {409: {"model": ErrorOut, "description": "The report is not built (yet)."}}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AnalysisQueued,
    summary="Request a competitive analysis",
    dependencies=[BrokerReady],
    responses={
        404: {"model": ErrorOut, "description": "No monitor (of the user) watches the company."},
        422: {"model": ErrorOut, "description": "Empty, future or too long period; bad body."},
        503: {"model": ErrorOut, "description": "Redis (the broker) is unreachable."},
    },
)
def request_analysis(
    body: AnalysisRequestBody, session: SessionDep, request: Request
) -> AnalysisQueued:
    """Check the request now (unknown company: 404; empty or future period: 422), store it
    as queued and send run_analysis_task (normal queue, priority 5) with the analysis id as
    its task id."""
    from consultantos.jobs.celery_app import TASK_ROUTES
    from consultantos.jobs.tasks import run_analysis_task

    analysis_id = str(uuid.uuid4())
    record, parsed = create_analysis(
        session,
        request=body.model_dump(exclude={"user_id"}),
        user_id=body.user_id,
        analysis_id=analysis_id,
    )
    # Committed before the task is sent, so the worker always finds the record.
    session.commit()
    try:
        run_analysis_task.apply_async(
            args=[request_dict(parsed)], kwargs={"user_id": body.user_id}, task_id=analysis_id
        )
    except Exception as exc:
        record.status = AnalysisStatus.FAILED
        record.error = f"could not be queued: {type(exc).__name__}: {exc}"
        session.commit()
        raise
    return AnalysisQueued(
        analysis_id=analysis_id,
        task_id=analysis_id,
        queue=TASK_ROUTES[run_analysis_task.name]["queue"],
        status_url=request.app.url_path_for("get_analysis_status", analysis_id=analysis_id),
        report_url=request.app.url_path_for("get_analysis_report", analysis_id=analysis_id),
        report_html_url=request.app.url_path_for(
            "get_analysis_report_html", analysis_id=analysis_id
        ),
    )


@router.get(
    "/{analysis_id}",
    response_model=AnalysisOut,
    summary="Get an analysis's state",
    responses=NOT_FOUND,
)
def get_analysis_status(
    analysis_id: TaskId, session: SessionDep, celery_app: CeleryDep, request: Request
) -> AnalysisOut:
    """queued, running, done or failed. While not done, `task_state` is the task's Celery
    state; a task that failed for good (retries exhausted) shows as failed with its error."""
    record = get_analysis(session, analysis_id=analysis_id)
    state, error = None, record.error
    shown = AnalysisStatus(record.status)
    if shown in (AnalysisStatus.QUEUED, AnalysisStatus.RUNNING):
        meta = read_task_meta(celery_app, analysis_id)
        state = str(meta.get("status") or states.PENDING)
        if state == states.FAILURE:
            shown = AnalysisStatus.FAILED
            described = describe_error(meta.get("result"))
            error = f"{described[0]}: {described[1]}" if described else "the task failed"
    done = shown == AnalysisStatus.DONE
    return AnalysisOut(
        analysis_id=record.id,
        company=record.company,
        user_id=record.user_id,
        period_start=record.period_start,
        period_end=record.period_end,
        status=shown,
        task_state=state,
        error=error,
        requested_at=record.requested_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        report_url=_url(request, "get_analysis_report", record.id) if done else None,
        report_html_url=_url(request, "get_analysis_report_html", record.id) if done else None,
    )


def _url(request: Request, name: str, analysis_id: str) -> str:
    return str(request.app.url_path_for(name, analysis_id=analysis_id))


def _finished(session: SessionDep, analysis_id: str) -> AnalysisReport:
    record = get_analysis(session, analysis_id=analysis_id)
    if record.status != AnalysisStatus.DONE:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"analysis {analysis_id!r} has no report: it is {record.status}"
            + (f" ({record.error})" if record.error else ""),
        )
    return record


@router.get(
    "/{analysis_id}/report",
    summary="Get an analysis report as JSON",
    responses={**NOT_FOUND, **NOT_READY},
)
def get_analysis_report(analysis_id: TaskId, session: SessionDep) -> dict:
    """The report's data: summary, per-monitor changes and metric series, anomalies, alert
    counts and the industry comparison."""
    return dict(_finished(session, analysis_id).data or {})


@router.get(
    "/{analysis_id}/report.html",
    response_class=HTMLResponse,
    summary="Get an analysis report as an HTML page",
    responses={**NOT_FOUND, **NOT_READY},
)
def get_analysis_report_html(analysis_id: TaskId, session: SessionDep) -> HTMLResponse:
    """One self-contained page (inline CSS and SVG charts, no script) to open in a browser."""
    return HTMLResponse(_finished(session, analysis_id).html or "")

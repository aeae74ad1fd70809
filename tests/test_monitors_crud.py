"""Monitor definitions: validation and storage on every database backend."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from consultantos import db
from consultantos.db.models import MonitorStatus
from consultantos.errors import InvalidArguments, NotFound
from consultantos.monitoring.monitors import (
    create_monitor,
    get_monitor,
    list_monitors,
    set_monitor_status,
    update_monitor,
)
from consultantos.monitoring.schemas import MonitorCreate, MonitorUpdate


def spec(**overrides: object) -> MonitorCreate:
    fields: dict[str, object] = {
        "user_id": "user-1",
        "company": "Acme",
        "source_type": "html",
        "url": "http://127.0.0.1:9/pricing",
        "selector": ".price",
    }
    fields.update(overrides)
    return MonitorCreate.model_validate(fields)


def test_create_get_list_update_pause(database: str) -> None:
    with db.session_scope() as session:
        monitor = create_monitor(session=session, spec=spec())
        monitor_id = monitor.id
    assert monitor_id.startswith("mon_")
    with db.session_scope() as session:
        got = get_monitor(session=session, monitor_id=monitor_id)
        assert got.company == "Acme" and got.selector == ".price" and got.name == "Acme html"
        assert [m.id for m in list_monitors(session=session, company="Acme")] == [monitor_id]
        assert list_monitors(session=session, company="Other") == []
        update_monitor(
            session=session, monitor_id=monitor_id, changes=MonitorUpdate(change_threshold_pct=2)
        )
        set_monitor_status(session=session, monitor_id=monitor_id, status=MonitorStatus.PAUSED)
    with db.session_scope() as session:
        got = get_monitor(session=session, monitor_id=monitor_id)
        assert got.change_threshold_pct == 2 and got.status == MonitorStatus.PAUSED
        assert got.next_check_at.tzinfo is not None


def test_unknown_id_and_bad_changes_are_clear_errors(database: str) -> None:
    with db.session_scope() as session:
        with pytest.raises(NotFound, match="mon_missing"):
            get_monitor(session=session, monitor_id="mon_missing")
        monitor = create_monitor(session=session, spec=spec())
        with pytest.raises(InvalidArguments, match="CSS selector"):
            update_monitor(
                session=session, monitor_id=monitor.id, changes=MonitorUpdate(selector="a[[")
            )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"source_type": "pdf"}, "source_type"),
        ({"check_interval_seconds": 1}, "check_interval_seconds"),
        ({"source_type": "json", "selector": "$..[["}, "JSONPath"),
        ({"source_type": "feed", "selector": "item"}, "feeds take no selector"),
        ({"company": ""}, "company"),
    ],
)
def test_invalid_definitions_are_refused(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        spec(**overrides)

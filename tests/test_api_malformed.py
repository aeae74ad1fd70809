"""Garbage to every route: always a 4xx with a JSON `detail`, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
import redis
from fastapi.testclient import TestClient

from consultantos.api.app import create_app

JSON = {"Content-Type": "application/json"}
GOOD = {
    "user_id": "user-1",
    "company": "Acme",
    "source_type": "html",
    "url": "http://127.0.0.1:9/pricing",
}


class Case(NamedTuple):
    method: str
    path: str
    """`{monitor}` is replaced by the id of an existing monitor."""
    options: dict[str, Any] | None = None


def raw(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": JSON}


CASES: dict[str, Case] = {
    # POST /monitors
    "create: no body": Case("POST", "/monitors"),
    "create: malformed JSON": Case("POST", "/monitors", raw('{"user_id": "u",')),
    "create: JSON null": Case("POST", "/monitors", raw("null")),
    "create: a list": Case("POST", "/monitors", {"json": [GOOD]}),
    "create: not JSON at all": Case("POST", "/monitors", {"content": b"\xff\xfe\x00garbage"}),
    "create: wrong types": Case("POST", "/monitors", {"json": {**GOOD, "user_id": 7}}),
    "create: unknown field": Case("POST", "/monitors", {"json": {**GOOD, "owner": "x"}}),
    "create: bad enum": Case("POST", "/monitors", {"json": {**GOOD, "source_type": "pdf"}}),
    "create: bad url": Case("POST", "/monitors", {"json": {**GOOD, "url": "ftp://x"}}),
    "create: missing field": Case("POST", "/monitors", {"json": {"user_id": "u"}}),
    "create: NUL in text": Case("POST", "/monitors", {"json": {**GOOD, "company": "a\x00b"}}),
    "create: huge interval": Case(
        "POST", "/monitors", {"json": {**GOOD, "check_interval_seconds": 10**30}}
    ),
    "create: NaN threshold": Case("POST", "/monitors", raw('{"change_threshold_pct": NaN}')),
    "create: bad selector": Case("POST", "/monitors", {"json": {**GOOD, "selector": "a[["}}),
    "create: too long": Case("POST", "/monitors", {"json": {**GOOD, "company": "x" * 5000}}),
    # GET /monitors
    "list: huge limit": Case("GET", "/monitors", {"params": {"limit": 10**12}}),
    "list: zero limit": Case("GET", "/monitors", {"params": {"limit": 0}}),
    "list: negative offset": Case("GET", "/monitors", {"params": {"offset": -1}}),
    "list: limit not a number": Case("GET", "/monitors", {"params": {"limit": "lots"}}),
    "list: bad status": Case("GET", "/monitors", {"params": {"status": "sleeping"}}),
    "list: NUL filter": Case("GET", "/monitors", {"params": {"company": "a\x00"}}),
    # /monitors/{id}
    "get: unknown id": Case("GET", "/monitors/mon_missing"),
    "get: id with spaces": Case("GET", "/monitors/not%20an%20id"),
    "get: id too long": Case("GET", "/monitors/" + "m" * 65),
    "get: id with quotes": Case("GET", "/monitors/'%3B%20drop"),
    "patch: unknown id": Case("PATCH", "/monitors/mon_missing", {"json": {"name": "x"}}),
    "patch: no body": Case("PATCH", "/monitors/{monitor}"),
    "patch: malformed JSON": Case("PATCH", "/monitors/{monitor}", raw("{name: x}")),
    "patch: unknown field": Case("PATCH", "/monitors/{monitor}", {"json": {"owner": "x"}}),
    "patch: null status": Case("PATCH", "/monitors/{monitor}", {"json": {"status": None}}),
    "patch: bad enum": Case("PATCH", "/monitors/{monitor}", {"json": {"status": "asleep"}}),
    "patch: wrong type": Case(
        "PATCH", "/monitors/{monitor}", {"json": {"check_interval_seconds": "soon"}}
    ),
    "patch: bad selector": Case("PATCH", "/monitors/{monitor}", {"json": {"selector": "a[["}}),
    "patch: NUL in text": Case("PATCH", "/monitors/{monitor}", {"json": {"name": "\x00"}}),
    "pause: unknown id": Case("POST", "/monitors/mon_missing/pause"),
    "pause: bad id": Case("POST", "/monitors/bad%20id/pause"),
    "resume: unknown id": Case("POST", "/monitors/mon_missing/resume"),
    "snapshots: negative limit": Case("GET", "/monitors/{monitor}/snapshots?limit=-5"),
    "snapshots: bad flag": Case("GET", "/monitors/{monitor}/snapshots?include_content=maybe"),
    "snapshots: unknown id": Case("GET", "/monitors/mon_missing/snapshots"),
    "alerts: huge limit": Case("GET", "/monitors/{monitor}/alerts?limit=100000"),
    "alerts: unknown id": Case("GET", "/monitors/mon_missing/alerts"),
    # POST /monitors/{id}/check
    "check: no body": Case("POST", "/monitors/{monitor}/check"),
    "check: malformed JSON": Case("POST", "/monitors/{monitor}/check", raw('{"user_id"')),
    "check: empty user": Case("POST", "/monitors/{monitor}/check", {"json": {"user_id": ""}}),
    "check: wrong type": Case("POST", "/monitors/{monitor}/check", {"json": {"user_id": 1}}),
    "check: unknown field": Case(
        "POST", "/monitors/{monitor}/check", {"json": {"user_id": "user-1", "now": True}}
    ),
    "check: wrong user": Case("POST", "/monitors/{monitor}/check", {"json": {"user_id": "eve"}}),
    "check: unknown monitor": Case(
        "POST", "/monitors/mon_missing/check", {"json": {"user_id": "u"}}
    ),
    # /monitors/{id}/channels and /users/{id}/channels
    "channels: unknown monitor": Case("GET", "/monitors/mon_missing/channels"),
    "channels: bad monitor id": Case("GET", "/monitors/bad%20id/channels"),
    "set channels: no body": Case("PUT", "/monitors/{monitor}/channels"),
    "set channels: malformed JSON": Case("PUT", "/monitors/{monitor}/channels", raw("{chan")),
    "set channels: a bare list": Case("PUT", "/monitors/{monitor}/channels", {"json": []}),
    "set channels: bad email": Case(
        "PUT", "/monitors/{monitor}/channels", {"json": {"channels": [{"kind": "email"}]}}
    ),
    "set channels: bad url": Case(
        "PUT",
        "/monitors/{monitor}/channels",
        {"json": {"channels": [{"kind": "slack", "url": "javascript:alert(1)"}]}},
    ),
    "set channels: bad secret": Case(
        "PUT",
        "/monitors/{monitor}/channels",
        {"json": {"channels": [{"kind": "webhook", "url": "http://x/", "secret": "s"}]}},
    ),
    "set channels: unknown kind": Case(
        "PUT", "/monitors/{monitor}/channels", {"json": {"channels": [{"kind": "pager"}]}}
    ),
    "set channels: NUL": Case(
        "PUT",
        "/monitors/{monitor}/channels",
        {"json": {"channels": [{"kind": "email", "address": "a\x00@b.example"}]}},
    ),
    "set channels: too many": Case(
        "PUT",
        "/monitors/{monitor}/channels",
        {"json": {"channels": [{"kind": "email", "address": f"{n}@b.example"} for n in range(99)]}},
    ),
    "set channels: unknown monitor": Case(
        "PUT", "/monitors/mon_missing/channels", {"json": {"channels": []}}
    ),
    "user channels: NUL id": Case("GET", "/users/a%00b/channels"),
    "user channels: id too long": Case("GET", "/users/" + "u" * 200 + "/channels"),
    "set user channels: garbage": Case("PUT", "/users/user-1/channels", raw("[[[")),
    "set user channels: duplicate": Case(
        "PUT",
        "/users/user-1/channels",
        {"json": {"channels": [{"kind": "email", "address": "a@b.example"}] * 2}},
    ),
    # /alerts
    "alerts: zero limit": Case("GET", "/alerts", {"params": {"limit": 0}}),
    "alerts: bad since": Case("GET", "/alerts", {"params": {"since": "yesterday"}}),
    "alerts: naive since": Case("GET", "/alerts", {"params": {"since": "2025-01-01T00:00:00"}}),
    "alerts: bad status": Case("GET", "/alerts", {"params": {"status": "lost"}}),
    "alerts: bad monitor id": Case("GET", "/alerts", {"params": {"monitor_id": "a b"}}),
    "alerts: NUL company": Case("GET", "/alerts", {"params": {"company": "\x00"}}),
    "alert: unknown id": Case("GET", "/alerts/alr_missing"),
    "alert: bad id": Case("GET", "/alerts/bad%20id"),
    "resend: unknown alert": Case("POST", "/alerts/alr_missing/resend"),
    "resend: bad channel id": Case("POST", "/alerts/alr_missing/resend?channel_id=a%20b"),
    "resend: bad alert id": Case("POST", "/alerts/%27x/resend"),
    # /tasks
    "task: id with spaces": Case("GET", "/tasks/not%20an%20id"),
    "task: id too long": Case("GET", "/tasks/" + "t" * 200),
    "task: path traversal": Case("GET", "/tasks/..%2F..%2Fetc"),
    "revoke: bad id": Case("POST", "/tasks/bad%20id/revoke"),
    "revoke: bad flag": Case("POST", "/tasks/abc/revoke?terminate=perhaps"),
    "revoke: bad body type": Case("POST", "/tasks/abc/revoke", {"json": {"terminate": "yes!"}}),
    "revoke: malformed JSON": Case("POST", "/tasks/abc/revoke", raw("{terminate}")),
    "revoke: unknown field": Case("POST", "/tasks/abc/revoke", {"json": {"signal": "KILL"}}),
    "revoke: a list": Case("POST", "/tasks/abc/revoke", {"json": [True]}),
    # /dead-letter
    "dlq: unknown queue": Case("GET", "/dead-letter/nowhere"),
    "dlq: bad queue name": Case("GET", "/dead-letter/no%20such%20queue"),
    "dlq: zero limit": Case("GET", "/dead-letter/normal?limit=0"),
    "dlq: negative offset": Case("GET", "/dead-letter/normal?offset=-3"),
    "dlq: huge limit": Case("GET", "/dead-letter/normal?limit=99999999999999999999"),
    "dlq entry: unknown": Case("GET", "/dead-letter/normal/nope"),
    "dlq entry: bad id": Case("GET", "/dead-letter/normal/bad%20id"),
    "dlq requeue: unknown entry": Case("POST", "/dead-letter/normal/nope/requeue"),
    "dlq requeue: unknown queue": Case("POST", "/dead-letter/nowhere/requeue"),
    "dlq requeue: bad queue": Case("POST", "/dead-letter/bad%24queue/requeue"),
    "dlq purge: no confirm": Case("DELETE", "/dead-letter/normal"),
    "dlq purge: bad confirm": Case("DELETE", "/dead-letter/normal?confirm=perhaps"),
    "dlq purge: unknown queue": Case("DELETE", "/dead-letter/nowhere?confirm=true"),
    # /analyses
    "analysis: no body": Case("POST", "/analyses"),
    "analysis: malformed JSON": Case("POST", "/analyses", raw('{"company": "Acme",')),
    "analysis: a list": Case("POST", "/analyses", {"json": ["Acme"]}),
    "analysis: missing dates": Case("POST", "/analyses", {"json": {"company": "Acme"}}),
    "analysis: bad date": Case(
        "POST", "/analyses", {"json": {"company": "Acme", "start": "soon", "end": "later"}}
    ),
    "analysis: unknown field": Case(
        "POST",
        "/analyses",
        {"json": {"company": "Acme", "start": "2025-01-01", "end": "2025-01-02", "x": 1}},
    ),
    "analysis: NUL company": Case(
        "POST",
        "/analyses",
        {"json": {"company": "\x00", "start": "2025-01-01", "end": "2025-01-02"}},
    ),
    "analysis: unknown company": Case(
        "POST",
        "/analyses",
        {"json": {"company": "Nobody", "start": "2025-01-01", "end": "2025-01-02"}},
    ),
    "analysis: empty period": Case(
        "POST",
        "/analyses",
        {"json": {"company": "Acme", "start": "2025-01-02", "end": "2025-01-01"}},
    ),
    "analysis: future period": Case(
        "POST",
        "/analyses",
        {"json": {"company": "Acme", "start": "2025-01-01", "end": "2999-01-01"}},
    ),
    "analysis: unknown id": Case("GET", "/analyses/nope"),
    "analysis: bad id": Case("GET", "/analyses/bad%20id"),
    "report: unknown id": Case("GET", "/analyses/nope/report"),
    "report: id too long": Case("GET", "/analyses/" + "a" * 200 + "/report"),
    "report html: unknown id": Case("GET", "/analyses/nope/report.html"),
    "report html: bad id": Case("GET", "/analyses/'%3B/report.html"),
    # no such route or method
    "unknown route": Case("GET", "/nothing/here"),
    "wrong method": Case("DELETE", "/monitors"),
}


@pytest.fixture
def client(database: str, redis_client: redis.Redis) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_garbage_gets_a_4xx_with_a_detail(client: TestClient, case: Case) -> None:
    created = client.post("/monitors", json=GOOD)
    assert created.status_code == 201, created.text
    path = case.path.replace("{monitor}", created.json()["id"])
    response = client.request(case.method, path, **(case.options or {}))
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    detail = response.json()["detail"]
    assert detail and isinstance(detail, str | list)


def test_every_route_is_covered() -> None:
    """A new route must get its garbage cases here."""
    app = create_app()
    covered = {(case.method, _template(case.path)) for case in CASES.values()}
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith(("/docs", "/redoc", "/openapi")) or path == "/health":
            continue
        for method in getattr(route, "methods", set()) - {"HEAD"}:
            assert (method, path) in covered or _covered_loosely(method, path, covered), (
                method,
                path,
            )


def _template(path: str) -> str:
    return path.split("?", 1)[0]


def _covered_loosely(method: str, template: str, covered: set[tuple[str, str]]) -> bool:
    """Does some case hit `template` (e.g. /monitors/{monitor_id}) with concrete values?"""
    parts = template.split("/")
    for case_method, path in covered:
        values = path.split("/")
        if (
            case_method == method
            and len(values) == len(parts)
            and all(p.startswith("{") or p == v for p, v in zip(parts, values, strict=True))
        ):
            return True
    return False

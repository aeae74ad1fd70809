"""Each channel against a real peer: HTTP receivers that verify signatures and answer 500, 429,
410 or nothing in time, and an aiosmtpd server (plain, STARTTLS with login, SSL) that parses
the mail. No database: the senders get an `Outgoing` and settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from consultantos.alerts.channels import SENDERS, slack
from consultantos.alerts.content import AlertFacts, Outgoing
from consultantos.config import Settings
from consultantos.db.models import AlertKind, ChannelKind
from consultantos.errors import (
    DeliveryMisconfigured,
    InvalidArguments,
    SourceRejected,
    SourceUnavailable,
)
from tests.helpers.alert_data import SECRET
from tests.helpers.http_server import LocalServer, Reply, free_port
from tests.helpers.receivers import posts, webhook_deliveries
from tests.helpers.smtp_server import SmtpServer

WHEN = datetime(2025, 3, 1, 12, 5, tzinfo=UTC)
PRICE = AlertFacts(
    id="alr_price",
    kind=AlertKind.CONTENT_CHANGED,
    title="Acme pricing page changed",
    created_at=WHEN,
    link="http://api.example/alerts/alr_price",
    details={"diff": "-$99.00 <b>\n+$129.00", "lines_added": 1, "lines_removed": 1},
)
METRIC = AlertFacts(
    id="alr_metric",
    kind=AlertKind.METRIC_CHANGED,
    title="Acme pricing page: price rose 30.3%",
    created_at=WHEN,
    link="http://api.example/alerts/alr_metric",
    details={"metric": "price", "old": 99.0, "new": 129.0, "pct": 30.3, "threshold_pct": 5.0},
)


def outgoing(kind: ChannelKind, target: str, *alerts: AlertFacts, secret: str | None = None):
    return Outgoing(
        message_id="msg_0123456789ab",
        channel_kind=kind,
        target=target,
        secret=secret,
        monitor_id="mon_1",
        monitor_name="pricing page",
        company="Acme",
        source_url="https://acme.example/pricing",
        alerts=alerts or (PRICE,),
    )


def settings(**fields: Any) -> Settings:
    return Settings(alert_send_timeout=1.0, **fields)


@pytest.fixture
def receiver() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


def test_webhook_is_signed_the_standard_way(receiver: LocalServer) -> None:
    receiver.route("/hook", Reply(status=204, content_type=None))
    message = outgoing(ChannelKind.WEBHOOK, receiver.url("/hook"), PRICE, METRIC, secret=SECRET)
    receipt = SENDERS[ChannelKind.WEBHOOK](message, settings())
    assert receipt.status_code == 204
    [delivery] = webhook_deliveries(receiver, "/hook", SECRET)  # verified by standardwebhooks
    assert delivery.webhook_id == "msg_0123456789ab"
    body = delivery.payload
    assert body["type"] == "alert" and datetime.fromisoformat(body["timestamp"])
    assert body["data"]["monitor"] == {
        "id": "mon_1", "name": "pricing page", "company": "Acme",
        "url": "https://acme.example/pricing",
    }  # fmt: skip
    first, second = body["data"]["alerts"]
    assert first["id"] == "alr_price" and first["excerpt"].startswith("-$99.00")
    assert first["url"] == "http://api.example/alerts/alr_price"
    assert second["summary"] == "price: 99.0 → 129.0 (+30.3%, threshold 5.0%)"
    # A receiver with another secret refuses it.
    other = "whsec_" + "A" * 32
    with pytest.raises(Exception, match="signature"):
        Webhook(other).verify(receiver.requests[0].body, receiver.requests[0].headers)


def test_slack_gets_block_kit_with_the_facts(receiver: LocalServer) -> None:
    receiver.route("/slack", Reply(body="ok", content_type="text/plain"))
    message = outgoing(ChannelKind.SLACK, receiver.url("/slack"), PRICE, METRIC)
    assert SENDERS[ChannelKind.SLACK](message, settings()).excerpt == "ok"
    [payload] = posts(receiver, "/slack")
    assert payload["text"] == "Acme pricing page: 2 content changes"
    text = json.dumps(payload["blocks"])
    assert payload["blocks"][0]["type"] == "header"
    assert "*Company*\\nAcme" in text and "https://acme.example/pricing" in text
    assert "```-$99.00 &lt;b&gt;\\n+$129.00```" in text  # the diff, escaped for mrkdwn
    assert "<http://api.example/alerts/alr_price|Acme pricing page changed>" in text
    assert "2025-03-01 12:05 UTC" in text


def test_slack_caps_long_groups() -> None:
    many = tuple(PRICE for _ in range(25))
    payload = slack.blocks(outgoing(ChannelKind.SLACK, "http://x/", *many))
    assert len(payload["blocks"]) <= 50
    assert payload["blocks"][-1]["elements"][0]["text"] == "… and 15 more"


@pytest.mark.parametrize(
    ("reply", "error", "fields"),
    [
        (Reply(status=500, body="boom"), SourceUnavailable, {"status_code": 500}),
        (
            Reply(status=429, headers={"Retry-After": "7"}),
            SourceUnavailable,
            {"status_code": 429, "retry_after": 7.0},
        ),
        (
            Reply(status=410, body="<h1>Gone</h1> this hook was deleted"),
            SourceRejected,
            {"status_code": 410, "excerpt": "Gone this hook was deleted"},
        ),
        (Reply(status=404, body="no_service"), SourceRejected, {"status_code": 404}),
        (Reply(status=301, headers={"Location": "http://elsewhere/"}), SourceRejected, {}),
        (Reply(body="late", delay=3), SourceUnavailable, {"status_code": None}),
    ],
    ids=["500", "429", "410", "404", "redirect", "timeout"],
)
def test_http_answers_map_to_retry_or_dead_letter(
    receiver: LocalServer, reply: Reply, error: type[Exception], fields: dict[str, Any]
) -> None:
    receiver.route("/hook", reply)
    message = outgoing(ChannelKind.WEBHOOK, receiver.url("/hook"), secret=SECRET)
    with pytest.raises(error) as raised:
        SENDERS[ChannelKind.WEBHOOK](message, settings())
    for name, value in fields.items():
        assert getattr(raised.value, name) == value


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (f"http://127.0.0.1:{free_port()}/hook", SourceUnavailable),
        ("ftp://127.0.0.1/hook", InvalidArguments),
        ("http://[nonsense/hook", InvalidArguments),
    ],
    ids=["refused", "not-http", "malformed"],
)
def test_unusable_urls(url: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        SENDERS[ChannelKind.SLACK](outgoing(ChannelKind.SLACK, url), settings())


def send_mail(smtp: SmtpServer, to: str = "analyst@acme.example", **fields: Any) -> None:
    env = {k.lower(): v for k, v in smtp.env().items()}
    env.update(fields)
    SENDERS[ChannelKind.EMAIL](outgoing(ChannelKind.EMAIL, to, PRICE, METRIC), settings(**env))


def test_email_is_multipart_with_the_facts_and_a_link() -> None:
    with SmtpServer() as smtp:
        send_mail(smtp)
    [mail] = smtp.messages
    assert smtp.envelopes == [("alerts@consultantos.example", ["analyst@acme.example"])]
    assert mail["Subject"] == "[ConsultantOS] Acme pricing page: 2 content changes"
    assert mail["To"] == "analyst@acme.example"
    assert mail["Message-ID"] == "<msg_0123456789ab@consultantos.example>"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for part in (text, html):
        assert "Acme" in part and "pricing page" in part
        assert "http://api.example/alerts/alr_price" in part
        assert "2025-03-01 12:05 UTC" in part
        assert "price: 99.0 → 129.0" in part
    assert "-$99.00 <b>" in text and "-$99.00 &lt;b&gt;" in html  # escaped in HTML


def test_email_over_starttls_with_login_and_over_ssl() -> None:
    with SmtpServer(tls="starttls", login=("alerts", "s3cret")) as smtp:
        send_mail(smtp)
        assert len(smtp.messages) == 1
        with pytest.raises(SourceRejected) as refused:
            send_mail(smtp, smtp_password="wrong")
        assert refused.value.status_code == 535
    with SmtpServer(tls="ssl") as smtp:
        send_mail(smtp)
        assert len(smtp.messages) == 1


def test_email_tls_mismatches_are_misconfigurations() -> None:
    with SmtpServer() as plain, pytest.raises(DeliveryMisconfigured, match="SMTP_SECURITY"):
        send_mail(plain, smtp_security="starttls")
    with SmtpServer(tls="ssl") as smtp, pytest.raises(DeliveryMisconfigured, match="TLS"):
        send_mail(smtp, smtp_ca_file=None)  # a certificate the system does not trust


def test_email_refusals_and_outages() -> None:
    with SmtpServer() as smtp:
        smtp.answers = ["451 4.3.0 try again later", "550 5.1.1 mailbox unavailable"]
        with pytest.raises(SourceUnavailable) as later:
            send_mail(smtp)
        assert later.value.status_code == 451
        with pytest.raises(SourceRejected) as never:
            send_mail(smtp)
        assert never.value.status_code == 550 and "mailbox unavailable" in never.value.excerpt
        with pytest.raises(InvalidArguments):
            send_mail(smtp, to="not an address")
        assert smtp.messages == []
    with pytest.raises(SourceUnavailable):
        send_mail(smtp)  # the server is gone: connection refused

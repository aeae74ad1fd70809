"""Slack: a Block Kit message to an incoming-webhook URL (Slack answers 200 `ok`)."""

from __future__ import annotations

import json
from typing import Any

from consultantos.alerts.channels.http import post_json
from consultantos.alerts.channels.receipt import Receipt
from consultantos.alerts.content import AlertFacts, Outgoing, when
from consultantos.config import Settings

USER_AGENT = "ConsultantOS-Alerts/0.1"
HEADER_MAX_CHARS = 150
TEXT_MAX_CHARS = 2900
"""Slack refuses section texts over 3000 characters."""
ALERTS_SHOWN = 10
"""Blocks per alert are 3: ten alerts stay well under Slack's 50 blocks."""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    """Slack's mrkdwn needs only these three escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _alert_blocks(alert: AlertFacts) -> list[dict[str, Any]]:
    text = f"*<{alert.link}|{_escape(alert.title)}>*\n{_escape(alert.summary)}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, TEXT_MAX_CHARS)}}
    ]
    if alert.excerpt:
        code = _cut(_escape(alert.excerpt), TEXT_MAX_CHARS - 8)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{code}```"}})
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{alert.kind} · {when(alert.created_at)}"}],
        }
    )
    return blocks


def blocks(message: Outgoing) -> dict[str, Any]:
    """The whole Slack payload: `text` (notifications, fallback) and `blocks`."""
    body: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(message.headline, HEADER_MAX_CHARS)},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Company*\n{_escape(message.company)}"},
                {
                    "type": "mrkdwn",
                    "text": f"*Monitor*\n<{message.source_url}|{_escape(message.monitor_name)}>",
                },
            ],
        },
    ]
    for alert in message.alerts[:ALERTS_SHOWN]:
        body.append({"type": "divider"})
        body.extend(_alert_blocks(alert))
    if len(message.alerts) > ALERTS_SHOWN:
        more = len(message.alerts) - ALERTS_SHOWN
        body.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"… and {more} more"}]}
        )
    return {"text": _cut(message.headline, TEXT_MAX_CHARS), "blocks": body}


def send(message: Outgoing, settings: Settings) -> Receipt:
    """POST the Block Kit payload to the incoming-webhook URL."""
    body = json.dumps(blocks(message), separators=(",", ":")).encode("utf-8")
    return post_json(message.target, body, headers={}, settings=settings, user_agent=USER_AGENT)

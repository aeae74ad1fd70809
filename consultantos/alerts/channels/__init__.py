"""Senders, one per channel kind: each lays out an `Outgoing` message and sends it once.

A sender returns a `Receipt` or raises: SourceUnavailable (timeouts, refused connections, 5xx,
429, SMTP 4xx: retried), SourceRejected (other 4xx, SMTP 5xx), InvalidArguments (a malformed
address or URL) or DeliveryMisconfigured (our SMTP settings do not fit the server).
"""

from __future__ import annotations

from collections.abc import Callable

from consultantos.alerts.channels import email, slack, webhook
from consultantos.alerts.channels.receipt import Receipt
from consultantos.alerts.content import Outgoing
from consultantos.config import Settings
from consultantos.db.models import ChannelKind

Sender = Callable[[Outgoing, Settings], Receipt]

SENDERS: dict[ChannelKind, Sender] = {
    ChannelKind.EMAIL: email.send,
    ChannelKind.SLACK: slack.send,
    ChannelKind.WEBHOOK: webhook.send,
}

__all__ = ["SENDERS", "Receipt", "Sender"]

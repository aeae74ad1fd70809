"""What one message says, whatever the channel: the monitor, and each alert it carries with
what changed (a diff excerpt, new feed items, a metric's movement, an outage's error), when,
and a link to the alert in the API. Channels only lay these facts out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consultantos.db.models import AlertKind, ChannelKind

_PLURAL = {
    AlertKind.CONTENT_CHANGED: "content changes",
    AlertKind.METRIC_CHANGED: "metric changes",
    AlertKind.SOURCE_DOWN: "outages",
    AlertKind.SOURCE_UP: "recoveries",
    AlertKind.ANOMALY: "anomalies",
}
NEW_ITEMS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """One alert as a message shows it."""

    id: str
    kind: AlertKind
    title: str
    created_at: datetime
    link: str
    details: dict[str, Any]

    @property
    def summary(self) -> str:
        """One line saying what changed, beyond the title."""
        d = self.details
        if self.kind is AlertKind.CONTENT_CHANGED:
            lines = f"{d.get('lines_added', 0)} lines added, {d.get('lines_removed', 0)} removed"
            items = d.get("new_item_count")
            return f"{items} new items; {lines}" if items else lines
        if self.kind is AlertKind.METRIC_CHANGED and "metric" in d:
            pct = d.get("pct")
            moved = "" if pct is None else f" ({pct:+.1f}%, threshold {d.get('threshold_pct')}%)"
            return f"{d['metric']}: {d.get('old')} → {d.get('new')}{moved}"
        if self.kind is AlertKind.SOURCE_DOWN:
            status = f"HTTP {d['http_status']}: " if d.get("http_status") else ""
            return f"{status}{d.get('error') or 'no usable answer'}"
        if self.kind is AlertKind.SOURCE_UP:
            return (
                f"answering again (HTTP {d.get('http_status')}); it was: {d.get('previous_error')}"
            )
        return self.title

    @property
    def excerpt(self) -> str | None:
        """The diff excerpt, or the new feed items, when the alert has them."""
        items = self.details.get("new_items")
        if items:
            shown = [f"+ {item}" for item in items[:NEW_ITEMS_SHOWN]]
            if len(items) > NEW_ITEMS_SHOWN:
                shown.append(f"… {len(items) - NEW_ITEMS_SHOWN} more")
            return "\n".join(shown)
        diff = self.details.get("diff")
        return diff if isinstance(diff, str) and diff else None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to one channel, ready to be laid out and sent."""

    message_id: str
    channel_kind: ChannelKind
    target: str
    secret: str | None
    monitor_id: str
    monitor_name: str
    company: str
    source_url: str
    alerts: tuple[AlertFacts, ...]

    @property
    def label(self) -> str:
        """'Acme pricing page' (the name, prefixed by the company unless it starts with it)."""
        if self.monitor_name.lower().startswith(self.company.lower()):
            return self.monitor_name
        return f"{self.company} {self.monitor_name}"

    @property
    def headline(self) -> str:
        """The title of a lone alert, or '<label>: 3 content changes' for a group."""
        if len(self.alerts) == 1:
            return self.alerts[0].title
        kind = self.alerts[0].kind
        return f"{self.label}: {len(self.alerts)} {_PLURAL.get(kind, 'alerts')}"


def alert_link(base_url: str, alert_id: str) -> str:
    """Where the API shows the alert."""
    return f"{base_url.rstrip('/')}/alerts/{alert_id}"


def when(moment: datetime) -> str:
    """'2025-03-01 14:05 UTC'."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")

"""Compare a new observation of a source with the stored ones: what changed, worth an alert.

Pure functions over plain values, so every rule is testable without a database. Two stored
snapshots matter: the *previous* one (the latest, which decides whether the source went down or
came back) and the *baseline* (the latest successful one, which content and metrics are compared
against, so a change that happened during an outage is still reported when the source is back).

Dedupe keys name the baseline (or previous) snapshot id: two checks racing against the same
stored state make the same key, so only one alert exists; the same-looking transition later
(A -> B, back to A, A -> B again) starts from another snapshot and gets a new key.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from consultantos.db.models import AlertKind, Snapshot, SourceType

IGNORED_METRICS = frozenset({"http_status", "response_time_ms", "element_count", "item_count"})
"""Never compared against the threshold: the fetch's own figures, and counts of elements or
entries, which cannot move without the content changing (that alert already says it)."""
DIFF_MAX_LINES = 60
DIFF_MAX_CHARS = 4000
DIFF_LINE_MAX_CHARS = 400
NEW_ITEMS_MAX = 20
TITLE_MAX_CHARS = 500
DEDUPE_KEY_MAX_CHARS = 200


@dataclass(frozen=True, slots=True)
class Subject:
    """The monitor an alert is about, as alert titles and details name it."""

    monitor_id: str
    company: str
    name: str
    url: str
    source_type: SourceType
    change_threshold_pct: float

    @property
    def label(self) -> str:
        """'Acme pricing page' for a monitor named 'pricing page' (or 'Acme pricing page')."""
        if self.name.lower().startswith(self.company.lower()):
            return self.name
        return f"{self.company} {self.name}"

    def details(self) -> dict[str, Any]:
        return {
            "monitor_id": self.monitor_id,
            "company": self.company,
            "monitor": self.name,
            "url": self.url,
        }


@dataclass(frozen=True, slots=True)
class Observation:
    """One look at a source: a stored snapshot, or what the running check just saw."""

    ok: bool
    snapshot_id: int | None = None
    """Id of the stored snapshot; None for the observation not stored yet."""
    content_hash: str | None = None
    content_text: str | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    http_status: int | None = None

    @classmethod
    def of_snapshot(cls, snapshot: Snapshot) -> Observation:
        return cls(
            ok=snapshot.ok,
            snapshot_id=snapshot.id,
            content_hash=snapshot.content_hash,
            content_text=snapshot.content_text,
            metrics=dict(snapshot.metrics or {}),
            error=snapshot.error,
            http_status=snapshot.http_status,
        )


@dataclass(frozen=True, slots=True)
class Change:
    """One alert-worthy difference, ready to be stored as an Alert."""

    kind: AlertKind
    dedupe_key: str
    title: str
    details: dict[str, Any]


def normalize_lines(text: str | None) -> list[str]:
    """Lines with whitespace runs collapsed, stripped, empty ones dropped (order kept)."""
    if not text:
        return []
    return [line for line in (" ".join(raw.split()) for raw in text.splitlines()) if line]


def content_hash(text: str | None) -> str:
    """sha256 of the normalized lines in sorted order: reordering or re-spacing keeps it."""
    canonical = "\n".join(sorted(normalize_lines(text)))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def compare(
    *,
    subject: Subject,
    current: Observation,
    previous: Observation | None,
    baseline: Observation | None,
) -> list[Change]:
    """The changes from the stored state to `current`: availability, content, then metrics."""
    changes: list[Change] = []
    availability = availability_change(subject=subject, current=current, previous=previous)
    if availability is not None:
        changes.append(availability)
    if current.ok and baseline is not None and baseline.ok:
        content = content_change(subject=subject, current=current, baseline=baseline)
        if content is not None:
            changes.append(content)
            # Metrics come from the content: with the same lines in another order, values
            # keyed by position ("value[0]") swap places, and that is no change either.
            changes.extend(metric_changes(subject=subject, current=current, baseline=baseline))
    return changes


def availability_change(
    *, subject: Subject, current: Observation, previous: Observation | None
) -> Change | None:
    """source_down when a check fails after success (or first), source_up when it recovers."""
    since = previous.snapshot_id if previous is not None else None
    if not current.ok and (previous is None or previous.ok):
        status = f" (HTTP {current.http_status})" if current.http_status else ""
        return Change(
            kind=AlertKind.SOURCE_DOWN,
            dedupe_key=_key("down", "first" if since is None else since),
            title=_title(f"{subject.label} is down{status}"),
            details={
                **subject.details(),
                "error": current.error,
                "http_status": current.http_status,
                "previous_snapshot_id": since,
            },
        )
    if current.ok and previous is not None and not previous.ok:
        return Change(
            kind=AlertKind.SOURCE_UP,
            dedupe_key=_key("up", since),
            title=_title(f"{subject.label} is back up"),
            details={
                **subject.details(),
                "previous_error": previous.error,
                "http_status": current.http_status,
                "previous_snapshot_id": since,
            },
        )
    return None


def content_change(
    *, subject: Subject, current: Observation, baseline: Observation
) -> Change | None:
    """content_changed with a diff excerpt (and new feed items) when the content hash moved."""
    if baseline.content_hash is None or current.content_hash == baseline.content_hash:
        return None
    old, new = normalize_lines(baseline.content_text), normalize_lines(current.content_text)
    added = list((Counter(new) - Counter(old)).elements())
    removed = list((Counter(old) - Counter(new)).elements())
    details: dict[str, Any] = {
        **subject.details(),
        "diff": diff_excerpt(old, new),
        "lines_added": len(added),
        "lines_removed": len(removed),
        "previous_snapshot_id": baseline.snapshot_id,
    }
    title = f"{subject.label} changed"
    if subject.source_type is SourceType.FEED:
        # a feed's lines are its entries: the added lines are the new items
        details["new_items"] = added[:NEW_ITEMS_MAX]
        details["new_item_count"] = len(added)
        if added:
            title = f"{subject.label}: {len(added)} new item{'s' if len(added) != 1 else ''}"
    return Change(
        kind=AlertKind.CONTENT_CHANGED,
        dedupe_key=_key("content", baseline.snapshot_id, current.content_hash),
        title=_title(title),
        details=details,
    )


def metric_changes(
    *, subject: Subject, current: Observation, baseline: Observation
) -> list[Change]:
    """metric_changed for each metric that moved by more than the monitor's threshold."""
    changes: list[Change] = []
    for name in sorted(current.metrics):
        if name in IGNORED_METRICS or name not in baseline.metrics:
            continue
        old, new = _number(baseline.metrics[name]), _number(current.metrics[name])
        if old is None or new is None or old == new:
            continue
        pct = None if old == 0 else (new - old) / abs(old) * 100
        if pct is not None and abs(pct) <= subject.change_threshold_pct:
            continue
        verb = "rose" if new > old else "fell"
        movement = (
            f"{verb} from {_fmt(old)} to {_fmt(new)}"
            if pct is None
            else f"{verb} {abs(pct):.1f}% ({_fmt(old)} → {_fmt(new)})"
        )
        changes.append(
            Change(
                kind=AlertKind.METRIC_CHANGED,
                dedupe_key=_key("metric", name, baseline.snapshot_id, repr(new)),
                title=_title(f"{subject.label}: {name} {movement}"),
                details={
                    **subject.details(),
                    "metric": name,
                    "old": old,
                    "new": new,
                    "pct": None if pct is None else round(pct, 4),
                    "threshold_pct": subject.change_threshold_pct,
                    "previous_snapshot_id": baseline.snapshot_id,
                },
            )
        )
    return changes


def diff_excerpt(old: list[str], new: list[str]) -> str:
    """A unified diff of normalized lines, cut to DIFF_MAX_LINES / DIFF_MAX_CHARS."""
    diff = list(difflib.unified_diff(old, new, lineterm="", n=1))[2:]  # drop ---/+++ headers
    kept: list[str] = []
    size = 0
    for line in diff:
        if len(line) > DIFF_LINE_MAX_CHARS:
            line = line[: DIFF_LINE_MAX_CHARS - 1] + "…"
        if len(kept) >= DIFF_MAX_LINES or size + len(line) + 1 > DIFF_MAX_CHARS:
            break
        kept.append(line)
        size += len(line) + 1
    if len(kept) < len(diff):
        more = len(diff) - len(kept)
        kept.append(f"… {more} more line{'s' if more != 1 else ''}")
    return "\n".join(kept)


def _key(kind: str, *parts: object) -> str:
    """kind:part:part…, hashed at the end when a long metric name would overflow the column."""
    key = ":".join([kind, *(str(part) for part in parts)])
    if len(key) <= DEDUPE_KEY_MAX_CHARS:
        return key
    return f"{key[:130]}#{hashlib.sha256(key.encode('utf-8')).hexdigest()}"


def _title(text: str) -> str:
    return text if len(text) <= TITLE_MAX_CHARS else text[: TITLE_MAX_CHARS - 1] + "…"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fmt(value: float) -> str:
    """99.00, 1,299.00, 0.0042: two decimals unless that would hide the number."""
    if value == 0 or abs(value) >= 0.01:
        return f"{value:,.2f}"
    return f"{value:.3g}"

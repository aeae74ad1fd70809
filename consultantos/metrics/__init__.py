"""Prometheus metrics of the guide, made from Celery events and Redis.

    metrics.py     TaskMetrics: counters, histogram and gauges fed by `on_event(event)`
    collectors.py  DeadLetterCollector: dead-letter queue sizes read from Redis at scrape time
    exporter.py    the event receiver thread and the HTTP server (/metrics, /health)

`consultantos metrics` runs the exporter; a worker needs nothing extra (task events are on).
"""

from __future__ import annotations

from consultantos.metrics.collectors import DeadLetterCollector
from consultantos.metrics.metrics import TaskMetrics

__all__ = ["DeadLetterCollector", "TaskMetrics"]

"""celery_dead_letter_queue_size, read from Redis when Prometheus scrapes (never stale)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

SizesReader = Callable[[], dict[str, int]]


def dead_letter_sizes() -> dict[str, int]:
    """{"critical.dead": n, ...} from the configured Redis (the guide's get_dlq_monitor())."""
    from consultantos.jobs.task_monitor import get_dlq_monitor

    return get_dlq_monitor().get_all_dead_letter_queues()


class DeadLetterCollector(Collector):
    """Reads the dead-letter sizes at each scrape and remembers whether that worked, so
    /health can fail when scrapes fail (not only when the broker is down)."""

    def __init__(self, sizes: SizesReader = dead_letter_sizes) -> None:
        self.sizes = sizes
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def read(self) -> dict[str, int] | None:
        """The sizes, or None (logged and remembered) when Redis cannot be read."""
        try:
            sizes = self.sizes()
        except Exception as exc:
            log.warning("metrics: cannot read dead-letter queue sizes: %s", exc)
            with self._lock:
                self.last_error = str(exc) or type(exc).__name__
            return None
        with self._lock:
            self.last_error = None
        return sizes

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "celery_dead_letter_queue_size",
            "Entries in each dead-letter queue (<queue>.dead), read at scrape time.",
            labels=["queue_name"],
        )
        # A failed read yields no samples rather than zeros: "0" would resolve the alert.
        for name, size in sorted((self.read() or {}).items()):
            family.add_metric([name], size)
        yield family

    def describe(self) -> Iterator[Metric]:
        """Describe without touching Redis, so registering never needs a connection."""
        yield GaugeMetricFamily(
            "celery_dead_letter_queue_size", "Entries in each dead-letter queue.", labels=[]
        )

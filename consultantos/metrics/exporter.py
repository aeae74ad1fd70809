"""The exporter process: Celery events -> TaskMetrics, plus an HTTP server for Prometheus.

EventReceiver   a thread consuming the event stream from the broker, reconnecting with
                backoff when Redis drops
Exporter        both together: /metrics (our own registry) and /health
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery import Celery
from prometheus_client import make_wsgi_app

from consultantos.metrics.collectors import DeadLetterCollector, SizesReader, dead_letter_sizes
from consultantos.metrics.metrics import TaskMetrics

log = logging.getLogger(__name__)

RECONNECT_MAX_DELAY = 30.0
StartResponse = Callable[..., Any]


class EventReceiver(threading.Thread):
    """Feeds every Celery event to `handler`; survives broker outages by reconnecting."""

    def __init__(self, app: Celery, handler: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(name="celery-events", daemon=True)
        self.app = app
        self.handler = handler
        self.connected = threading.Event()
        self._stop_requested = threading.Event()
        self._receiver: Any = None

    def run(self) -> None:
        delay = 1.0
        while not self._stop_requested.is_set():
            try:
                with self.app.connection_for_read() as conn:
                    # Fail fast to our own loop, which a stop interrupts, rather than retry for
                    # ever inside kombu (here and when the consumer reconnects).
                    conn.ensure_connection(max_retries=0)
                    self._receiver = self.app.events.Receiver(conn, handlers={"*": self.handler})
                    self._receiver.on_consume_ready = self._on_ready(self._receiver)
                    self._receiver.connect_max_retries = 0
                    # wakeup=False: no broadcast to workers; they send events anyway.
                    self._receiver.capture(limit=None, timeout=None, wakeup=False)
            except Exception as exc:
                self.connected.clear()
                if self._stop_requested.is_set():
                    break
                log.warning("metrics: event stream lost (%s); reconnecting in %gs", exc, delay)
                self._stop_requested.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY)
            else:
                delay = 1.0
        self.connected.clear()

    def _on_ready(self, receiver: Any) -> Callable[..., None]:
        original = receiver.on_consume_ready

        def ready(*args: Any, **kwargs: Any) -> None:
            original(*args, **kwargs)
            self.connected.set()

        return ready

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the consumer loop to stop (it checks once a second) and wait for it."""
        self._stop_requested.set()
        if self._receiver is not None:
            self._receiver.should_stop = True
        if self.is_alive():
            self.join(timeout)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A slow Redis read during one scrape must not block /health."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics http: " + format, *args)


class Exporter:
    """The metrics, the event receiver and the HTTP server of one exporter process."""

    def __init__(self, app: Celery, *, sizes: SizesReader = dead_letter_sizes) -> None:
        self.metrics = TaskMetrics()
        self.dead_letters = DeadLetterCollector(sizes)
        self.metrics.registry.register(self.dead_letters)
        self.receiver = EventReceiver(app, self.metrics.on_event)
        self._metrics_app = make_wsgi_app(self.metrics.registry)
        self._server: WSGIServer | None = None
        self._serving: threading.Thread | None = None

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy when the dead-letter sizes can be read and the event stream is consumed."""
        self.dead_letters.read()
        problems = []
        if self.dead_letters.last_error:
            problems.append(f"redis: {self.dead_letters.last_error}")
        if not self.receiver.connected.is_set():
            problems.append("events: not connected to the broker")
        return not problems, {"status": "ok" if not problems else "error", "problems": problems}

    def wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """/metrics (Prometheus text format) and /health (JSON, 200 or 503)."""
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self._metrics_app(environ, start_response)
        if path == "/health":
            ok, body = self.health()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "application/json")],
            )
            return [json.dumps(body).encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics or /health\n"]

    def start(self, host: str, port: int) -> int:
        """Start the receiver and the HTTP server in threads; the port actually bound."""
        self.receiver.start()
        self._server = make_server(
            host, port, self.wsgi, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self._serving = threading.Thread(
            target=self._server.serve_forever, name="metrics-http", daemon=True
        )
        self._serving.start()
        return int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop serving and consuming (each within a few seconds)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._serving is not None:
            self._serving.join(5)
        self.receiver.stop()

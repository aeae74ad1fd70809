"""Everything Celery: the app, the thin tasks, retries, dead-letter queues and monitoring."""

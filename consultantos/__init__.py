"""ConsultantOS Jobs: monitor checks, alert delivery, reports and maintenance on Celery."""

__version__ = "0.1.0"

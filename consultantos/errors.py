"""The one error tree of ConsultantOS Jobs.

    ConsultantOSError
    ├── TransientError            retried with backoff; dead-lettered when retries run out
    │   ├── SourceUnavailable     a source timed out, refused, or answered 5xx / 429
    │   └── DependencyUnavailable our own database or Redis could not be reached
    └── PermanentError            never retried: dead-lettered at once with the reason
        ├── InvalidArguments      a task or request got arguments it cannot use
        ├── NotFound              an id that does not exist (monitor, alert, task...)
        ├── SourceRejected        a source answered 4xx (other than 429)
        ├── SourceContentError    the answer cannot be used: not HTML/JSON/feed, over the size
        │                         cap, a selector or JSON path that matches nothing
        ├── DeliveryMisconfigured our delivery settings do not work with the peer (SMTP TLS)
        └── PoisonMessage         a task whose worker died under it too many times

Domain code raises these; library errors are wrapped at the boundary with `raise ... from exc`.
Only `consultantos.jobs` decides about retries and only `consultantos.api` maps errors to HTTP.
"""

from __future__ import annotations


class ConsultantOSError(Exception):
    """Base of every error this project raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle with attributes and without calling __init__: Celery pickles exceptions to
        hand them between processes, and falls back to a base class when that fails."""
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[ConsultantOSError], args: tuple[object, ...], state: dict) -> Exception:
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(state)
    return exc


class TransientError(ConsultantOSError):
    """Worth retrying later: the cause is expected to go away."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the other side asked us to wait (HTTP Retry-After), if it said."""


class SourceUnavailable(TransientError):
    """A monitored source or delivery endpoint did not answer usefully for now."""

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status_code = status_code


class DependencyUnavailable(TransientError):
    """Our own database or Redis is unreachable."""


class PermanentError(ConsultantOSError):
    """Retrying cannot help: the input or the remote answer is wrong."""


class InvalidArguments(PermanentError):
    """Arguments that cannot be used, whatever happens later."""


class NotFound(PermanentError):
    """An id that does not exist."""


class SourceRejected(PermanentError):
    """A source or endpoint refused the request for good (HTTP 4xx other than 429)."""

    def __init__(self, message: str, *, status_code: int | None = None, excerpt: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.excerpt = excerpt


class SourceContentError(PermanentError):
    """The source answered, but with content we cannot extract anything from."""


class DeliveryMisconfigured(PermanentError):
    """Alert delivery cannot work with our settings: e.g. the SMTP server offers no STARTTLS,
    or its TLS certificate is not trusted. Retrying cannot help until the settings change."""


class PoisonMessage(PermanentError):
    """A task attempt whose worker process died under it too many times."""

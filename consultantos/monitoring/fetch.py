"""Fetch one monitored source over HTTP, safely: bounded in time, size and redirects.

Every failure leaves this module as one of our errors (`consultantos.errors`), chosen by whether
trying again later can help:

    timeout, refused connection, DNS failure, 5xx, 408, 429  -> SourceUnavailable (transient)
    other 4xx                                                -> SourceRejected (permanent)
    body over the cap, redirect loop, unusable redirect      -> SourceContentError (permanent)
    a URL that is not http(s)                                -> InvalidArguments (permanent)
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from consultantos.config import Settings, get_settings
from consultantos.errors import (
    InvalidArguments,
    SourceContentError,
    SourceRejected,
    SourceUnavailable,
)

ALLOWED_SCHEMES = ("http", "https")
EXCERPT_CHARS = 300
"""Characters of an error page kept in SourceRejected.excerpt."""
_ERROR_BODY_BYTES = 16_384
"""Bytes read from an error response: enough for an excerpt, never the whole page."""
_TRANSIENT_STATUS = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful (2xx) answer of a source, body fully read."""

    url: str
    """The URL asked for."""
    final_url: str
    """The URL that answered, after redirects."""
    status_code: int
    headers: dict[str, str]
    """Response headers, names lower-case (repeated headers joined with ', ')."""
    body: bytes
    """The decoded (decompressed) body, at most `fetch_max_bytes` long."""
    elapsed_ms: float
    """Wall time of the whole fetch, redirects included."""
    content_type: str
    """The media type alone, lower-case (`text/html`), or '' when the source sent none."""

    @property
    def charset(self) -> str | None:
        """The charset named in Content-Type, if any."""
        return _charset(self.headers.get("content-type", ""))


def fetch(
    url: str, *, settings: Settings | None = None, client: httpx.Client | None = None
) -> FetchResult:
    """GET `url` and read its body, or raise the error that says whether retrying can help.

    The whole fetch (connect, redirects, body) must finish within fetch_connect_timeout +
    fetch_read_timeout seconds; a source that trickles bytes cannot hold a worker forever.
    """
    settings = settings or get_settings()
    _check_url(url)
    own_client = client is None
    http = client if client is not None else httpx.Client(follow_redirects=False)
    started = time.perf_counter()
    deadline = started + fetch_budget_seconds(settings)
    try:
        request = http.build_request(
            "GET", url, headers={"User-Agent": settings.fetch_user_agent, "Accept": "*/*"}
        )
        visited = [str(request.url)]
        while True:
            request.extensions = {**request.extensions, "timeout": _timeout(settings, deadline)}
            response = _send(http, request, url=url, settings=settings)
            try:
                next_request = _next_hop(response, url=url, visited=visited, settings=settings)
                if next_request is None:
                    _raise_for_status(response, url=url)
                    body = _read_capped(response, url=url, settings=settings, deadline=deadline)
                    return FetchResult(
                        url=url,
                        final_url=str(response.url),
                        status_code=response.status_code,
                        headers={k.lower(): v for k, v in response.headers.items()},
                        body=body,
                        elapsed_ms=(time.perf_counter() - started) * 1000,
                        content_type=_media_type(response.headers.get("content-type", "")),
                    )
            finally:
                response.close()
            request = next_request
            visited.append(str(request.url))
    finally:
        if own_client:
            http.close()


def fetch_budget_seconds(settings: Settings) -> float:
    """The longest one fetch may take; a check's lease must outlive it."""
    return settings.fetch_connect_timeout + settings.fetch_read_timeout


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), if usable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _check_url(url: str) -> None:
    if not isinstance(url, str) or not url:
        raise InvalidArguments(f"source URL must be a non-empty string, got {url!r}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidArguments(f"source URL {url!r} is invalid: {exc}") from exc
    if parsed.scheme not in ALLOWED_SCHEMES or not parsed.host:
        raise InvalidArguments(f"source URL {url!r} is not an http(s) URL with a host")


def _timeout(settings: Settings, deadline: float) -> dict[str, float | None]:
    """Per-operation timeouts, shortened so that no hop runs past the fetch's deadline."""
    left = max(deadline - time.perf_counter(), 0.001)
    connect = min(settings.fetch_connect_timeout, left)
    read = min(settings.fetch_read_timeout, left)
    return httpx.Timeout(read, connect=connect, pool=connect).as_dict()


def _send(
    http: httpx.Client, request: httpx.Request, *, url: str, settings: Settings
) -> httpx.Response:
    """Send one hop, mapping transport failures to SourceUnavailable."""
    target = str(request.url)
    via = "" if target == url else f" (redirected to {target})"
    try:
        return http.send(request, stream=True, follow_redirects=False)
    except httpx.ConnectTimeout as exc:
        raise SourceUnavailable(
            f"connecting to {url}{via} timed out after {settings.fetch_connect_timeout:g} s"
        ) from exc
    except httpx.TimeoutException as exc:
        raise SourceUnavailable(f"{url}{via} did not answer in time: {_cause(exc)}") from exc
    except httpx.ConnectError as exc:
        raise SourceUnavailable(f"cannot connect to {url}{via}: {_cause(exc)}") from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise SourceContentError(f"{url}{via} cannot be fetched: {_cause(exc)}") from exc
    except httpx.RemoteProtocolError as exc:
        # httpx parses Location while sending: a malformed one is the source's lasting fault
        if str(exc).startswith("Invalid URL in location header"):
            raise SourceContentError(f"{url}{via} redirected to a bad URL: {exc}") from exc
        raise SourceUnavailable(f"fetching {url}{via} failed: {_cause(exc)}") from exc
    except httpx.HTTPError as exc:
        raise SourceUnavailable(f"fetching {url}{via} failed: {_cause(exc)}") from exc


def _next_hop(
    response: httpx.Response, *, url: str, visited: list[str], settings: Settings
) -> httpx.Request | None:
    """The request a redirect asks for, or None when `response` is the answer."""
    next_request = response.next_request
    if not response.has_redirect_location or next_request is None:
        return None
    target = str(next_request.url)
    if next_request.url.scheme not in ALLOWED_SCHEMES:
        raise SourceContentError(f"{url} redirected to {target}, which is not an http(s) URL")
    if len(visited) > settings.fetch_max_redirects:
        loop = " (a redirect loop)" if target in visited else ""
        chain = " -> ".join([*visited, target])
        raise SourceContentError(
            f"{url} redirected more than {settings.fetch_max_redirects} times{loop}: {chain}"
        )
    return next_request


def _raise_for_status(response: httpx.Response, *, url: str) -> None:
    """Map a non-2xx final answer to SourceUnavailable or SourceRejected."""
    status = response.status_code
    if 200 <= status < 300:
        return
    excerpt = _excerpt(response)
    detail = f": {excerpt}" if excerpt else ""
    where = url if str(response.url) == url else f"{url} (redirected to {response.url})"
    if status >= 500 or status in _TRANSIENT_STATUS:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise SourceUnavailable(
            f"{where} answered HTTP {status} {response.reason_phrase}{detail}",
            status_code=status,
            retry_after=retry_after,
        )
    if 400 <= status < 500:
        raise SourceRejected(
            f"{where} answered HTTP {status} {response.reason_phrase}{detail}",
            status_code=status,
            excerpt=excerpt,
        )
    raise SourceContentError(f"{where} answered HTTP {status}, which is not a usable answer")


def _read_capped(
    response: httpx.Response, *, url: str, settings: Settings, deadline: float
) -> bytes:
    """The body, refused as soon as it is known to pass fetch_max_bytes or the deadline."""
    cap = settings.fetch_max_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise SourceContentError(
            f"response body of {url} exceeds {cap} bytes (Content-Length: {declared})"
        )
    body = bytearray()
    try:
        for chunk in response.iter_bytes():  # as they arrive: the checks below run often
            body += chunk
            if len(body) > cap:
                raise SourceContentError(f"response body of {url} exceeds {cap} bytes")
            if time.perf_counter() > deadline:
                raise SourceUnavailable(
                    f"{url} sent its body too slowly: not done after "
                    f"{fetch_budget_seconds(settings):g} s"
                )
    except httpx.TimeoutException as exc:
        raise SourceUnavailable(f"{url} stopped sending its body: {_cause(exc)}") from exc
    except httpx.DecodingError as exc:
        raise SourceContentError(f"body of {url} cannot be decoded: {_cause(exc)}") from exc
    except httpx.HTTPError as exc:
        raise SourceUnavailable(f"reading the body of {url} failed: {_cause(exc)}") from exc
    return bytes(body)


def _excerpt(response: httpx.Response) -> str:
    """The start of an error page as readable text (tags dropped), for messages."""
    raw = bytearray()
    try:
        for chunk in response.iter_bytes():
            raw += chunk
            if len(raw) >= _ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status code already says what happened; the excerpt is a courtesy
    text = bytes(raw[:_ERROR_BODY_BYTES]).decode(
        _charset(response.headers.get("content-type", "")) or "utf-8", errors="replace"
    )
    if "<" in text:
        text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", text)
        text = re.sub(r"(?s)<[^>]*>", " ", text)
    text = " ".join(text.split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1].rstrip() + "…"
    return text


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    if match is None:
        return None
    name = match.group(1).lower()
    try:
        "".encode(name)
    except LookupError:
        return None
    return name


def _cause(exc: BaseException) -> str:
    """The library error's message, or its class name when it has none."""
    return str(exc) or type(exc).__name__

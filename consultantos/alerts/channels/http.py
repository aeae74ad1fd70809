"""POST a JSON body to a Slack or webhook URL, mapping every outcome onto the error tree."""

from __future__ import annotations

import re

import httpx

from consultantos.alerts.channel_specs import checked_url
from consultantos.alerts.channels.receipt import Receipt
from consultantos.config import Settings
from consultantos.errors import InvalidArguments, SourceRejected, SourceUnavailable
from consultantos.monitoring.fetch import parse_retry_after

EXCERPT_CHARS = 300
_READ_BYTES = 4096


def post_json(
    url: str, body: bytes, *, headers: dict[str, str], settings: Settings, user_agent: str
) -> Receipt:
    """One POST, no redirects followed (a signed delivery goes where it was configured)."""
    try:
        checked_url(url)
    except ValueError as exc:
        raise InvalidArguments(f"delivery URL {url!r} is unusable: {exc}") from exc
    timeout = httpx.Timeout(settings.alert_send_timeout)
    request_headers = {"Content-Type": "application/json", "User-Agent": user_agent, **headers}
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
            client.stream("POST", url, content=body, headers=request_headers) as response,
        ):
            excerpt = _excerpt(response)
    except httpx.TimeoutException as exc:
        raise SourceUnavailable(
            f"{url} did not answer within {settings.alert_send_timeout:g} s"
        ) from exc
    except httpx.HTTPError as exc:
        raise SourceUnavailable(f"posting to {url} failed: {exc or type(exc).__name__}") from exc
    return _outcome(url, response, excerpt)


def _outcome(url: str, response: httpx.Response, excerpt: str) -> Receipt:
    status = response.status_code
    if 200 <= status < 300:
        return Receipt(status_code=status, excerpt=excerpt)
    said = f"{url} answered HTTP {status} {response.reason_phrase}"
    if excerpt:
        said += f": {excerpt}"
    if status >= 500 or status == 429:
        raise SourceUnavailable(
            said,
            status_code=status,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    # 3xx as well: the endpoint moved, and following it would send the alert elsewhere.
    raise SourceRejected(said, status_code=status, excerpt=excerpt)


def _excerpt(response: httpx.Response) -> str:
    """The start of the answer as one line of text (tags dropped); a courtesy, never fatal."""
    raw = bytearray()
    try:
        for chunk in response.iter_bytes():
            raw += chunk
            if len(raw) >= _READ_BYTES:
                break
    except httpx.HTTPError:
        pass
    text = bytes(raw[:_READ_BYTES]).decode("utf-8", errors="replace")
    text = " ".join(re.sub(r"(?s)<[^>]*>", " ", text).split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"

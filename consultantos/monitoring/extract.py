"""Turn a fetched answer into what a monitor watches: text lines, numeric metrics, feed items.

The text is line-oriented on purpose: comparing and diffing work on lines, so each line should
be one thing a reader would point at (a paragraph, a table cell, a selected element, a JSON
match, a feed entry). Metrics are the numbers worth alerting on when they move.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import feedparser
import soupsieve
from bs4 import BeautifulSoup
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext import parse as parse_jsonpath
from jsonpath_ng.jsonpath import Fields, Index

from consultantos.db.models import SourceType
from consultantos.errors import InvalidArguments, SourceContentError
from consultantos.monitoring.fetch import FetchResult
from consultantos.monitoring.numeric import parse_number

MAX_METRICS = 200
"""Numeric metrics kept per observation; a big document must not flood the snapshot."""
FEED_SEPARATOR = " — "
"""Between an entry's title and its link on the feed's text line."""

_DROPPED_TAGS = ["script", "style", "noscript", "template"]
_BLOCK_TAGS = [
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "option", "p", "pre", "section",
    "summary", "table", "tbody", "td", "tfoot", "th", "thead", "title", "tr", "ul",
]  # fmt: skip
_BINARY_PREFIXES = ("image/", "audio/", "video/", "font/", "model/")
_BINARY_TYPES = frozenset(
    {
        "application/gzip",
        "application/pdf",
        "application/wasm",
        "application/x-7z-compressed",
        "application/x-gzip",
        "application/x-rar-compressed",
        "application/x-tar",
        "application/zip",
    }
)
_XML_TYPES = frozenset({"application/xml", "text/xml"})
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True, slots=True)
class Extracted:
    """What one answer says, in the form compare and storage need."""

    text: str
    """Lines of content, joined with newlines."""
    metrics: dict[str, float]
    """Finite numbers by name (at most MAX_METRICS)."""
    items: list[str] | None = None
    """Feed entry ids (or links), in feed order; None for other sources."""


def extract(
    *, result: FetchResult, source_type: SourceType | str, selector: str | None = None
) -> Extracted:
    """Extract text and metrics from `result` as the monitor's source type says to."""
    try:
        kind = SourceType(source_type)
    except ValueError as exc:
        raise InvalidArguments(f"unknown source type {source_type!r}") from exc
    if kind is SourceType.HTML:
        return extract_html(result=result, selector=selector or None)
    if kind is SourceType.JSON:
        return extract_json(result=result, selector=selector or None)
    if selector:
        raise InvalidArguments("feeds take no selector")
    return extract_feed(result=result)


def extract_html(*, result: FetchResult, selector: str | None) -> Extracted:
    """Visible text of the page, or of the elements `selector` picks (one line each)."""
    _refuse_binary(result, expected="HTML")
    if b"<" not in result.body:
        # No markup at all: the body is the text (and BeautifulSoup would warn that it looks
        # like a file name or URL).
        if selector:
            raise SourceContentError(f"selector {selector!r} matched nothing on {result.url}")
        text = html.unescape(result.body.decode(result.charset or "utf-8", errors="replace"))
        return Extracted(text="\n".join(_clean_lines(text)), metrics={})
    soup = BeautifulSoup(
        result.body, "xml" if _is_xml(result) else "lxml", from_encoding=result.charset
    )
    for tag in soup(_DROPPED_TAGS):
        tag.decompose()
    for tag in soup(_BLOCK_TAGS):
        # Blocks start new lines, inline elements do not, as in a browser.
        tag.insert_before("\n")
        tag.insert_after("\n")
    if not selector:
        return Extracted(text="\n".join(_clean_lines(soup.get_text())), metrics={})
    try:
        elements = soup.select(selector)
    except soupsieve.SelectorSyntaxError as exc:
        raise InvalidArguments(f"invalid CSS selector {selector!r}: {exc}") from exc
    if not elements:
        raise SourceContentError(f"selector {selector!r} matched nothing on {result.url}")
    texts = [element.get_text() for element in elements]
    lines = [" ".join(text.split()) for text in texts]
    metrics: dict[str, float] = {"element_count": float(len(elements))}
    # numbers are read before whitespace is collapsed: a non-breaking space groups digits
    numbers = [parse_number(text) for text in texts[:MAX_METRICS]]
    if len(numbers) == 1:
        if numbers[0] is not None:
            metrics["value"] = numbers[0]
    else:
        metrics.update({f"value[{i}]": n for i, n in enumerate(numbers) if n is not None})
    return Extracted(text="\n".join(lines), metrics=metrics)


def extract_json(*, result: FetchResult, selector: str | None) -> Extracted:
    """Canonical JSON of the document, or of each JSONPath match (one line each)."""
    try:
        document = json.loads(result.body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise SourceContentError(f"response from {result.url} is not valid JSON: {exc}") from exc
    if not selector:
        text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False)
        return Extracted(text=text, metrics=dict(_numeric_leaves(document, path=None)))
    try:
        expression = parse_jsonpath(selector)
    except JSONPathError as exc:
        raise InvalidArguments(f"invalid JSONPath {selector!r}: {exc}") from exc
    try:
        matches = expression.find(document)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise SourceContentError(
            f"JSONPath {selector!r} cannot be applied to the response from {result.url}: {exc}"
        ) from exc
    if not matches:
        raise SourceContentError(
            f"JSONPath {selector!r} matched nothing in the response from {result.url}"
        )
    metrics: dict[str, float] = {}
    for match in matches:
        value = _as_metric(match.value)
        if value is not None and len(metrics) < MAX_METRICS:
            metrics[str(match.full_path)] = value
    text = "\n".join(_canonical(match.value) for match in matches)
    return Extracted(text=text, metrics=metrics)


def extract_feed(*, result: FetchResult) -> Extracted:
    """One line per entry ("title — link"), entry ids as items, and the entry count."""
    parsed = feedparser.parse(
        io.BytesIO(result.body),
        response_headers={
            "content-type": result.headers.get("content-type", ""),
            "content-location": result.final_url,
        },
    )
    entries = parsed.get("entries", [])
    title = parsed.get("feed", {}).get("title")
    if not entries and (not parsed.get("version") or (parsed.get("bozo") and not title)):
        cause = parsed.get("bozo_exception")
        detail = f": {cause}" if cause else ""
        raise SourceContentError(f"response from {result.url} is not an RSS or Atom feed{detail}")
    lines: list[str] = []
    items: list[str] = []
    for entry in entries:
        entry_title = " ".join(str(entry.get("title") or "(untitled)").split())
        link = str(entry.get("link") or "").strip()
        lines.append(f"{entry_title}{FEED_SEPARATOR}{link}" if link else entry_title)
        items.append(str(entry.get("id") or link or entry_title))
    return Extracted(
        text="\n".join(lines), metrics={"item_count": float(len(entries))}, items=items
    )


def _clean_lines(text: str) -> list[str]:
    return [line for line in (" ".join(raw.split()) for raw in text.splitlines()) if line]


def _refuse_binary(result: FetchResult, *, expected: str) -> None:
    """HTML parsers accept any bytes; an image or archive must not become 'page text'."""
    media = result.content_type
    if media.startswith(_BINARY_PREFIXES) or media in _BINARY_TYPES or _looks_binary(result.body):
        raise SourceContentError(
            f"response from {result.url} is not {expected}: "
            f"binary content ({media or 'no content type'})"
        )


def _looks_binary(body: bytes) -> bool:
    sample = body[:8192]
    if sample.startswith(_TEXT_BOMS):
        return False
    if b"\x00" in sample:
        return True
    controls = sum(
        1 for byte in sample if (byte < 32 and byte not in b"\t\n\r\f\x1b") or byte == 127
    )
    return controls > len(sample) * 0.1


def _is_xml(result: FetchResult) -> bool:
    """XML that is not XHTML, which the HTML parser would mangle (and warn about)."""
    media = result.content_type
    if media == "application/xhtml+xml":
        return False
    head = result.body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if media in _XML_TYPES or media.endswith("+xml"):
        return re.search(rb"<html[\s>]", head, re.IGNORECASE) is None
    return head.startswith(b"<?xml") and re.search(rb"<html[\s>]", head, re.IGNORECASE) is None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value")


def _as_metric(value: Any) -> float | None:
    """A finite float for JSON numbers (not booleans), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _numeric_leaves(value: Any, *, path: str | None) -> list[tuple[str, float]]:
    """(path, number) for numeric leaves in document order, paths written as JSONPath does."""
    found: list[tuple[str, float]] = []
    stack: list[tuple[str | None, Any]] = [(path, value)]
    while stack and len(found) < MAX_METRICS:
        where, node = stack.pop()
        if isinstance(node, dict):
            children = [(str(Fields(str(key))), child) for key, child in sorted(node.items())]
        elif isinstance(node, list):
            children = [(str(Index(i)), child) for i, child in enumerate(node)]
        else:
            number = _as_metric(node)
            if number is not None:
                found.append((where or "$", number))
            continue
        stack.extend(
            (f"{where}.{step}" if where else step, child) for step, child in reversed(children)
        )
    return found


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

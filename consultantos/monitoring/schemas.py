"""Validated monitor definitions, shared by the API and the CLI."""

from __future__ import annotations

from typing import Self

import soupsieve
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext import parse as parse_jsonpath
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from consultantos.db.models import MonitorStatus, SourceType

MIN_INTERVAL_SECONDS = 30


def validate_selector(source_type: SourceType, selector: str | None) -> None:
    """Raise ValueError when `selector` is not a valid CSS selector / JSONPath for the type."""
    if not selector:
        return
    if source_type is SourceType.HTML:
        try:
            soupsieve.compile(selector)
        except soupsieve.SelectorSyntaxError as exc:
            raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from exc
    elif source_type is SourceType.JSON:
        try:
            parse_jsonpath(selector)
        except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
            raise ValueError(f"invalid JSONPath {selector!r}: {exc}") from exc
    else:
        raise ValueError("feeds take no selector")


class MonitorCreate(BaseModel):
    """A new monitor."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=128)
    company: str = Field(min_length=1, max_length=200)
    industry: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    source_type: SourceType
    url: AnyHttpUrl
    selector: str | None = Field(default=None, max_length=1000)
    check_interval_seconds: int = Field(default=3600, ge=MIN_INTERVAL_SECONDS, le=30 * 86400)
    change_threshold_pct: float = Field(default=5.0, ge=0, le=10_000)
    status: MonitorStatus = MonitorStatus.ACTIVE

    @field_validator("url")
    @classmethod
    def _length(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if len(str(url)) > 2048:
            raise ValueError("URL longer than 2048 characters")
        return url

    @model_validator(mode="after")
    def _selector_fits_type(self) -> Self:
        validate_selector(self.source_type, self.selector)
        return self


class MonitorUpdate(BaseModel):
    """Changes to a monitor; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    company: str | None = Field(default=None, min_length=1, max_length=200)
    industry: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    url: AnyHttpUrl | None = None
    selector: str | None = Field(default=None, max_length=1000)
    check_interval_seconds: int | None = Field(default=None, ge=MIN_INTERVAL_SECONDS, le=30 * 86400)
    change_threshold_pct: float | None = Field(default=None, ge=0, le=10_000)
    status: MonitorStatus | None = None

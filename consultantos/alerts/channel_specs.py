"""Validated channel definitions, shared by the API and the domain.

Each kind names its own field (`address` for email, `url` for Slack and webhooks), so a bad
value comes back as a 422 naming that field.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from abc import abstractmethod
from typing import Annotated, Literal, Self

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

SECRET_PREFIX = "whsec_"
SECRET_MIN_BYTES = 24
"""Standard Webhooks secrets are 24 to 64 random bytes, base64-encoded after `whsec_`."""
SECRET_MAX_BYTES = 64
MAX_CHANNELS = 20
URL_MAX_CHARS = 2048


def new_webhook_secret() -> str:
    """A fresh `whsec_…` secret (32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_…` secret; ValueError when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret is base64 after 'whsec_'") from exc
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        raise ValueError(
            f"a webhook secret holds {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes, "
            f"this one {len(key)}"
        )
    return key


_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def checked_url(url: str) -> str:
    """`url` when it is an http(s) URL with a host (as a channel would accept), else ValueError."""
    try:
        return str(_HTTP_URL.validate_python(url))
    except ValidationError as exc:
        raise ValueError(exc.errors()[0]["msg"]) from exc


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True

    @field_validator("*", check_fields=False)
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text may not contain NUL characters")
        return value

    @property
    @abstractmethod
    def target(self) -> str:
        """Where this channel's messages go: an address or a URL."""


class _UrlSpec(_Spec):
    url: AnyHttpUrl

    @field_validator("url")
    @classmethod
    def _length(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if len(str(url)) > URL_MAX_CHARS:
            raise ValueError(f"URL longer than {URL_MAX_CHARS} characters")
        return url

    @property
    def target(self) -> str:
        return str(self.url)


class EmailChannel(_Spec):
    """Alerts by email to one address."""

    kind: Literal["email"] = "email"
    address: EmailStr = Field(max_length=320)

    @property
    def target(self) -> str:
        return str(self.address)


class SlackChannel(_UrlSpec):
    """Alerts as Block Kit messages to a Slack incoming-webhook URL."""

    kind: Literal["slack"] = "slack"


class WebhookChannel(_UrlSpec):
    """Alerts as signed JSON POSTs (Standard Webhooks) to a URL."""

    kind: Literal["webhook"] = "webhook"
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="`whsec_<base64>`; left out, the existing one is kept or a new one made.",
    )

    @field_validator("secret")
    @classmethod
    def _valid_secret(cls, secret: str | None) -> str | None:
        if secret is not None:
            secret_key(secret)
        return secret


ChannelSpec = Annotated[EmailChannel | SlackChannel | WebhookChannel, Field(discriminator="kind")]


class ChannelList(BaseModel):
    """The whole set of channels of a monitor (or a user's defaults); it replaces the old one."""

    model_config = ConfigDict(extra="forbid")

    channels: list[ChannelSpec] = Field(max_length=MAX_CHANNELS)

    @model_validator(mode="after")
    def _no_duplicates(self) -> Self:
        seen: set[tuple[str, str]] = set()
        for channel in self.channels:
            key = (channel.kind, channel.target.lower())
            if key in seen:
                raise ValueError(f"channels: {channel.kind} {channel.target} is listed twice")
            seen.add(key)
        return self

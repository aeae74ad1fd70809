"""Email: a multipart (plain text + HTML) message over SMTP, with STARTTLS or SSL and optional
login from the SMTP_* settings.

The Message-ID is derived from the message id, so a copy re-sent after a worker died mid-send
carries the same Message-ID (mail systems that deduplicate by it show it once).
"""

from __future__ import annotations

import contextlib
import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from email_validator import EmailNotValidError, validate_email

from consultantos.alerts.channels.receipt import Receipt
from consultantos.alerts.content import Outgoing, when
from consultantos.config import Settings
from consultantos.errors import (
    DeliveryMisconfigured,
    InvalidArguments,
    SourceRejected,
    SourceUnavailable,
)

SUBJECT_PREFIX = "[ConsultantOS] "
SUBJECT_MAX_CHARS = 200
EXCERPT_CHARS = 300


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def text_body(message: Outgoing) -> str:
    """The plain-text part."""
    lines = [
        message.headline,
        "",
        f"Company: {message.company}",
        f"Monitor: {message.monitor_name} ({message.source_url})",
    ]
    for alert in message.alerts:
        lines += ["", f"* {alert.title}", f"  {alert.summary}", f"  When: {when(alert.created_at)}"]
        if alert.excerpt:
            lines += ["", *(f"    {line}" for line in alert.excerpt.splitlines()), ""]
        lines.append(f"  View: {alert.link}")
    return "\n".join(lines) + "\n"


def html_body(message: Outgoing) -> str:
    """The HTML part (everything from the monitored page escaped)."""
    e = html.escape
    parts = [
        "<html><body style='font-family: sans-serif'>",
        f"<h2>{e(message.headline)}</h2>",
        f"<p><b>Company:</b> {e(message.company)}<br>",
        f"<b>Monitor:</b> <a href='{e(message.source_url)}'>{e(message.monitor_name)}</a></p>",
    ]
    for alert in message.alerts:
        parts += [
            "<hr>",
            f"<h3><a href='{e(alert.link)}'>{e(alert.title)}</a></h3>",
            f"<p>{e(alert.summary)}<br><small>{e(str(alert.kind))} · "
            f"{e(when(alert.created_at))}</small></p>",
        ]
        if alert.excerpt:
            parts.append(f"<pre style='background:#f4f4f4;padding:8px'>{e(alert.excerpt)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def build(message: Outgoing, settings: Settings) -> EmailMessage:
    """The email for `message`, addressed to its channel's address."""
    sender_domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "consultantos"
    mail = EmailMessage()
    mail["Subject"] = SUBJECT_PREFIX + _one_line(message.headline, SUBJECT_MAX_CHARS)
    mail["From"] = settings.smtp_from
    mail["To"] = message.target
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{message.message_id}@{sender_domain}>"
    mail["X-ConsultantOS-Message-Id"] = message.message_id
    mail.set_content(text_body(message))
    mail.add_alternative(html_body(message), subtype="html")
    return mail


def send(message: Outgoing, settings: Settings) -> Receipt:
    """Hand the email to the SMTP server; accepted once the server says 250 to its data."""
    try:
        address = validate_email(message.target, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidArguments(f"email address {message.target!r} is invalid: {exc}") from exc
    mail = build(message, settings)
    where = f"SMTP server {settings.smtp_host}:{settings.smtp_port}"
    try:
        client = _connect(settings)
        try:
            if settings.smtp_security == "starttls":
                client.starttls(context=_tls_context(settings))
            if settings.smtp_username:
                secret = settings.smtp_password
                client.login(settings.smtp_username, secret.get_secret_value() if secret else "")
            client.send_message(mail, to_addrs=[address])
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()  # the mail is accepted already: a failed goodbye changes nothing
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryMisconfigured(f"{where}: {exc} (check SMTP_SECURITY)") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise _refusal(where, code, text) from exc
    except smtplib.SMTPResponseException as exc:
        raise _refusal(where, exc.smtp_code, exc.smtp_error) from exc
    except ssl.SSLError as exc:
        raise DeliveryMisconfigured(f"{where}: TLS failed: {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise SourceUnavailable(f"{where}: {exc or type(exc).__name__}") from exc
    return Receipt(status_code=250, excerpt="accepted")


def _connect(settings: Settings) -> smtplib.SMTP:
    timeout = settings.alert_send_timeout
    if settings.smtp_security == "ssl":
        return smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout, context=_tls_context(settings)
        )
    return smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)


def _tls_context(settings: Settings) -> ssl.SSLContext:
    cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    return ssl.create_default_context(cafile=cafile)


def _refusal(where: str, code: int, text: bytes | str) -> Exception:
    """SMTP 4xx is 'try again later', 5xx is 'never'."""
    said = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else str(text)
    excerpt = _one_line(said, EXCERPT_CHARS)
    message = f"{where} answered {code}: {excerpt}"
    if 500 <= code < 600:
        return SourceRejected(message, status_code=code, excerpt=excerpt)
    return SourceUnavailable(message, status_code=code)

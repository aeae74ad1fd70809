"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every mail it accepts, parsed.

    with SmtpServer() as smtp:                      # plain; or tls="starttls" / "ssl"
        ...send...
        smtp.messages[0]["Subject"], smtp.messages[0].get_body(("html",))

`smtp.answers` queues replies to DATA ("451 ...", "550 ..."); once empty, mails are accepted.
`login=(user, password)` requires AUTH. TLS uses a throwaway CA (trustme) whose certificate
`ca_file` holds, for SMTP_CA_FILE.
"""

from __future__ import annotations

import ssl
import tempfile
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.helpers.http_server import free_port


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        with self.server.lock:
            if self.server.answers:
                return self.server.answers.pop(0)
            mail = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(mail, EmailMessage)
            self.server.messages.append(mail)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd in a thread; use as a context manager."""

    def __init__(
        self,
        *,
        tls: Literal["none", "starttls", "ssl"] = "none",
        login: tuple[str, str] | None = None,
    ) -> None:
        self.tls = tls
        self.login = login
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.answers: list[str] = []
        self.lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory(prefix="smtp-ca-")
        self.ca_file = Path(self._dir.name) / "ca.pem"
        self._controller: Controller | None = None

    def env(self) -> dict[str, str]:
        """Settings that point the alert mailer here."""
        env = {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.port),
            "SMTP_SECURITY": self.tls,
            "SMTP_FROM": "ConsultantOS <alerts@consultantos.example>",
        }
        if self.tls != "none":
            env["SMTP_CA_FILE"] = str(self.ca_file)
        if self.login:
            env["SMTP_USERNAME"], env["SMTP_PASSWORD"] = self.login
        return env

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self.login is not None
            and (data.login.decode(), data.password.decode()) == self.login
        )
        return AuthResult(success=ok, handled=False)

    def __enter__(self) -> SmtpServer:
        kwargs: dict[str, Any] = {}
        if self.tls != "none":
            ca = trustme.CA()
            ca.cert_pem.write_to_path(str(self.ca_file))
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
            if self.tls == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs.update(ssl_context=context)
        if self.login:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=self.tls != "none")
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **kwargs
        )
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._controller is not None:
            self._controller.stop()
        self._dir.cleanup()

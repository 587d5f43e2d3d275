"""Outgoing e-mail: composed in the request, sent only once the transaction has committed.

With `CARNET_SMTP_URL` (``smtp://user:password@host:587`` for STARTTLS, ``smtps://…:465``
for TLS from the start, ``smtp://host:25?tls=off`` for a local relay without TLS) the
message goes through SMTP; otherwise each message is written as one ``.eml`` file in
`CARNET_MAIL_DIR`, which is how the demo and the tests read them.

SMTP delivery runs on a background thread started after the commit, so the request
never waits on the relay. This is a security property, not only a speed-up: the login
link page answers the same for known and unknown addresses, and a synchronous SMTP
exchange (only for known ones) would tell them apart by the response time. The file
backend writes in the request's thread, after the same commit and through the same
`send` closure: its cost is a local write, and the demo and the tests read the message
as soon as the page has answered. The thread is not a daemon: a message handed over
just before the process exits is still delivered (bounded by the SMTP timeout).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import uuid
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from carnet import clock, db
from carnet.config import Settings

log = logging.getLogger(__name__)

SENDER_NAME = "Carnet de bord"
SMTP_TIMEOUT_SECONDS = 20


class MailError(Exception):
    """A message could not be handed over to SMTP or written to the mail folder."""


def compose(settings: Settings, *, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    host = urlsplit(settings.base_url).hostname or "carnet.invalid"
    message["From"] = f"{SENDER_NAME} <ne-pas-repondre@{host}>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain=host)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


def send_after_commit(settings: Settings, *, to: str, subject: str, body: str, kind: str) -> None:
    """Queue a message; it leaves only if the current transaction commits.

    `kind` names the message in the logs (``auth:magic_link``): never the address.
    """
    message = compose(settings, to=to, subject=subject, body=body)

    def send() -> None:
        try:
            deliver(settings, message)
        except MailError:
            log.exception("mail not sent kind=%s", kind)
        else:
            log.info("mail sent kind=%s", kind)

    def dispatch() -> None:
        if settings.smtp_url:
            # Off the request: see the module docstring (response time must not tell
            # whether an address is known).
            threading.Thread(target=send, name=f"mail:{kind}", daemon=False).start()
        else:
            send()

    db.after_commit(dispatch)


def deliver(settings: Settings, message: EmailMessage) -> None:
    if settings.smtp_url:
        _send_smtp(settings.smtp_url, message)
    else:
        _write_file(settings.mail_dir, message)


def _write_file(directory: Path, message: EmailMessage) -> Path:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # The name sorts by time, so the newest message is the last one listed.
        stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
        path = directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(message))
    except OSError as exc:
        raise MailError(f"mail folder not writable: {exc.strerror}") from exc
    return path


def _send_smtp(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    options = parse_qs(parts.query)
    host = parts.hostname or "localhost"
    context = ssl.create_default_context()
    try:
        if parts.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, parts.port or 465, timeout=SMTP_TIMEOUT_SECONDS, context=context
            )
        else:
            smtp = smtplib.SMTP(host, parts.port or 587, timeout=SMTP_TIMEOUT_SECONDS)
        with smtp:
            if parts.scheme == "smtp" and options.get("tls", ["on"])[0] != "off":
                smtp.starttls(context=context)
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"SMTP delivery failed: {type(exc).__name__}") from exc

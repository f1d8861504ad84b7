"""Mail: queued with the change that causes it, sent after the commit, retried on failure.

With ``MAIL_SERVER`` set, mails go out through Flask-Mail. Without one (development,
tests) each mail is written as an ``.eml`` file to ``MAIL_OUTBOX_DIR`` (instance/outbox).
A failing mail server never breaks the action: the mail stays queued with its error
and is tried again (after the next change, or by ``flask portal send-mail``).
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
from pathlib import Path
from typing import Iterable, Optional

from flask import current_app, g, has_request_context, render_template
from flask_babel import force_locale
from flask_mail import Connection, Message
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from app.extensions import db, mail
from app.models import LANGUAGES, OutgoingMail, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6


def portal_url(path: str) -> str:
    return current_app.config.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/") + path


def queue(template: str, recipients: Iterable[tuple[str, str]], *, order_id: Optional[int] = None,
          **context) -> list[OutgoingMail]:
    """Render ``mail/<template>.txt`` for each (email, language) and queue it in this transaction.

    The first line of the rendered template is the subject.
    """
    rows = []
    seen = set()
    for email, language in recipients:
        email = (email or "").strip().lower()
        if not email or email in seen:
            continue
        seen.add(email)
        language = language if language in LANGUAGES else "de"
        with force_locale(language):
            text = render_template(f"mail/{template}.txt", language=language, portal_url=portal_url, **context)
        subject, _, body = text.strip().partition("\n")
        row = OutgoingMail(recipient=email, subject=subject.strip()[:300], body=body.strip() + "\n",
                           kind=template, language=language, order_id=order_id, next_attempt_at=utcnow())
        db.session.add(row)
        rows.append(row)
    return rows


def staff_recipients() -> list[tuple[str, str]]:
    address = current_app.config.get("MAIL_STAFF_ADDRESS")
    return [(address, current_app.config.get("MAIL_STAFF_LANGUAGE", "de"))] if address else []


def _write_outbox(row: OutgoingMail, message: Message) -> None:
    folder = Path(current_app.config["MAIL_OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{row.created_at:%Y%m%d-%H%M%S}-{row.id:06d}-{row.kind}.eml"
    (folder / name).write_bytes(message.as_bytes())


class TimeoutConnection(Connection):
    """Flask-Mail's connection with a timeout: Flask-Mail 0.10 opens SMTP without one, so a
    mail server that accepts but never answers would hold the request. Can go when Flask-Mail
    takes a timeout setting."""

    def configure_host(self):
        timeout = current_app.config.get("MAIL_TIMEOUT", 10)
        smtp = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp(self.mail.server, self.mail.port, timeout=timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def _send(row: OutgoingMail) -> None:
    message = Message(subject=row.subject, recipients=[row.recipient], body=row.body,
                      sender=current_app.config.get("MAIL_DEFAULT_SENDER"))
    if current_app.config.get("MAIL_SERVER"):
        # the settings as they are now (Flask-Mail's app state is taken once, at start-up)
        state = mail.init_mail(current_app.config, current_app.debug, current_app.testing)
        with TimeoutConnection(state) as connection:
            connection.send(message)
    else:
        _write_outbox(row, message)


def deliver_pending(limit: int = 50) -> tuple[int, int]:
    """Send what is due. Returns (sent, failed). Never raises."""
    sent = failed = 0
    try:
        now = utcnow()
        rows = db.session.scalars(
            select(OutgoingMail)
            .where(OutgoingMail.sent_at.is_(None), OutgoingMail.attempts < MAX_ATTEMPTS,
                   or_(OutgoingMail.next_attempt_at.is_(None), OutgoingMail.next_attempt_at <= now))
            .order_by(OutgoingMail.id)
            .limit(limit)
        ).all()
        for row in rows:
            try:
                _send(row)
            except Exception as exc:  # noqa: BLE001 - any failure of the mail server
                failed += 1
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                row.next_attempt_at = utcnow() + dt.timedelta(minutes=2 ** row.attempts)
                log.warning("mail %s to %s failed (attempt %s): %s", row.id, row.recipient, row.attempts, exc)
            else:
                sent += 1
                row.attempts += 1
                row.sent_at = utcnow()
                row.last_error = None
            db.session.commit()
    except Exception:  # noqa: BLE001 - sending must never break the action that caused it
        log.exception("mail delivery failed")
        db.session.rollback()
    return sent, failed


def init_mail_delivery(app) -> None:
    """After a request whose transaction queued mail, try to send it."""

    @event.listens_for(Session, "after_flush")
    def _mark(session, _context):
        if any(isinstance(obj, OutgoingMail) for obj in session.new) and has_request_context():
            g.mail_queued = True

    @app.after_request
    def _deliver(response):
        if g.pop("mail_queued", False):
            deliver_pending()
        return response

"""Mail: queued with the change that causes it, sent after the commit, retried on failure.

``MAIL_DELIVERY=request`` (the default): the request that queued a mail sends it after its commit,
once its response has gone out (app/after_response.py), so nobody waits for the mail server.
``MAIL_DELIVERY=worker``: requests only queue; ``flask portal worker`` processes deliver
(:func:`app.services.worker.run_worker`) — the choice for several servers, so no request waits for
the mail server.

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

from app.after_response import after_response
from app.extensions import db, mail
from app.models import LANGUAGES, OutgoingMail, utcnow
from app.services import claims

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6


def portal_url(path: str) -> str:
    """An absolute link for a mail (``PORTAL_BASE_URL``; its default follows ``HOST``/``PORT``)."""
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + path


def signature() -> str:
    """Who signs the mails: the first line of ``SERVICE_ADDRESS``."""
    return (current_app.config.get("SERVICE_ADDRESS") or "").split("|")[0].strip()


def queue(template: str, recipients: Iterable[tuple], *, order_id: Optional[int] = None,
          **context) -> list[OutgoingMail]:
    """Render ``mail/<template>.txt`` for each recipient and queue it in this transaction.

    A recipient is (email, language) or (email, language, name): each mail is rendered in its
    recipient's language and greets them by name when there is one. The first line of the
    rendered template is the subject.
    """
    rows = []
    seen = set()
    for email, language, *rest in recipients:
        email = (email or "").strip().lower()
        if not email or email in seen:
            continue
        seen.add(email)
        language = language if language in LANGUAGES else "de"
        name = (rest[0] or "").strip() if rest else ""
        with force_locale(language):
            text = render_template(f"mail/{template}.txt", language=language, portal_url=portal_url,
                                   recipient_name=name, signature=signature(), **context)
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


def _due(now: dt.datetime, lease_start: dt.datetime):
    return (OutgoingMail.sent_at.is_(None), OutgoingMail.attempts < MAX_ATTEMPTS,
            or_(OutgoingMail.next_attempt_at.is_(None), OutgoingMail.next_attempt_at <= now),
            or_(OutgoingMail.claimed_at.is_(None), OutgoingMail.claimed_at < lease_start))


def _claim(mail_id: int, sender: str) -> bool:
    """Take one mail for this sender (app/services/claims.py); the lease is ``MAIL_CLAIM_LEASE`` seconds."""
    now = utcnow()
    lease_start = now - dt.timedelta(seconds=current_app.config.get("MAIL_CLAIM_LEASE", 600))
    return claims.claim(OutgoingMail, mail_id, sender, now, *_due(now, lease_start))


def _finish(mail_id: int, sender: str, error: Optional[Exception]) -> None:
    """Record the outcome of a claimed mail and give up the claim when it is to be retried."""
    row = db.session.get(OutgoingMail, mail_id, populate_existing=True)
    if row.claimed_by != sender:  # the lease ran out while we were sending; the outcome still counts
        log.warning("mail %s: claim of %s was taken over by %s", row.id, sender, row.claimed_by)
    row.attempts += 1
    if error is None:
        row.sent_at = utcnow()
        row.last_error = None
    else:
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        row.next_attempt_at = utcnow() + dt.timedelta(minutes=2 ** row.attempts)
        if row.claimed_by == sender:  # free for the retry; a claim taken over stays with its sender
            row.claimed_by = row.claimed_at = None
        log.warning("mail %s to %s failed (attempt %s): %s", row.id, row.recipient, row.attempts, error)
    db.session.commit()


def deliver_pending(limit: int = 50, ids: Optional[Iterable[int]] = None) -> tuple[int, int]:
    """Send what is due, each mail claimed first so that it is sent once however many senders
    run at the same time (web workers, other servers, ``flask portal send-mail``).

    ``ids`` limits the run to these mails (a request sends what it queued, nobody else's).
    Returns (sent, failed). Never raises.
    """
    sent = failed = 0
    sender = claims.claimer_id()
    try:
        now = utcnow()
        lease_start = now - dt.timedelta(seconds=current_app.config.get("MAIL_CLAIM_LEASE", 600))
        stmt = select(OutgoingMail.id).where(*_due(now, lease_start)).order_by(OutgoingMail.id)
        if ids is not None:
            ids = list(ids)
            if not ids:
                return 0, 0
            stmt = stmt.where(OutgoingMail.id.in_(ids))
            limit = max(limit, len(ids))
        stmt = stmt.limit(limit)
        candidates = db.session.scalars(stmt).all()
        db.session.commit()  # end the reading transaction: each claim is its own
        for mail_id in candidates:
            if not _claim(mail_id, sender):
                continue  # another sender has it
            row = db.session.get(OutgoingMail, mail_id)
            try:
                _send(row)
            except Exception as exc:  # noqa: BLE001 - any failure of the mail server
                failed += 1
                _finish(mail_id, sender, exc)
            else:
                sent += 1
                _finish(mail_id, sender, None)
    except Exception:  # noqa: BLE001 - sending must never break the action that caused it
        log.exception("mail delivery failed")
        db.session.rollback()
    return sent, failed


def init_mail_delivery(app) -> None:
    """After a request whose transaction committed new mail, send that mail (and only that), once
    the response has gone out: the user does not wait for the mail server.

    The ids are collected at flush and handed over on commit; a rollback forgets them.
    """

    @event.listens_for(Session, "after_flush")
    def _collect(session, _context):
        new = [obj for obj in session.new if isinstance(obj, OutgoingMail)]
        if new and has_request_context():
            session.info.setdefault("mail_flushed", []).extend(obj.id for obj in new)

    @event.listens_for(Session, "after_commit")
    def _committed(session):
        flushed = session.info.pop("mail_flushed", None)
        if flushed and has_request_context():
            g.setdefault("mail_queued", []).extend(flushed)

    @event.listens_for(Session, "after_rollback")
    def _rolled_back(session):
        session.info.pop("mail_flushed", None)

    @app.after_request
    def _deliver(response):
        queued = g.pop("mail_queued", None)
        if queued and current_app.config.get("MAIL_DELIVERY", "request") != "worker":
            after_response(lambda: deliver_pending(ids=queued))
        return response

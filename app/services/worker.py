"""The background worker (``flask portal worker``): delivers due mail and webhook events, builds
the data exports users asked for.

Any number of workers on any number of servers may run: every mail and every webhook delivery is
claimed before it is sent (:mod:`app.services.mail`, :mod:`app.services.webhooks`), so each goes
out once.
"""
from __future__ import annotations

import logging
import time

from app.extensions import db
from app.services import data_export, mail, webhooks

log = logging.getLogger(__name__)


def deliver_due() -> tuple[int, int]:
    """One pass: due mail, then due webhook deliveries (and the mail a paused endpoint caused).
    Returns (sent, failed) over both."""
    sent, failed = mail.deliver_pending()
    queued_mail: list[int] = []
    delivered, undelivered = webhooks.deliver_pending(queued_mail=queued_mail)
    if queued_mail:
        more_sent, more_failed = mail.deliver_pending(ids=queued_mail)
        sent, failed = sent + more_sent, failed + more_failed
    built, not_built = data_export.build_pending()
    return sent + delivered + built, failed + undelivered + not_built


def run_worker(poll_seconds: float, should_stop, once: bool = False) -> tuple[int, int]:
    """Deliver due mail and webhook events until ``should_stop()`` (a SIGTERM): what is due at once,
    then a look every ``poll_seconds``. What is being sent is finished before the worker stops.
    ``once``: one pass over what is due, then return. Returns (sent, failed)."""
    total_sent = total_failed = 0
    while not should_stop():
        sent, failed = deliver_due()
        total_sent, total_failed = total_sent + sent, total_failed + failed
        db.session.remove()
        if sent or failed:
            log.info("worker: %s sent, %s failed", sent, failed)
            if sent:  # more may be due right away
                continue
        if once:
            break
        deadline = time.monotonic() + poll_seconds
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(min(0.2, poll_seconds))
    return total_sent, total_failed

"""Rows that background work takes one at a time (mails, webhook deliveries, data exports): a claim.

Several senders may run at once (web workers, ``flask portal worker`` on several servers). Each takes a
row with ONE atomic conditional UPDATE — the row's id plus the caller's "still due and not claimed, or
claimed longer ago than the lease" conditions in its WHERE — committed at once: PostgreSQL re-checks
the conditions on the row after a concurrent update commits, SQLite writes one at a time, so exactly
one sender wins. A claim older than its lease counts as abandoned (a sender that died).
"""
from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from sqlalchemy import update

from app.extensions import db


def claimer_id() -> str:
    """Who is working: the host, the process and this call (a claim names its claimer)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def claim(model, row_id: int, claimer: str, now: dt.datetime, *conditions) -> bool:
    """Take row ``row_id`` of ``model`` (with ``claimed_by``/``claimed_at`` columns) for ``claimer`` if
    ``conditions`` hold; committed at once. False when another claimer has it or it is not due."""
    result = db.session.execute(
        update(model).where(model.id == row_id, *conditions)
        .values(claimed_by=claimer, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1

"""Checked rows of an uploaded file kept between the preview and the confirmation.

The browser only carries a random token; the rows stay in the database (``import_preview``,
keyed by a hash of the token) bound to the user and company that uploaded them and valid for
``MAX_AGE`` — so any app server confirms what another previewed. A token of another user or
company, an expired or a malformed one reads as "no preview": nothing the client sends back can
change what is saved, and a file is never parsed twice.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from typing import Optional

from sqlalchemy import delete, select

from app.extensions import db
from app.models import ImportPreview, utcnow

MAX_AGE = 3600  # seconds
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _purge() -> None:
    """Remove previews nobody confirmed within the hour."""
    db.session.execute(delete(ImportPreview).where(
        ImportPreview.created_at < utcnow() - dt.timedelta(seconds=MAX_AGE)))


def save(kind: str, user_id: int, company_id: int, rows: list[dict]) -> str:
    """Keep ``rows`` for this user and company (committed); the token to confirm them with."""
    _purge()
    token = secrets.token_urlsafe(32)
    db.session.add(ImportPreview(token_hash=_hash(token), kind=kind, user_id=user_id, company_id=company_id,
                                 created_at=utcnow(), rows=json.dumps(rows, ensure_ascii=False)))
    db.session.commit()
    return token


def load(kind: str, token: str, user_id: int, company_id: int) -> Optional[list[dict]]:
    """The rows kept under ``token`` if they are this user's and company's and not expired, else None."""
    if not token or not TOKEN.fullmatch(token):
        return None
    stored = db.session.scalar(select(ImportPreview.rows).where(
        ImportPreview.token_hash == _hash(token), ImportPreview.kind == kind, ImportPreview.user_id == user_id,
        ImportPreview.company_id == company_id,
        ImportPreview.created_at >= utcnow() - dt.timedelta(seconds=MAX_AGE)))
    if stored is None:
        return None
    try:
        return json.loads(stored)
    except ValueError:
        return None


def claim(kind: str, token: str, user_id: int, company_id: int) -> Optional[list[dict]]:
    """The rows, as :func:`load`, taken out of the store in the caller's transaction: committed
    with what the caller saves from them, kept when it rolls back. Of two confirmations of one
    preview at the same moment only one gets the rows (the other waits for the first to commit,
    then finds nothing), so a double click never saves twice."""
    rows = load(kind, token, user_id, company_id)
    if rows is None:
        return None
    taken = db.session.execute(delete(ImportPreview).where(
        ImportPreview.token_hash == _hash(token), ImportPreview.user_id == user_id)).rowcount
    return rows if taken == 1 else None


def discard(token: str) -> None:
    """Forget the preview (committed at once)."""
    if token and TOKEN.fullmatch(token):
        db.session.execute(delete(ImportPreview).where(ImportPreview.token_hash == _hash(token)))
        db.session.commit()

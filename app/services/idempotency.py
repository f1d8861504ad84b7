"""A new order sent again (a client's retry on another server, a double click) gets the first
order back, never a second one.

The sender names the request with a key: the API's ``Idempotency-Key`` header, or the one-time
token a new-order form carries. The first request writes the key in the transaction of its order;
a second request with the key finds it and answers with that order. Two requests at the same moment
both try to write the key: the unique index makes the second wait until the first commits, then
refuses it, and it answers with the first one's order. Keys belong to one user (the public form's
tokens to nobody), and expire after ``IDEMPOTENCY_TTL_HOURS``; an expired key may be used again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from typing import Any, Optional

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import IdempotencyKey, Order, utcnow

# as payment APIs take it: 1-255 printable ASCII characters
KEY_PATTERN = re.compile(r"[ -~]{1,255}")
# a form token as new_form_token() makes it
FORM_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,64}")


class KeyConflict(Exception):
    """The key was first used for another request (e.g. another body)."""


class KeyInProgress(Exception):
    """Another request with this key has not finished (or was undone): try again."""


class Replay(Exception):
    """The key's first request created an order: answer with it instead."""

    def __init__(self, entry: IdempotencyKey):
        super().__init__(entry.key)
        self.entry = entry


def valid_key(value: Optional[str]) -> bool:
    return value is not None and KEY_PATTERN.fullmatch(value) is not None


def new_form_token() -> str:
    """A one-time token for a new-order form, generated when the form is shown."""
    return secrets.token_urlsafe(24)


def form_token(value: Optional[str]) -> Optional[str]:
    """The form's token if it is one of ours; anything else counts as no token."""
    return value if value and FORM_TOKEN_PATTERN.fullmatch(value) else None


def request_hash(purpose: str, payload: Any = None) -> str:
    """SHA-256 of what a request asks for: the purpose (a form token never matches an API body)
    and the payload as canonical JSON (key order and spacing do not matter)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{purpose}\n{canonical}".encode("utf-8", "surrogatepass")).hexdigest()


def _cutoff() -> dt.datetime:
    return utcnow() - dt.timedelta(hours=current_app.config.get("IDEMPOTENCY_TTL_HOURS", 24))


def _owned(user_id: Optional[int], key: str):
    owner = IdempotencyKey.user_id.is_(None) if user_id is None else IdempotencyKey.user_id == user_id
    return (owner, IdempotencyKey.key == key)


def find(user_id: Optional[int], key: str, digest: str) -> Optional[IdempotencyKey]:
    """The first result of this key (unexpired), or None when the key is new or expired.

    :raises KeyConflict: the key was first used for another request.
    """
    entry = db.session.scalars(
        select(IdempotencyKey).where(*_owned(user_id, key), IdempotencyKey.created_at >= _cutoff())
    ).first()
    if entry is None:
        return None
    if entry.request_hash != digest:
        raise KeyConflict(key)
    return entry


def claim(user_id: Optional[int], key: str, digest: str) -> IdempotencyKey:
    """Take the key for this request, in the current transaction (flushed, not committed).

    Call it before anything else of the transaction; then create the order and hand both to
    :func:`remember`, and commit. An expired use of the key is forgotten first.

    :raises Replay: another request took the key and created its order (this transaction is rolled back).
    :raises KeyConflict: another request took the key for something else (rolled back).
    :raises KeyInProgress: the key was taken and is gone again (rolled back).
    """
    session = db.session
    session.execute(delete(IdempotencyKey).where(*_owned(user_id, key), IdempotencyKey.created_at < _cutoff())
                    .execution_options(synchronize_session=False))
    entry = IdempotencyKey(user_id=user_id, key=key, request_hash=digest, created_at=utcnow())
    session.add(entry)
    try:
        session.flush()
    except IntegrityError:
        # the unique index held this insert until the other request committed (or gave up)
        session.rollback()
        first = find(user_id, key, digest)
        if first is None or first.order_id is None:
            raise KeyInProgress(key) from None
        raise Replay(first) from None
    return entry


def remember(entry: IdempotencyKey, order: Order, status: Optional[int] = None, body: Optional[str] = None) -> None:
    """Store the result of the key's request with it (in the order's transaction)."""
    entry.order_id = order.id
    entry.response_status = status
    entry.response_body = body
    db.session.flush()


def forget_expired() -> int:
    """Delete the keys older than ``IDEMPOTENCY_TTL_HOURS`` (committed); returns how many."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < _cutoff()))
    db.session.commit()
    return result.rowcount or 0

"""Bots on public forms, without any outside service.

A form carries the time it was shown, signed with the app's secret key: a form
sent back faster than a person can fill it in (``PUBLIC_FORM_MIN_SECONDS``), or
with a missing, forged or day-old time, is refused. The invisible honeypot
field and the rate limits do the rest.
"""
from __future__ import annotations

import time
from typing import Optional

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "public-form-started"
MAX_AGE = 24 * 3600


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def started_token(at: Optional[float] = None) -> str:
    """The signed time a form is shown (``at``: seconds since the epoch, default now)."""
    return _serializer().dumps(round(time.time() if at is None else at, 3))


def filled_in_by_a_person(token: Optional[str]) -> bool:
    """Was the form with this token open long enough, and not too long?"""
    try:
        started = float(_serializer().loads(token or ""))
    except (BadSignature, TypeError, ValueError):
        return False
    elapsed = time.time() - started
    return current_app.config.get("PUBLIC_FORM_MIN_SECONDS", 3) <= elapsed <= MAX_AGE

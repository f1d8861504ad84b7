"""Signed, expiring, single-use links to set a password (sent by mail instead of a password)."""
from __future__ import annotations

from typing import Optional

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.extensions import db
from app.models import PortalUser

SALT = "set-password"
MAX_AGE = 7 * 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: PortalUser) -> str:
    # bound to the current password hash: once the password is set, the link is spent
    return (user.password or "")[-16:]


def make_token(user: PortalUser) -> str:
    return _serializer().dumps({"u": user.id, "p": _fingerprint(user)})


def user_for_token(token: str) -> Optional[PortalUser]:
    """The active user a valid, unused, unexpired token belongs to, else None."""
    try:
        data = _serializer().loads(token, max_age=current_app.config.get("SET_PASSWORD_MAX_AGE", MAX_AGE))
    except BadSignature:
        return None
    user = db.session.get(PortalUser, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or _fingerprint(user) != data.get("p"):
        return None
    return user

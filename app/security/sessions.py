"""Sessions that end: a per-user session version, kept in the cookie session and in FAB's JWTs.

A session (or token) carries the user's ``session_version`` from its login. The version goes up when
the password changes, the account is deactivated or the user logs out everywhere; a session with
another version ends at its next request. Sessions and tokens from before the version existed carry
none and count as version 0, as every user starts with 0.
"""
from __future__ import annotations

from flask import g, has_request_context, session
from flask_appbuilder.const import FLAMSG_ERR_SEC_ACCESS_DENIED
from flask_babel import lazy_gettext as _l
from flask_login import user_logged_in

SESSION_KEY = "_session_version"
CLAIM = "sv"  # in FAB's JWTs (access and refresh tokens)

SESSION_ENDED_MESSAGE = _l(
    "Your session has ended: your password was changed or you logged out everywhere. Please log in again."
)


def version_of(user) -> int:
    return getattr(user, "session_version", None) or 0


def remember(user) -> None:
    """The current cookie session logged in with the user's present version."""
    session[SESSION_KEY] = version_of(user)


def session_is_current(user) -> bool:
    """Whether the cookie session of this request logged in with the user's present version."""
    return session.get(SESSION_KEY, 0) == version_of(user)


def token_is_current(user, claims: dict) -> bool:
    return claims.get(CLAIM, 0) == version_of(user)


def new_version(user) -> None:
    """End every session and token of ``user`` at its next request (not committed).

    The session of the current request, when it is this user's, takes the new version and goes on.
    """
    user.session_version = version_of(user) + 1
    if has_request_context() and str(session.get("_user_id")) == str(user.id):
        remember(user)


def _on_login(_sender, user, **_kwargs) -> None:
    """Flask-Login's ``user_logged_in`` signal: every login that creates a cookie session."""
    remember(user)


def _one_reason_only(response):
    """A session that just ended says why on the login page; FAB's "Access is Denied", flashed by
    the page the browser asked for, would contradict it."""
    if g.get("session_ended") and session.get("_flashes"):
        denied = str(FLAMSG_ERR_SEC_ACCESS_DENIED)
        session["_flashes"] = [(kind, text) for kind, text in session["_flashes"] if text != denied]
    return response


def install_session_versions(app) -> None:
    user_logged_in.connect(_on_login, app)
    app.after_request(_one_reason_only)

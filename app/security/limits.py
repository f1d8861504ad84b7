"""Brute-force protection for the web and the API login (Flask-Limiter through FAB).

FAB limits only the web login, and only per address. Here both logins are
limited per address and per account (the submitted login, lower-cased), so
neither many accounts from one address nor one account from many addresses
can be guessed at. Storage: RATELIMIT_STORAGE_URI (e.g. Redis) for several workers.
"""
from __future__ import annotations

from flask import current_app, request
from flask_limiter.util import get_remote_address


def login_account_key() -> str:
    name = request.form.get("username")
    if name is None:
        name = (request.get_json(silent=True) or {}).get("username", "")
    return "login-account:" + str(name or "").strip().lower()


def install_login_limits(appbuilder) -> None:
    limit = current_app.config.get("AUTH_RATE_LIMIT", "10 per minute")
    limiter = appbuilder.sm.limiter
    api = next(v for v in appbuilder.baseviews if type(v).__name__ == "SecurityApi")
    web = appbuilder.sm.auth_view
    for blueprint in (web.blueprint, api.blueprint):
        limiter.limit(limit, key_func=login_account_key, methods=["POST"])(blueprint)
    # the web login is already limited per address by FAB (AUTH_RATE_LIMITED)
    limiter.limit(limit, key_func=get_remote_address, methods=["POST"])(api.blueprint)

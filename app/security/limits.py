"""Brute-force protection for the web and the API login (Flask-Limiter).

Only *failed* logins count, so a company behind one proxy address can log in
as often as it needs to:

- per account (the submitted login, lower-cased): ``AUTH_RATE_LIMIT`` failures,
  wherever they come from;
- per address: ``AUTH_ADDRESS_RATE_LIMIT`` failures, over all accounts (sized for
  a large office behind one address).

While an account or an address is blocked, every login attempt for it is refused
with 429 — also one with the right password, otherwise the limit would only slow
guessing down. Web and API logins share the counters. Storage:
``RATELIMIT_STORAGE_URI`` (e.g. Redis), so several workers count together.

FAB's own ``AUTH_RATE_LIMITED`` stays off: it counts every login, successful or not.
"""
from __future__ import annotations

from flask import current_app, g, request
from flask_limiter.util import get_remote_address

# a logged-in user's forms that check a second-factor code (and the password): counted like logins
CODE_ENDPOINTS = ("MyDataView.two_factor_codes", "MyDataView.two_factor_off")
LOGIN_ENDPOINTS = ("PortalAuthDBView.login", "PortalAuthDBView.second_factor", "SecurityApi.login") + CODE_ENDPOINTS
MAX_NAME = 320  # longer than any email address; keeps keys in the storage bounded


def submitted_login() -> str:
    """The login name of this request's form or JSON body, lower-cased ("" if there is none); for the
    code of a two-factor login, the login whose password was right: codes count like passwords."""
    if request.endpoint == "PortalAuthDBView.second_factor":
        from app.security.auth import pending_login

        return str((pending_login() or {}).get("login") or "").lower()[:MAX_NAME]
    if request.endpoint in CODE_ENDPOINTS:
        from flask_login import current_user  # loaded here: the limits are checked before FAB sets g.user

        return str(getattr(current_user, "email", None) or "").lower()[:MAX_NAME]
    name = request.form.get("username")
    if name is None:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    return str(name if name is not None else "").strip().lower()[:MAX_NAME]


def login_account_key() -> str:
    return "account:" + submitted_login()


def login_address_key() -> str:
    return "address:" + (get_remote_address() or "")


def record_failed_login() -> None:
    """Mark this request's login as failed (a wrong login or password): it is counted."""
    g.login_failed = True


def _failed(_response) -> bool:
    return bool(g.get("login_failed"))


def _not_a_login() -> bool:
    return request.endpoint not in LOGIN_ENDPOINTS


def install_login_limits(appbuilder) -> None:
    account_limit = current_app.config.get("AUTH_RATE_LIMIT", "10 per minute")
    address_limit = current_app.config.get("AUTH_ADDRESS_RATE_LIMIT", "100 per minute")
    limiter = appbuilder.sm.limiter
    api = next(v for v in appbuilder.baseviews if type(v).__name__ == "SecurityApi")
    web = appbuilder.sm.auth_view
    my_data = next(v for v in appbuilder.baseviews if type(v).__name__ == "MyDataView")
    # shared limits: the web and the API login count into the same buckets
    per_account = limiter.shared_limit(account_limit, scope="login-account", key_func=login_account_key,
                                       methods=["POST"], exempt_when=_not_a_login, deduct_when=_failed)
    per_address = limiter.shared_limit(address_limit, scope="login-address", key_func=login_address_key,
                                       methods=["POST"], exempt_when=_not_a_login, deduct_when=_failed)
    for blueprint in (web.blueprint, api.blueprint, my_data.blueprint):
        per_account(blueprint)
        per_address(blueprint)

"""Accounts created with a generated password choose their own before anything else."""
from __future__ import annotations

from flask import Flask, flash, g, redirect, request, url_for
from flask_babel import gettext as _

ALLOWED_ENDPOINTS = {
    "MyDataView.index", "MyDataView.password", "PortalAuthDBView.logout", "static", "appbuilder.static",
    "LocaleView.index",
}


def require_own_password(app: Flask) -> None:
    @app.before_request
    def _first_login():
        user = getattr(g, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        if not getattr(user, "must_change_password", False) or request.endpoint in ALLOWED_ENDPOINTS:
            return None
        if request.endpoint == "MyDataView.index" or request.path.startswith("/api/"):
            return None
        flash(_("Welcome! Please choose your own password first."), "info")
        return redirect(url_for("MyDataView.index", tab="password"))


# what a user who must set up two-factor login may reach before: My data, its two-factor and
# password forms, logging out, the language switch and static files
TWO_FACTOR_SETUP_ENDPOINTS = ALLOWED_ENDPOINTS | {"MyDataView.two_factor_confirm", "MyDataView.two_factor_restart"}


def require_two_factor(app: Flask) -> None:
    """A user whose company requires a second factor (or staff, ``TWO_FACTOR_REQUIRED_FOR_STAFF``) and
    who has none is led to set it up and reaches nothing else before. The API is not led anywhere: such a
    user gets no JWT (app/api/login.py), and API keys are for machines."""
    from app.services import two_factor

    @app.before_request
    def _two_factor_first():
        user = getattr(g, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        if request.endpoint in TWO_FACTOR_SETUP_ENDPOINTS or request.path.startswith("/api/"):
            return None
        if not two_factor.must_set_up(user):
            return None
        flash(_("Two-factor login is required for your account. Please set it up now: it takes a minute "
                "with an authenticator app on your phone."), "info")
        return redirect(url_for("MyDataView.index", tab="two-factor"))

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

"""``/``: send everyone to where they work."""
from __future__ import annotations

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose


def home_url() -> str:
    """Staff and admins land in the backend, portal users in the portal."""
    user = g.user
    if user is None or not user.is_authenticated:
        return url_for("PortalAuthDBView.login")
    if getattr(user, "company_id", None):
        return "/cc/"
    return url_for("StaffOrderView.list")


class PortalIndexView(IndexView):
    @expose("/")
    def index(self):
        return redirect(home_url())

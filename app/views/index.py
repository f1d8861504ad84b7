"""``/``: send everyone to where they work."""
from __future__ import annotations

from flask import current_app, g, redirect, send_from_directory, url_for
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

    @expose("/favicon.ico")
    def favicon(self):
        """Browsers ask for /favicon.ico whatever the page links (the layout links /static/favicon.*)."""
        return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                                   max_age=86400)

"""``/cc/devices/search``: the company's register answering as a serial number is typed in "New order"."""
from __future__ import annotations

from flask import jsonify, request
from flask_appbuilder import BaseView, expose, has_access

from app.models import utcnow
from app.security.scoping import current_company_id
from app.services import devices

MIN_CHARS = 2


def _warranty(state) -> str:
    return {True: "in", False: "expired"}.get(state, "unknown")


class PortalDeviceSearchView(BaseView):
    """At most ten of the caller's company's active devices whose serial number contains ``q``."""

    route_base = "/cc/devices"
    class_permission_name = "PortalDeviceSearch"
    method_permission_name = {"search": "search"}
    default_view = "search"

    @expose("/search")
    @has_access
    def search(self):
        text = (request.args.get("q") or "").strip()
        if len(text) < MIN_CHARS:
            return jsonify([])
        today = utcnow().date()
        found = devices.search(current_company_id(), text, limit=devices.SEARCH_LIMIT)
        response = jsonify([
            {"serial_number": d.serial_number, "article_number": d.article_number or "",
             "description": d.description, "warranty": _warranty(d.warranty_state(today)),
             "warranty_until": d.warranty_until.isoformat() if d.warranty_until else None}
            for d in found
        ])
        response.headers["Cache-Control"] = "private, no-store"
        return response

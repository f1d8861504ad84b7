"""The service history of a serial number (Gerätehistorie): every order that contained it.

The portal shows the company's own orders only (its company id from :mod:`app.security.scoping`),
staff every order of every company and source. The serial number is a query argument, since serial
numbers may contain "/". The rules are :mod:`app.services.devices`.
"""
from __future__ import annotations

from flask import request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _

from app.security.scoping import current_company_id
from app.services import devices

TEMPLATE = "shared/device_history.html"
MAX_SERIAL = 100  # OrderItem.serial_number and Device.serial_number are at most this long


def render_history(view: BaseView, company_id, order_endpoint: str, staff: bool):
    """The page for ``?serial=``: the register's device data on top, then every order, newest first."""
    serial = (request.args.get("serial") or "").strip()
    error = None
    if len(serial) > MAX_SERIAL or "\x00" in serial:
        error = _("A serial number has at most %(count)s characters.", count=MAX_SERIAL)
        serial_shown, rows, registered = serial[:MAX_SERIAL], [], []
    else:
        serial_shown = serial
        rows = devices.history(serial, company_id) if serial else []
        registered = devices.register_entries(serial, company_id) if serial else []
    return view.render_template(
        TEMPLATE, serial=serial_shown, error=error, rows=rows, registered=registered, staff=staff,
        order_url=lambda order: url_for(order_endpoint, pk=order.id), warranty_words=devices.warranty_words,
    ), 400 if error else 200


class PortalDeviceHistoryView(BaseView):
    """``/cc/devices/history?serial=…``: the company's own orders with this serial number."""

    route_base = "/cc/devices"
    class_permission_name = "PortalDeviceHistory"
    method_permission_name = {"history": "show"}

    @expose("/history")
    @has_access
    def history(self):
        return render_history(self, current_company_id(), "PortalOrderView.show", staff=False)


class StaffDeviceHistoryView(BaseView):
    """``/backend/devices/history?serial=…``: every order of every company and source."""

    route_base = "/backend/devices"
    class_permission_name = "StaffDeviceHistory"
    method_permission_name = {"history": "show"}

    @expose("/history")
    @has_access
    def history(self):
        return render_history(self, None, "StaffOrderView.show", staff=True)

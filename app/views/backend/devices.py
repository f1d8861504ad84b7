"""Every company's device register, for staff: the company shown and searchable, devices edited
with the same rules as the portal (:mod:`app.services.devices`); a device never changes company."""
from __future__ import annotations

from flask import g
from flask_appbuilder.models.sqla.filters import SQLAFilterConverter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload
from wtforms import StringField

from app.models import Device
from app.services import audit, devices
from app.views.backend.filters import FilterCompany
from app.views.backend.common import LABELS, NO_GENERIC_ROUTES, StaffModelView, changed_values, checkboxes, \
    fmt_bool, fmt_date, fmt_datetime

DEVICE_LABELS = {
    **LABELS,
    "serial_number": _l("Serial number"), "article_number": _l("Article number"), "description": _l("Description"),
    "delivered_on": _l("Delivery date"), "warranty_until": _l("Warranty until"),
    "location": _l("Location or cost centre"), "note": _l("Note"), "active": _l("Active"),
    "updated_at": _l("Changed"),
}


class FilterDeviceCompany(FilterCompany):
    """Devices of a company found by its id, customer number or name (no <select> of every company)."""

    @staticmethod
    def company_column():
        return Device.company_id


class DeviceFilterConverter(SQLAFilterConverter):
    def convert(self, col_name):
        if col_name == "company":
            return [FilterDeviceCompany(col_name, self.datamodel)]
        return super().convert(col_name)


class DeviceInterface(SQLAInterface):
    filter_converter_class = DeviceFilterConverter

    def apply_all(self, query, *args, **kwargs):
        query = super().apply_all(query, *args, **kwargs)
        return query.options(joinedload(Device.company)) if self.obj is Device else query


class StaffDeviceView(StaffModelView):
    record_name = _l("Device")
    datamodel = DeviceInterface(Device)
    class_permission_name = "StaffDevices"
    route_base = "/backend/devices"
    include_route_methods = {"list", "show", "edit"}
    exclude_route_methods = NO_GENERIC_ROUTES
    list_title = _l("Devices")
    show_title = _l("Device")
    edit_title = _l("Edit device")
    label_columns = DEVICE_LABELS
    list_columns = ["serial_number", "company", "article_number", "description", "warranty_until", "location",
                    "active"]
    order_columns = ["serial_number", "article_number", "description", "warranty_until", "location"]
    search_columns = ["company", "serial_number", "article_number", "description", "active"]
    search_form_extra_fields = {"company": StringField(_l("Company"))}
    show_columns = ["serial_number", "company", "article_number", "description", "delivered_on", "warranty_until",
                    "location", "note", "active", "created_at", "updated_at"]
    edit_columns = ["serial_number", "article_number", "description", "delivered_on", "warranty_until", "location",
                    "note", "active"]
    edit_form_extra_fields = checkboxes("active")
    formatters_columns = {"active": fmt_bool, "delivered_on": fmt_date, "warranty_until": fmt_date,
                          "created_at": fmt_datetime, "updated_at": fmt_datetime}
    base_order = ("serial_number", "asc")

    def pre_update(self, item: Device) -> None:
        """The portal's rules (unique serial number per company, warranty not before delivery), audited.

        :raises ValueError: with the message FAB shows when a rule is broken.
        """
        values = {name: getattr(item, name) for name in devices.FIELDS}
        clean, errors = devices.check_values(item.company_id, values, exclude_id=item.id)
        if errors:
            raise ValueError(" ".join(f"{DEVICE_LABELS[name]}: {message}" for name, message in errors.items()))
        for name, value in clean.items():
            setattr(item, name, value)
        old, new = changed_values(item, (*devices.FIELDS, "active"))
        if new:
            audit.record(audit.DEVICE_UPDATED, item, actor=g.user, company_id=item.company_id, old=old, new=new)

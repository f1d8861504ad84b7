"""Every company's device register, for staff: the company shown and searchable, devices edited
with the same rules as the portal (:mod:`app.services.devices`); a device never changes company."""
from __future__ import annotations

from flask import g, request
from flask_appbuilder.models.sqla.filters import SQLAFilterConverter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from app.extensions import db
from app.models import Company, Device
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


def _company_of(form) -> Company | None:
    number = (form.customer_number.data or "").strip()
    if not number:
        return None
    return db.session.scalar(select(Company).where(Company.customer_number == number))


class KnownCustomerNumber:
    """The add form's company, named by its customer number (no <select> of every company)."""

    def __call__(self, form, field):
        if _company_of(form) is None:
            raise ValidationError(_l("No company has this customer number."))


class RegisterRule:
    """The register's rule for one field (unique serial number in the company, warranty not before
    delivery) checked with the form's other values, so its message stands next to the field."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, form, field):
        exclude_id = None
        if hasattr(form, "customer_number"):  # adding: the company the form names
            company = _company_of(form)
            company_id = company.id if company else None
        else:  # editing: the device's own company, the device itself no duplicate
            device = db.session.get(Device, (request.view_args or {}).get("pk") or 0)
            company_id, exclude_id = (device.company_id, device.id) if device else (None, None)
        values = {name: getattr(form, name).data for name in devices.FIELDS if hasattr(form, name)}
        _clean, errors = devices.check_values(company_id or 0, values, exclude_id=exclude_id,
                                              check_register=company_id is not None, for_staff=True)
        if self.name in errors:
            raise ValidationError(errors[self.name])


class StaffDeviceView(StaffModelView):
    record_name = _l("Device")
    datamodel = DeviceInterface(Device)
    class_permission_name = "StaffDevices"
    route_base = "/backend/devices"
    include_route_methods = {"list", "show", "add", "edit"}
    exclude_route_methods = NO_GENERIC_ROUTES
    list_title = _l("Devices")
    show_title = _l("Device")
    add_title = _l("Add device")
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
    add_columns = ["customer_number", *edit_columns[:-1]]
    add_form_extra_fields = {
        "customer_number": StringField(
            _l("Customer number"), validators=[DataRequired(), Length(max=32), KnownCustomerNumber()],
            description=_l("The company whose register gets the device."), widget=BS3TextFieldWidget()),
    }
    validators_columns = {"serial_number": [RegisterRule("serial_number")],
                          "warranty_until": [RegisterRule("warranty_until")]}
    formatters_columns = {"active": fmt_bool, "delivered_on": fmt_date, "warranty_until": fmt_date,
                          "created_at": fmt_datetime, "updated_at": fmt_datetime}
    base_order = ("serial_number", "asc")

    def pre_add(self, item: Device) -> None:
        """The company named by its customer number; the register's rules once more, as a whole."""
        company = db.session.scalar(select(Company).where(
            Company.customer_number == (request.form.get("customer_number") or "").strip()))
        if company is None:
            raise ValueError(_l("No company has this customer number."))
        values = {name: getattr(item, name) for name in devices.FIELDS}
        clean, errors = devices.check_values(company.id, values, for_staff=True)
        if errors:
            raise ValueError(" ".join(f"{DEVICE_LABELS[name]}: {message}" for name, message in errors.items()))
        for name, value in clean.items():
            setattr(item, name, value)
        item.company_id = company.id
        item.active = True
        db.session.add(item)
        db.session.flush()
        audit.record(audit.DEVICE_CREATED, item, actor=g.user, company_id=company.id,
                     new={name: getattr(item, name) for name in devices.FIELDS})

    def pre_update(self, item: Device) -> None:
        """The portal's rules (unique serial number per company, warranty not before delivery), audited.

        :raises ValueError: with the message FAB shows when a rule is broken.
        """
        values = {name: getattr(item, name) for name in devices.FIELDS}
        clean, errors = devices.check_values(item.company_id, values, exclude_id=item.id, for_staff=True)
        if errors:
            raise ValueError(" ".join(f"{DEVICE_LABELS[name]}: {message}" for name, message in errors.items()))
        for name, value in clean.items():
            setattr(item, name, value)
        old, new = changed_values(item, (*devices.FIELDS, "active"))
        if new:
            audit.record(audit.DEVICE_UPDATED, item, actor=g.user, company_id=item.company_id, old=old, new=new)

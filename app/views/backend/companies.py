"""Customer companies and their users."""
from __future__ import annotations

from decimal import Decimal

from flask import g
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import DecimalField, IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional

from app.extensions import db
from app.models import Company, PortalUser
from app.i18n import format_money
from app.services import audit
from app.services.quotes import QuoteInvalid, to_decimal
from app.services.accounts import next_customer_number
from app.views.backend.common import (
    LABELS,
    NO_GENERIC_ROUTES,
    StaffModelView,
    changed_values,
    checkboxes,
    fmt_bool,
    fmt_datetime,
    fmt_roles,
)
from app.views.backend.filters import FilterHasCompany


class AmountField(DecimalField):
    """An amount that reads "1.234,50" as well as "1234.50" (FAB's DecimalField knows only the latter)."""

    def process_formdata(self, valuelist):
        if valuelist:
            try:
                # empty reads as 0 (off), as the column needs a value
                self.data = to_decimal(valuelist[0], self.name) if str(valuelist[0]).strip() else Decimal("0")
            except QuoteInvalid as invalid:
                self.data = None
                raise ValueError(invalid.message) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:.2f}"


def quote_settings_fields() -> dict:
    """The company's settings for quotes and turnaround (FAB would mark 0 and an unticked box "required")."""
    return {
        **checkboxes("po_number_required"),
        "approval_limit": AmountField(
            LABELS["approval_limit"], places=2, default=0,
            validators=[Optional(), NumberRange(min=0, max=99999999, message=_l("The amount must be 0 or more."))],
            description=_l("Gross. Quotes up to this amount are approved automatically when they are sent; "
                           "0 = every quote is decided by the customer."),
            widget=BS3TextFieldWidget(),
        ),
        "turnaround_days": IntegerField(
            LABELS["turnaround_days"],
            validators=[Optional(), NumberRange(min=1, max=100, message=_l("Between 1 and 100 working days."))],
            description=_l("Empty: the portal's default."),
            widget=BS3TextFieldWidget(),
        ),
    }


class StaffCompanyUserView(StaffModelView):
    """Users of customer companies (staff and admins are not listed here)."""

    record_name = _l("User")
    datamodel = SQLAInterface(PortalUser)
    class_permission_name = "StaffCompanyUsers"
    route_base = "/backend/company-users"
    include_route_methods = {"list", "show", "edit"}
    base_filters = [["company_id", FilterHasCompany, None]]
    list_title = _l("Company users")
    show_title = _l("Company user")
    edit_title = _l("Edit company user")
    label_columns = LABELS
    list_columns = ["first_name", "last_name", "email", "company", "active", "roles", "last_login"]
    formatters_columns = {"last_login": fmt_datetime, "active": fmt_bool, "roles": fmt_roles,
                          "may_approve_quotes": fmt_bool}
    show_columns = ["first_name", "last_name", "email", "phone", "company", "active", "may_approve_quotes", "roles",
                    "last_login"]
    edit_columns = ["first_name", "last_name", "phone", "active", "may_approve_quotes"]
    search_columns = ["first_name", "last_name", "email", "active"]
    edit_form_extra_fields = checkboxes("active", "may_approve_quotes")
    base_order = ("last_name", "asc")

    def pre_update(self, item: PortalUser) -> None:
        old, new = changed_values(item, ("may_approve_quotes",))
        if new:
            audit.record(audit.EMPLOYEE_QUOTE_RIGHT, item,
                         actor=g.user, company_id=item.company_id, old=old, new=new)
        old, new = changed_values(item, ("active",))
        if new:
            audit.record(audit.EMPLOYEE_ACTIVATED if item.active else audit.EMPLOYEE_DEACTIVATED, item,
                         actor=g.user, company_id=item.company_id, old=old, new=new)


class StaffCompanyView(StaffModelView):
    record_name = _l("Company")
    datamodel = SQLAInterface(Company)
    class_permission_name = "StaffCompanies"
    route_base = "/backend/companies"
    exclude_route_methods = NO_GENERIC_ROUTES | {"delete"}
    list_title = _l("Companies")
    show_title = _l("Company")
    add_title = _l("New company")
    edit_title = _l("Edit company")
    label_columns = LABELS
    list_columns = ["customer_number", "name", "city", "country", "active", "created_at"]
    search_columns = ["customer_number", "name", "city", "country", "email", "active"]
    add_columns = ["customer_number", "name", "street", "postcode", "city", "country", "phone", "email", "vat_id", "active",
                   "approval_limit", "po_number_required", "turnaround_days"]
    edit_columns = add_columns
    show_columns = add_columns + ["created_at"]
    formatters_columns = {"created_at": fmt_datetime, "active": fmt_bool, "po_number_required": fmt_bool,
                          "approval_limit": lambda v: format_money(v) if v else str(_l("off"))}
    edit_form_extra_fields = {**checkboxes("active"), **quote_settings_fields()}
    add_form_extra_fields = {
        **checkboxes("active"),
        **quote_settings_fields(),
        "customer_number": StringField(
            _l("Customer number"),
            validators=[Optional(), Length(max=32)],
            description=_l("Leave empty to generate the next number."),
            widget=BS3TextFieldWidget(),
        )
    }
    related_views = [StaffCompanyUserView]
    base_order = ("name", "asc")

    def pre_add(self, item: Company) -> None:
        item.customer_number = (item.customer_number or "").strip()
        if not item.customer_number:
            item.customer_number = next_customer_number()
        elif db.session.scalar(select(Company.id).where(Company.customer_number == item.customer_number)):
            raise ValueError(_("This customer number is already taken."))

"""Customer companies and their users."""
from __future__ import annotations

from flask import g
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import Length, Optional

from app.extensions import db
from app.models import Company, PortalUser
from app.services import audit
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
    formatters_columns = {"last_login": fmt_datetime, "active": fmt_bool, "roles": fmt_roles}
    show_columns = ["first_name", "last_name", "email", "phone", "company", "active", "roles", "last_login"]
    edit_columns = ["first_name", "last_name", "phone", "active"]
    search_columns = ["first_name", "last_name", "email", "active"]
    edit_form_extra_fields = checkboxes("active")
    base_order = ("last_name", "asc")

    def pre_update(self, item: PortalUser) -> None:
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
    formatters_columns = {"created_at": fmt_datetime, "active": fmt_bool}
    search_columns = ["customer_number", "name", "city", "country", "email", "active"]
    add_columns = ["customer_number", "name", "street", "postcode", "city", "country", "phone", "email", "vat_id", "active"]
    edit_columns = add_columns
    show_columns = add_columns + ["created_at"]
    edit_form_extra_fields = checkboxes("active")
    add_form_extra_fields = {
        **checkboxes("active"),
        "customer_number": StringField(
            _l("Customer number"),
            validators=[Optional(), Length(max=32)],
            description=_l("Leave empty to generate the next number."),
            widget=BS3TextFieldWidget(),
        )
    }
    related_views = [StaffCompanyUserView]
    show_template = "backend/company_show.html"  # links the company's statistics
    base_order = ("name", "asc")

    def pre_add(self, item: Company) -> None:
        item.customer_number = (item.customer_number or "").strip()
        if not item.customer_number:
            item.customer_number = next_customer_number()
        elif db.session.scalar(select(Company.id).where(Company.customer_number == item.customer_number)):
            raise ValueError(_("This customer number is already taken."))

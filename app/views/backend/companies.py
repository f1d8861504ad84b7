"""Customer companies and their users."""
from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import DecimalField, IntegerField, StringField
from flask_wtf import FlaskForm
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.extensions import db
from app.models import Company, PortalUser
from app.i18n import format_money
from app.services import audit, erasure, two_factor
from app.services.quotes import QuoteInvalid, to_decimal
from app.services.accounts import end_other_sessions, end_sessions_of_company, next_customer_number
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


class EraseForm(FlaskForm):
    confirm = StringField(_l("Confirmation"), validators=[DataRequired(_l("Please fill in this field."))])


class ResetTwoFactorForm(FlaskForm):
    """Only the CSRF token: the button names the user."""


def _erase_page(view, form, *, title, what, confirm_label, button, action, cancel, status=200):
    return view.render_template("backend/erase.html", form=form, title=title, what=what,
                                confirm_label=confirm_label, button=button, action=action, cancel=cancel), status


class StaffCompanyUserView(StaffModelView):
    """Users of customer companies (staff and admins are not listed here)."""

    record_name = _l("User")
    datamodel = SQLAInterface(PortalUser)
    class_permission_name = "StaffCompanyUsers"
    route_base = "/backend/company-users"
    include_route_methods = {"list", "show", "edit", "erase", "reset_two_factor"}
    base_filters = [["company_id", FilterHasCompany, None]]
    list_title = _l("Company users")
    show_title = _l("Company user")
    edit_title = _l("Edit company user")
    label_columns = {**LABELS, "totp_enabled_at": _l("Two-factor login since")}
    list_columns = ["first_name", "last_name", "email", "company", "active", "roles", "last_login"]
    formatters_columns = {"last_login": fmt_datetime, "active": fmt_bool, "roles": fmt_roles,
                          "may_approve_quotes": fmt_bool, "totp_enabled_at": fmt_datetime}
    show_columns = ["first_name", "last_name", "email", "phone", "company", "active", "may_approve_quotes", "roles",
                    "last_login", "totp_enabled_at"]
    edit_columns = ["first_name", "last_name", "phone", "active", "may_approve_quotes"]
    search_columns = ["first_name", "last_name", "email", "active"]
    edit_form_extra_fields = checkboxes("active", "may_approve_quotes")
    show_template = "backend/company_user_show.html"  # links the erasure
    base_order = ("last_name", "asc")

    @expose("/<int:pk>/erase", methods=["GET", "POST"])
    @has_access
    def erase(self, pk):
        """Erase a company user's personal data (DSGVO Art. 17), after typing their email address."""
        user = db.session.scalars(select(PortalUser).where(PortalUser.id == pk, PortalUser.company_id.isnot(None))).first()
        if user is None:
            abort(404)
        form = EraseForm()
        counts = erasure.preview_user(user)
        what = [_("the name, email address, phone number and password of %(name)s (%(email)s); the login ends",
                  name=user.full_name, email=user.email),
                _("the contact person, email and phone number on %(count)s orders they created",
                  count=format_number(counts.orders)),
                _("%(count)s API keys", count=format_number(counts.api_keys))]
        if request.method == "POST" and form.validate():
            if form.confirm.data.strip().lower() == (user.email or "").lower():
                erasure.erase_user(user, g.user)
                flash(_("The user's personal data was erased."), "success")
                return redirect(url_for(".show", pk=user.id))
            form.confirm.errors = [_("This is not the user's email address.")]
        return _erase_page(self, form, title=_("Erase user %(name)s?", name=user.full_name), what=what,
                           confirm_label=_("Type the user's email address to confirm"), button=_("Erase user"),
                           action=url_for(".erase", pk=user.id), cancel=url_for(".show", pk=user.id),
                           status=422 if request.method == "POST" else 200)

    def _get_show_widget(self, pk, item, *args, **kwargs):
        g.shown_company_user = item  # the show page offers a reset of the second factor only when there is one
        return super()._get_show_widget(pk, item, *args, **kwargs)

    @expose("/<int:pk>/reset-two-factor", methods=["POST"])
    @has_access
    def reset_two_factor(self, pk):
        """Reset a company user's second factor (a lost phone, no recovery code left): they set it up again
        at their next login (if it is required) or log in with the password alone. Audited; the user is
        mailed."""
        user = db.session.scalars(select(PortalUser).where(PortalUser.id == pk, PortalUser.company_id.isnot(None))).first()
        if user is None:
            abort(404)
        if not ResetTwoFactorForm().validate_on_submit():
            abort(400)
        if two_factor.is_enabled(user):
            two_factor.reset(user, g.user)
            db.session.commit()
            flash(_("The two-factor login of %(name)s was reset. They were told by email.", name=user.full_name),
                  "success")
        else:
            flash(_("%(name)s has no two-factor login.", name=user.full_name), "info")
        return redirect(url_for(".show", pk=user.id))

    def pre_update(self, item: PortalUser) -> None:
        old, new = changed_values(item, ("may_approve_quotes",))
        if new:
            audit.record(audit.EMPLOYEE_QUOTE_RIGHT, item,
                         actor=g.user, company_id=item.company_id, old=old, new=new)
        old, new = changed_values(item, ("active",))
        if new:
            audit.record(audit.EMPLOYEE_ACTIVATED if item.active else audit.EMPLOYEE_DEACTIVATED, item,
                         actor=g.user, company_id=item.company_id, old=old, new=new)
            if not item.active:
                end_other_sessions(item)  # reactivated later, they log in anew


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
    show_template = "backend/company_show.html"  # links the company's statistics
    base_order = ("name", "asc")

    @expose("/<int:pk>/erase", methods=["GET", "POST"])
    @has_access
    def erase(self, pk):
        """Erase a company (DSGVO Art. 17), after typing its customer number."""
        company = db.session.get(Company, pk)
        if company is None:
            abort(404)
        form = EraseForm()
        counts = erasure.preview_company(company)
        n = format_number
        what = [_("the names, email addresses, phone numbers and passwords of its %(count)s users; their logins end",
                  count=n(counts.users)),
                _("the customer data and message texts of its %(orders)s orders, and %(files)s files",
                  orders=n(counts.orders), files=n(counts.files)),
                _("%(keys)s API keys and %(webhooks)s webhooks", keys=n(counts.api_keys), webhooks=n(counts.webhooks)),
                _("the company's name, address, phone number, email address and VAT ID; only the customer number stays"),
                _("locations and notes of its %(count)s devices", count=n(counts.devices))]
        if request.method == "POST" and form.validate():
            if form.confirm.data.strip() == company.customer_number:
                erasure.erase_company(company, g.user)
                flash(_("The company was erased."), "success")
                return redirect(url_for(".show", pk=company.id))
            form.confirm.errors = [_("This is not the company's customer number.")]
        return _erase_page(self, form, title=_("Erase company %(name)s?", name=company.name), what=what,
                           confirm_label=_("Type the customer number %(number)s to confirm",
                                           number=company.customer_number),
                           button=_("Erase company"), action=url_for(".erase", pk=company.id),
                           cancel=url_for(".show", pk=company.id), status=422 if request.method == "POST" else 200)

    def pre_update(self, item: Company) -> None:
        old, new = changed_values(item, ("active",))
        if new and not item.active:
            end_sessions_of_company(item)  # reactivated later, its users log in anew

    def pre_add(self, item: Company) -> None:
        item.customer_number = (item.customer_number or "").strip()
        if not item.customer_number:
            item.customer_number = next_customer_number()
        elif db.session.scalar(select(Company.id).where(Company.customer_number == item.customer_number)):
            raise ValueError(_("This customer number is already taken."))

"""My data (personal data, password, settings) and a company admin's employees."""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash

from app.after_response import after_response
from app.extensions import db
from app.models import PortalUser
from app.security import roles
from app.security.passwords import MIN_LENGTH
from app.security.scoping import require_company
from app.services import audit, data_export, files, notify, two_factor
from app.services.storage import StoredFileMissing
from app.services.accounts import AccountError, SettingInvalid, create_user, email_taken, log_out_everywhere, \
    set_active, set_may_approve_quotes, set_password, set_quote_settings
from app.views.portal_forms import DataExportForm, EmployeeForm, EmployeeQuoteRightForm, LogOutEverywhereForm, PasswordForm, \
    PersonalDataForm, QuoteSettingsForm, SettingsForm, TwoFactorCodeForm, TwoFactorOffForm, TwoFactorRequirementForm, \
    TwoFactorRestartForm
from app.security.limits import record_failed_login

TABS = ("personal", "password", "two-factor", "settings", "export")
SETUP_KEY = "_two_factor_setup"  # the secret being set up, in the user's session until a code confirms it


class MyDataView(BaseView):
    """The logged-in user's own data; nothing here takes a user id."""

    route_base = "/cc/my-data"
    class_permission_name = "MyData"
    method_permission_name = {"index": "edit", "personal": "edit", "password": "edit", "settings": "edit",
                              "log_out_everywhere": "edit", "export_request": "edit", "export_download": "edit",
                              "two_factor_confirm": "edit", "two_factor_restart": "edit", "two_factor_codes": "edit",
                              "two_factor_off": "edit"}
    default_view = "index"

    def _render(self, tab="personal", personal=None, password=None, settings=None, code_form=None, off_form=None):
        user = g.user
        personal = personal or PersonalDataForm(obj=user, formdata=None)
        password = password or PasswordForm(formdata=None)
        settings = settings or SettingsForm(
            formdata=None, data={"language": user.language, "page_size": user.page_size,
                                 "notify_status": user.notify_status, "notify_messages": user.notify_messages}
        )
        return self.render_template(
            "portal/my_data.html", tab=tab, user=user, company=user.company,
            personal=personal, password=password, settings=settings,
            is_company_admin=user.has_role(roles.COMPANY_ADMIN),
            min_password_length=MIN_LENGTH,
            exports=data_export.exports_of(user) if tab == "export" else [],
            may_export_company=data_export.may_export_company(user), export_days=data_export.keep_days(),
            **(self._two_factor_context(user, code_form, off_form) if tab == "two-factor" else {}),
        )

    def _two_factor_context(self, user, code_form=None, off_form=None) -> dict:
        """The two-factor tab: the state when it is on; the QR code and the secret to confirm when it is off."""
        context = {"two_factor_on": two_factor.is_enabled(user), "two_factor_required": two_factor.is_required(user),
                   "code_form": code_form or TwoFactorCodeForm(formdata=None),
                   "off_form": off_form or TwoFactorOffForm(formdata=None)}
        if context["two_factor_on"]:
            context["recovery_left"] = two_factor.recovery_codes_left(user)
        else:
            secret = session.get(SETUP_KEY) or two_factor.new_secret()
            session[SETUP_KEY] = secret
            context["secret"] = two_factor.grouped(secret)
            context["qr_svg"] = two_factor.qr_svg(two_factor.provisioning_uri(user, secret),
                                                  title=_("QR code for your authenticator app"))
        return context

    def _recovery_codes_page(self, codes):
        response = self.render_template("portal/recovery_codes.html", codes=codes, user=g.user)
        return response, 200, {"Cache-Control": "no-store"}

    @expose("/")
    @has_access
    def index(self):
        tab = request.args.get("tab", "personal")
        return self._render(tab if tab in TABS else "personal")

    @expose("/personal", methods=["POST"])
    @has_access
    def personal(self):
        form = PersonalDataForm()
        if not form.validate_on_submit():
            return self._render("personal", personal=form), 422
        user = g.user
        user.first_name = form.first_name.data.strip()
        user.last_name = form.last_name.data.strip()
        user.phone = (form.phone.data or "").strip() or None
        db.session.commit()
        flash(_("Your personal data were saved."), "success")
        return redirect(url_for(".index", tab="personal"))

    @expose("/password", methods=["POST"])
    @has_access
    def password(self):
        form = PasswordForm()
        valid = form.validate_on_submit()
        user = g.user
        if form.current_password.data and not check_password_hash(user.password or "", form.current_password.data):
            form.current_password.errors = list(form.current_password.errors) + [
                _("The current password is wrong.")
            ]
            valid = False
        elif valid and form.new_password.data == form.current_password.data:
            form.new_password.errors = list(form.new_password.errors) + [
                _("The new password must differ from the current one.")
            ]
            valid = False
        if not valid:
            return self._render("password", password=form), 422
        set_password(user, form.new_password.data)
        db.session.commit()
        flash(_("Your password was changed."), "success")
        return redirect(url_for(".index", tab="password"))

    @expose("/log-out-everywhere", methods=["POST"])
    @has_access
    def log_out_everywhere(self):
        """End every other session of the logged-in user (other browsers, devices, API tokens)."""
        form = LogOutEverywhereForm()
        if not form.validate_on_submit():
            abort(400)
        log_out_everywhere(g.user)
        db.session.commit()
        flash(_("You were logged out on every other device."), "success")
        return redirect(url_for(".index", tab="password"))

    @expose("/two-factor/confirm", methods=["POST"])
    @has_access
    def two_factor_confirm(self):
        """Turn two-factor login on: the first code from the app confirms the secret it was set up with."""
        form = TwoFactorCodeForm()
        user = g.user
        secret = session.get(SETUP_KEY)
        if two_factor.is_enabled(user):
            return redirect(url_for(".index", tab="two-factor"))
        if not form.validate_on_submit() or not secret:
            return self._render("two-factor", code_form=form), 422
        try:
            codes = two_factor.enable(user, secret, form.code.data)
        except two_factor.TwoFactorError:
            form.code.errors = list(form.code.errors) + [_(
                "This code does not match. Scan the QR code again (or type the key), then enter the code "
                "the app shows now. Is the phone's clock set automatically?")]
            return self._render("two-factor", code_form=form), 422
        db.session.commit()
        session.pop(SETUP_KEY, None)
        flash(_("Two-factor login is on. From now on you log in with your password and a code."), "success")
        return self._recovery_codes_page(codes)

    @expose("/two-factor/restart", methods=["POST"])
    @has_access
    def two_factor_restart(self):
        """A new key to set up (the app was set up with a wrong one, or someone saw the screen)."""
        if not TwoFactorRestartForm().validate_on_submit():
            abort(400)
        session.pop(SETUP_KEY, None)
        return redirect(url_for(".index", tab="two-factor"))

    @expose("/two-factor/recovery-codes", methods=["POST"])
    @has_access
    def two_factor_codes(self):
        """10 new recovery codes (the old ones stop working), for a code from the app."""
        form = TwoFactorCodeForm()
        user = g.user
        if not two_factor.is_enabled(user):
            return redirect(url_for(".index", tab="two-factor"))
        if not form.validate_on_submit():
            return self._render("two-factor", code_form=form), 422
        if two_factor.check(user, form.code.data) != two_factor.TOTP:
            db.session.rollback()
            record_failed_login()
            form.code.errors = list(form.code.errors) + [_(
                "This code is wrong or has already been used. Enter the code your app shows now.")]
            return self._render("two-factor", code_form=form), 422
        codes = two_factor.renew_recovery_codes(user)
        db.session.commit()
        flash(_("You have new recovery codes. The old ones no longer work."), "success")
        return self._recovery_codes_page(codes)

    @expose("/two-factor/off", methods=["POST"])
    @has_access
    def two_factor_off(self):
        """Turn two-factor login off: with the password and a code; not while it is required."""
        form = TwoFactorOffForm()
        user = g.user
        if not two_factor.is_enabled(user):
            return redirect(url_for(".index", tab="two-factor"))
        if two_factor.is_required(user):
            flash(_("Two-factor login is required for your account: it cannot be turned off."), "warning")
            return self._render("two-factor", off_form=form), 409
        valid = form.validate_on_submit()
        wrong = False
        if form.current_password.data and not check_password_hash(user.password or "", form.current_password.data):
            form.current_password.errors = list(form.current_password.errors) + [_("The current password is wrong.")]
            valid, wrong = False, True
        if valid and not two_factor.check(user, form.code.data):
            db.session.rollback()
            form.code.errors = list(form.code.errors) + [_(
                "This code is wrong or has already been used. Enter the code your app shows now.")]
            valid, wrong = False, True
        if not valid:
            if wrong:
                record_failed_login()  # counts like a wrong password at login (app/security/limits.py)
            return self._render("two-factor", off_form=form), 422
        two_factor.disable(user)
        db.session.commit()
        flash(_("Two-factor login is off. You log in with your password only."), "success")
        return redirect(url_for(".index", tab="two-factor"))

    @expose("/exports", methods=["POST"])
    @has_access
    def export_request(self):
        """Ask for a data export of one's own data, or (a company admin) of the company's."""
        form = DataExportForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            export = data_export.request_export(g.user, form.scope.data)
        except data_export.ExportRefused:
            abort(403)
        db.session.commit()
        if current_app.config.get("MAIL_DELIVERY", "request") != "worker":  # else the worker builds it
            export_id = export.id
            after_response(lambda: data_export.build(export_id))
        flash(_("Your data export is being prepared. It will be offered here for download."), "success")
        return redirect(url_for(".index", tab="export"))

    @expose("/exports/<int:pk>")
    @has_access
    def export_download(self, pk):
        """A ready export of one's own (or, for a company admin, of the company's); 404 otherwise."""
        export = data_export.export_or_none(g.user, pk)
        if export is None:
            abort(404)
        try:
            return files.send_stored(export.stored_name, mimetype="application/zip",
                                     download_name=data_export.file_name(export))
        except StoredFileMissing:
            abort(404)

    @expose("/settings", methods=["POST"])
    @has_access
    def settings(self):
        form = SettingsForm()
        if not form.validate_on_submit():
            return self._render("settings", settings=form), 422
        user = g.user
        user.language = form.language.data
        user.page_size = form.page_size.data
        user.notify_status = form.notify_status.data or user.notify_status
        user.notify_messages = form.notify_messages.data or user.notify_messages
        db.session.commit()
        session["locale"] = user.language
        flash(_("Your settings were saved."), "success")
        return redirect(url_for(".index", tab="settings"))


class PortalEmployeeView(BaseView):
    """A company admin manages the users of their own company."""

    route_base = "/cc/employees"
    class_permission_name = "PortalEmployees"
    method_permission_name = {"list": "list", "add": "add", "activate": "activate", "deactivate": "activate",
                              "quote_right": "quote_right", "quote_settings": "quote_settings",
                              "two_factor_setting": "quote_settings"}
    default_view = "list"

    def _colleague_or_404(self, pk: int) -> PortalUser:
        """A user of the admin's own company; anyone else is 'not found'."""
        require_company()
        user = db.session.scalars(
            select(PortalUser).where(PortalUser.id == pk, PortalUser.company_id == g.user.company_id)
        ).first()
        if user is None or g.user.company_id is None:
            abort(404)
        return user

    @expose("/")
    @has_access
    def list(self):
        return self._render_list()

    def _render_list(self, settings_form=None, status=200):
        require_company()
        users = db.session.scalars(
            select(PortalUser)
            .where(PortalUser.company_id == g.user.company_id)
            .order_by(PortalUser.last_name, PortalUser.first_name)
        ).all() if g.user.company_id else []
        company = g.user.company
        if settings_form is None:
            settings_form = QuoteSettingsForm(formdata=None, data={
                "approval_limit": format_decimal(company.approval_limit or 0, "0.00"),
                "po_number_required": bool(company.po_number_required)})
        return self.render_template("portal/employees.html", users=users, company=company,
                                    settings_form=settings_form, company_admin=roles.COMPANY_ADMIN,
                                    two_factor_form=TwoFactorRequirementForm(
                                        formdata=None, data={"require_two_factor": company.require_two_factor}),
                                    two_factor_on=two_factor.is_enabled), status

    @expose("/two-factor", methods=["POST"])
    @has_access
    def two_factor_setting(self):
        """Require a second factor of every user of the company (each is led to set it up at their next
        request), or no longer require it."""
        require_company()
        form = TwoFactorRequirementForm()
        if not form.validate_on_submit():
            abort(400)
        changed = two_factor.set_company_requirement(g.user.company, form.require_two_factor.data, g.user)
        db.session.commit()
        if changed and form.require_two_factor.data:
            flash(_("Two-factor login is now required for every user of your company. Whoever has not set it "
                    "up is led to do so at their next step in the portal."), "success")
        elif changed:
            flash(_("Two-factor login is no longer required. Users who have it keep it."), "success")
        return redirect(url_for(".list") + "#two-factor-setting")

    @expose("/quote-settings", methods=["POST"])
    @has_access
    def quote_settings(self):
        """The company's approval limit and whether accepting a quote needs a PO number."""
        require_company()
        form = QuoteSettingsForm()
        if form.validate_on_submit():
            try:
                set_quote_settings(g.user.company, form.approval_limit.data, form.po_number_required.data, g.user)
                db.session.commit()
            except SettingInvalid as invalid:
                db.session.rollback()
                getattr(form, invalid.field).errors = [invalid.message]
            else:
                flash(_("The quote settings were saved."), "success")
                return redirect(url_for(".list") + "#quote-settings")
        return self._render_list(settings_form=form, status=400)

    @expose("/<int:pk>/quote-right", methods=["POST"])
    @has_access
    def quote_right(self, pk):
        """Allow an employee to accept and reject quotes, or withdraw it (company admins always may)."""
        user = self._colleague_or_404(pk)
        form = EmployeeQuoteRightForm()
        if not form.validate_on_submit():
            abort(400)
        if user.has_role(roles.COMPANY_ADMIN):
            flash(_("Company admins always may approve quotes."), "info")
            return redirect(url_for(".list"))
        allowed = bool(form.may_approve_quotes.data)
        set_may_approve_quotes(user, allowed, g.user)
        db.session.commit()
        if allowed:
            flash(_("%(name)s may now approve quotes.", name=user.full_name), "success")
        else:
            flash(_("%(name)s may no longer approve quotes.", name=user.full_name), "success")
        return redirect(url_for(".list"))

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def add(self):
        require_company()
        form = EmployeeForm(language=g.user.language)  # the admin's language unless they choose another
        if form.validate_on_submit():
            email = form.email.data.strip().lower()
            if email_taken(email):
                form.email.errors = list(form.email.errors) + [
                    _("There is already an account with this email address.")
                ]
            else:
                try:
                    user, password = create_user(
                        email=email, first_name=form.first_name.data, last_name=form.last_name.data,
                        role_name=roles.CUSTOMER, company=g.user.company, language=form.language.data,
                    )
                    audit.record(audit.EMPLOYEE_CREATED, user, actor=g.user, company_id=user.company_id,
                                 new={"email": user.email, "name": user.full_name, "role": roles.CUSTOMER})
                    set_may_approve_quotes(user, bool(form.may_approve_quotes.data), g.user)
                    notify.employee_created(user, g.user)
                    db.session.commit()
                except AccountError:
                    db.session.rollback()
                    form.email.errors = list(form.email.errors) + [
                        _("There is already an account with this email address.")
                    ]
                else:
                    # The generated password is shown exactly once, on this response.
                    return self.render_template(
                        "portal/access_data.html", employee=user, password=password
                    ), 200, {"Cache-Control": "no-store"}
        return self.render_template("portal/employee_new.html", form=form), (422 if form.errors else 200)

    def _set_active(self, pk: int, active: bool):
        user = self._colleague_or_404(pk)
        if user.id == g.user.id:
            flash(_("You cannot deactivate yourself."), "danger")
            return redirect(url_for(".list"))
        set_active(user, active, g.user)
        db.session.commit()
        if active:
            flash(_("%(name)s can log in again.", name=user.full_name), "success")
        else:
            flash(_("%(name)s was deactivated and can no longer log in.", name=user.full_name), "success")
        return redirect(url_for(".list"))

    @expose("/<int:pk>/deactivate", methods=["POST"])
    @has_access
    def deactivate(self, pk):
        return self._set_active(pk, False)

    @expose("/<int:pk>/activate", methods=["POST"])
    @has_access
    def activate(self, pk):
        return self._set_active(pk, True)

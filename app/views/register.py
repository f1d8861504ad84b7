"""Register: a company without an account requests access; staff decide later."""
from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.models import REQUEST_PENDING, RegistrationRequest
from app.services.accounts import email_taken
from app.security.tokens import user_for_token
from app.services.accounts import set_password
from app.views.portal_forms import RegistrationForm, SetPasswordForm

REGISTER_LIMIT = "5 per hour; 20 per day"


class PortalRegisterView(BaseView):
    """Public: no login needed, rate-limited, with a honeypot field for bots."""

    route_base = "/cc/register"
    default_view = "register"

    @expose("/", methods=["GET", "POST"])
    def register(self):
        form = RegistrationForm()
        if form.validate_on_submit():
            if form.website.data:
                # A bot filled in the invisible field: pretend success, store nothing.
                return redirect(url_for(".done"))
            email = form.email.data.strip().lower()
            pending = db.session.scalar(
                select(func.count()).select_from(RegistrationRequest).where(
                    func.lower(RegistrationRequest.email) == email,
                    RegistrationRequest.state == REQUEST_PENDING,
                )
            )
            if email_taken(email):
                form.email.errors = list(form.email.errors) + [
                    _("There is already an account with this email address. Please log in.")
                ]
            elif pending:
                form.email.errors = list(form.email.errors) + [
                    _("A registration request with this email address is already waiting for approval.")
                ]
            else:
                req = RegistrationRequest(email=email, state=REQUEST_PENDING,
                                          language=str(get_locale() or "de")[:2])
                for name in ("company_name", "street", "postcode", "city", "country", "first_name",
                             "last_name", "phone", "message"):
                    value = getattr(form, name).data
                    setattr(req, name, value.strip() if isinstance(value, str) else value)
                db.session.add(req)
                db.session.commit()
                return redirect(url_for(".done"))
        status = 422 if request.method == "POST" else 200
        return self.render_template("portal/register.html", form=form), status

    @expose("/done")
    def done(self):
        return self.render_template("portal/register_done.html")


def limit_registration(appbuilder, view) -> None:
    """Rate-limit POSTs to the registration form (Flask-Limiter through FAB's limiter)."""
    limit = current_app.config.get("REGISTER_RATE_LIMIT", REGISTER_LIMIT)
    appbuilder.sm.limiter.limit(limit, methods=["POST"])(view.blueprint)


class SetPasswordView(BaseView):
    """Public: the link from a welcome mail lets a new user choose their password (once)."""

    route_base = "/cc/set-password"
    default_view = "set_password"

    @expose("/<token>", methods=["GET", "POST"])
    def set_password(self, token):
        user = user_for_token(token)
        if user is None:
            return self.render_template("portal/set_password_invalid.html"), 404
        form = SetPasswordForm(user=user)
        if form.validate_on_submit():
            set_password(user, form.new_password.data)
            db.session.commit()
            flash(_("Your password was set. You can log in now."), "success")
            return redirect(url_for("PortalAuthDBView.login"))
        status = 422 if request.method == "POST" else 200
        return self.render_template("portal/set_password.html", form=form, user=user), status

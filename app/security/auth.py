"""The login page: email + password, clear messages, a Register button; then the code of a user's
second factor (app/services/two_factor.py) on a page of its own."""
from __future__ import annotations

import time

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_appbuilder.views import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

REFUSAL_MESSAGES = {
    "user_inactive": _l(
        "Your account has been deactivated. Please contact your company's administrator."
    ),
    "company_inactive": _l(
        "Your company's access to the portal has been deactivated. Please contact us."
    ),
}


# the cookie session of a login whose password was right and whose code is still to come
PENDING_KEY = "_two_factor_login"


class LoginForm(DynamicForm):
    username = StringField(_l("Email"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class CodeForm(DynamicForm):
    code = StringField(_l("Login code"), validators=[DataRequired(message=_l("Please enter the code."))])


def pending_login() -> dict | None:
    """The login waiting for its code in this session (None when there is none or its time ran out)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        return None
    return pending


class PortalAuthDBView(AuthDBView):
    login_template = "security/login.html"
    invalid_login_message = _l("Email or password is wrong. Please try again.")

    @expose("/login/", methods=["GET", "POST"])
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = LoginForm()
        if form.validate_on_submit():
            next_url = get_safe_redirect(request.args.get("next", ""))
            user = self.appbuilder.sm.auth_user_db(form.username.data, form.password.data)
            if not user:
                refused = g.pop("login_refused", None)
                flash(as_unicode(REFUSAL_MESSAGES.get(refused, self.invalid_login_message)), "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            from app.security import sessions
            from app.services import two_factor

            if two_factor.is_enabled(user):
                minutes = int(current_app.config.get("TWO_FACTOR_LOGIN_MINUTES", 5))
                session[PENDING_KEY] = {"user": user.id, "login": user.email, "sv": sessions.version_of(user),
                                        "until": int(time.time()) + 60 * minutes, "next": next_url}
                return redirect(url_for(".second_factor"))
            login_user(user, remember=False)
            return redirect(next_url)
        response = self.render_template(
            self.login_template,
            title=_l("Log in"),
            form=form,
            appbuilder=self.appbuilder,
            register_url=url_for("PortalRegisterView.register")
            if "PortalRegisterView.register" in current_app.view_functions
            else None,
        )
        return response, 200, {"Cache-Control": "no-store"}

    @expose("/login/code/", methods=["GET", "POST"])
    def second_factor(self):
        """The second step of a login with two-factor login: the code from the app, or a recovery code.

        Wrong codes count towards the account's login limit (app/security/limits.py), like wrong
        passwords; an accepted code is used up.
        """
        from app.extensions import db
        from app.security import sessions
        from app.security.limits import record_failed_login
        from app.security.manager import refusal
        from app.services import two_factor

        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        pending = pending_login()
        user = self.appbuilder.sm.get_user_by_id(pending["user"]) if pending else None
        if (user is None or refusal(user) or not two_factor.is_enabled(user)
                or sessions.version_of(user) != pending.get("sv")):
            if PENDING_KEY in session:
                session.pop(PENDING_KEY, None)
                flash(_("The time for the code has run out. Please log in again."), "warning")
            return redirect(self.appbuilder.get_url_for_login)
        form = CodeForm()
        status = 200
        if form.validate_on_submit():
            kind = two_factor.check(user, form.code.data)
            if kind:
                db.session.commit()
                session.pop(PENDING_KEY, None)
                login_user(user, remember=False)
                if kind == two_factor.RECOVERY:
                    flash(_("You logged in with a recovery code; it cannot be used again. "
                            "Recovery codes left: %(count)s.", count=two_factor.recovery_codes_left(user)), "warning")
                return redirect(get_safe_redirect(pending.get("next") or "") or self.appbuilder.get_url_for_index)
            db.session.rollback()
            record_failed_login()
            form.code.errors = list(form.code.errors) + [_(
                "This code is wrong or has already been used. Enter the current code from your app, "
                "or one of your recovery codes.")]
            status = 422
        elif request.method == "POST":
            status = 422
        response = self.render_template(
            "security/login_code.html", title=_l("Two-factor login"), form=form, appbuilder=self.appbuilder)
        return response, status, {"Cache-Control": "no-store"}

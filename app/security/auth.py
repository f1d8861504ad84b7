"""The login page: email + password, clear messages, a Register button."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_appbuilder.views import expose
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


class LoginForm(DynamicForm):
    username = StringField(_l("Email"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


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

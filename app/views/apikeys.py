"""API keys of a company, managed by its company admins under "My data".

A key is shown once, when it is made; only its hashes are stored (FAB's
``ab_api_key``). It acts as the admin who made it, for that admin's company,
and stops working when it is revoked or when that admin is deactivated.
"""
from __future__ import annotations

import re

from flask import abort, current_app, flash, g, redirect, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.sqla.models import ApiKey
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.extensions import db
from app.models import PortalUser, utcnow
from app.security.scoping import require_company
from app.services import audit

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ApiKeyForm(FlaskForm):
    name = StringField(
        _l("Name"),
        description=_l("What the key is for, e.g. “ERP”."),
        validators=[DataRequired(_l("Please fill in this field.")), Length(max=100)],
    )


class PortalApiKeyView(BaseView):
    route_base = "/cc/my-data/api-keys"
    class_permission_name = "PortalApiKeys"
    method_permission_name = {"list": "list", "add": "add", "revoke": "revoke"}
    default_view = "list"

    @staticmethod
    def _company_keys():
        return (
            select(ApiKey, PortalUser)
            .join(PortalUser, PortalUser.id == ApiKey.user_id)
            .where(PortalUser.company_id == g.user.company_id)
        )

    def _render(self, form, status=200):
        rows = db.session.execute(
            self._company_keys().order_by(ApiKey.created_on.desc(), ApiKey.id.desc())
        ).all()
        return self.render_template(
            "portal/api_keys.html", form=form, keys=rows,
            api_url=url_for("OrderApi.get_list", _external=True),
        ), status

    @expose("/")
    @has_access
    def list(self):
        require_company()
        return self._render(ApiKeyForm(formdata=None))

    @expose("/", methods=["POST"])
    @has_access
    def add(self):
        require_company()
        form = ApiKeyForm()
        if not form.validate_on_submit():
            return self._render(form, 422)
        name = form.name.data.strip()
        created = current_app.appbuilder.sm.create_api_key(g.user, name)
        if created is None:
            flash(_("The API key could not be created. Please try again."), "danger")
            return self._render(form, 500)
        key = db.session.scalars(select(ApiKey).where(ApiKey.uuid == created["uuid"])).one()
        audit.record(audit.API_KEY_CREATED, key, actor=g.user, company_id=g.user.company_id,
                     new={"name": name, "prefix": created["key"][:8]})
        db.session.commit()
        # The key itself is shown exactly once, on this response, and never stored in clear.
        return self.render_template(
            "portal/api_key_created.html", name=name, key=created["key"],
            api_url=url_for("OrderApi.get_list", _external=True),
        ), 200, {"Cache-Control": "no-store"}

    @expose("/<key_uuid>/revoke", methods=["POST"])
    @has_access
    def revoke(self, key_uuid):
        require_company()
        if not UUID_RE.match(key_uuid or ""):
            abort(404)
        row = db.session.execute(self._company_keys().where(ApiKey.uuid == key_uuid)).first()
        if row is None:
            abort(404)  # another company's key is "not found", as one that does not exist
        key = row[0]
        if key.revoked_on is None:
            key.revoked_on = utcnow()
            audit.record(audit.API_KEY_REVOKED, key, actor=g.user, company_id=g.user.company_id,
                         old={"name": key.name})
            db.session.commit()
        flash(_("The API key “%(name)s” was revoked. It no longer works.", name=key.name), "success")
        return redirect(url_for(".list"))

"""Staff decide on registration requests: approve creates company and company admin."""
from __future__ import annotations

from flask import abort, flash, g, redirect, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import RegistrationRequest
from app.services import notify
from app.services.accounts import AccountError, approve_request, reject_request
from app.views.backend.common import LABELS, StaffModelView, fmt_datetime, fmt_optional

REQUEST_LABELS = {
    **LABELS,
    "company_name": _l("Company"),
    "message": _l("Message"),
    "state": _l("State"),
    "language": _l("Language"),
    "decided_by": _l("Decided by"),
    "decided_at": _l("Decided at"),
    "created_at": _l("Received at"),
}

STATE_LABELS = {"pending": _l("Pending"), "approved": _l("Approved"), "rejected": _l("Rejected")}


class StaffRegistrationView(StaffModelView):
    datamodel = SQLAInterface(RegistrationRequest)
    class_permission_name = "StaffRegistrationRequests"
    route_base = "/backend/registrations"
    include_route_methods = {"list", "show", "approve", "reject"}
    method_permission_name = {"list": "list", "show": "show", "approve": "decide", "reject": "decide"}
    list_title = _l("Registration requests")
    show_title = _l("Registration request")
    label_columns = REQUEST_LABELS
    list_columns = ["company_name", "first_name", "last_name", "email", "state", "created_at"]
    search_columns = ["company_name", "email", "state", "created_at"]
    show_columns = [
        "company_name", "street", "postcode", "city", "country", "first_name", "last_name",
        "email", "phone", "message", "language", "state", "created_at", "decided_by", "decided_at",
        "company",
    ]
    base_order = ("created_at", "desc")
    show_template = "backend/registration_show.html"
    formatters_columns = {
        "state": lambda s: STATE_LABELS.get(s, s),
        "created_at": fmt_datetime,
        "decided_at": fmt_datetime,
        "decided_by": fmt_optional,
        "company": fmt_optional,
    }

    def _request_or_404(self, pk) -> RegistrationRequest:
        req = db.session.get(RegistrationRequest, pk)
        if req is None:
            abort(404)
        return req

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        req = self._request_or_404(pk)
        widgets = self._show(req.id)
        return self.render_template(
            self.show_template, pk=req.id, title=self.show_title, widgets=widgets, req=req
        )

    @expose("/<int:pk>/approve", methods=["POST"])
    @has_access
    def approve(self, pk):
        req = self._request_or_404(pk)
        try:
            company, user, password = approve_request(req, g.user)
            notify.registration_approved(user)
        except AccountError as exc:
            db.session.rollback()
            flash(_account_error_message(exc), "danger")
            return redirect(url_for(".show", pk=pk))
        db.session.commit()
        # The generated password is shown exactly once, on this response.
        return self.render_template(
            "backend/access_data.html",
            title=_("Access data"),
            company=company,
            user=user,
            password=password,
            back_url=url_for(".show", pk=pk),
        ), 200, {"Cache-Control": "no-store"}

    @expose("/<int:pk>/reject", methods=["POST"])
    @has_access
    def reject(self, pk):
        req = self._request_or_404(pk)
        try:
            reject_request(req, g.user)
            notify.registration_rejected(req)
        except AccountError as exc:
            db.session.rollback()
            flash(_account_error_message(exc), "danger")
            return redirect(url_for(".show", pk=pk))
        db.session.commit()
        flash(_("The registration request was rejected."), "success")
        return redirect(url_for(".list"))


def _account_error_message(exc: AccountError) -> str:
    code = str(exc)
    if code == "not_pending":
        return _("This request has already been decided.")
    if code == "email_taken":
        return _("There is already an account with this email address.")
    return _("The request could not be approved.")

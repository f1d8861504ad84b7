"""Webhooks of a company, managed by its company admins under "My data".

The rules (addresses refused, secrets, pausing, the delivery log) are in app/services/webhooks.py;
this is only the web side. Every route takes the endpoint from the admin's own company: another
company's endpoint is "not found", as one that does not exist.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from app.extensions import db
from app.models import WEBHOOK_EVENTS
from app.security.scoping import require_company
from app.services import webhooks


class EventsField(SelectMultipleField):
    """Checkboxes, one per event."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WebhookForm(FlaskForm):
    url = StringField(_l("Address (URL)"), description=_l("The address of your system that receives the events, "
                                                           "e.g. https://erp.example.com/portal-events"))
    events = EventsField(_l("Events"), choices=[(e, webhooks.EVENT_LABELS[e]) for e in WEBHOOK_EVENTS],
                         validate_choice=False)


class PortalWebhookView(BaseView):
    route_base = "/cc/my-data/webhooks"
    class_permission_name = "PortalWebhooks"
    method_permission_name = {"list": "list", "add": "add", "show": "show", "pause": "edit", "resume": "edit",
                              "test": "test", "delete": "delete"}
    default_view = "list"

    @staticmethod
    def _endpoint_or_404(pk: int):
        require_company()
        endpoint = webhooks.endpoint_of(g.user.company_id, pk)
        if endpoint is None:
            abort(404)  # another company's endpoint is "not found", as one that does not exist
        return endpoint

    def _render(self, form, status=200):
        require_company()
        return self.render_template(
            "portal/webhooks.html", form=form, endpoints=webhooks.company_endpoints(g.user.company_id),
            event_labels=webhooks.EVENT_LABELS,
        ), status

    @expose("/")
    @has_access
    def list(self):
        return self._render(WebhookForm(formdata=None, data={"events": list(WEBHOOK_EVENTS)}))

    @expose("/", methods=["POST"])
    @has_access
    def add(self):
        require_company()
        form = WebhookForm()
        if not form.validate_on_submit():
            return self._render(form, 422)
        valid = True
        try:
            webhooks.validate_url(form.url.data)
        except webhooks.WebhookInvalid as invalid:
            form.url.errors = [invalid.message]
            valid = False
        events = [e for e in form.events.data or [] if e in WEBHOOK_EVENTS]
        if not events:
            form.events.errors = [_("Please choose at least one event.")]
            valid = False
        if not valid:
            return self._render(form, 422)
        try:
            endpoint = webhooks.create_endpoint(g.user.company_id, form.url.data, events, g.user)
            db.session.commit()
        except webhooks.WebhookInvalid as invalid:  # the name changed its addresses in between
            db.session.rollback()
            form.url.errors = [invalid.message]
            return self._render(form, 422)
        # The secret is shown here once; the log and the list never show it again.
        return self.render_template(
            "portal/webhook_created.html", endpoint=endpoint, event_labels=webhooks.EVENT_LABELS,
        ), 200, {"Cache-Control": "no-store"}

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        endpoint = self._endpoint_or_404(pk)
        return self.render_template(
            "portal/webhook.html", endpoint=endpoint, deliveries=webhooks.delivery_log(endpoint),
            event_labels=webhooks.EVENT_LABELS, state_of=webhooks.delivery_state, log_size=webhooks.LOG_SIZE,
        )

    @expose("/<int:pk>/pause", methods=["POST"])
    @has_access
    def pause(self, pk):
        endpoint = self._endpoint_or_404(pk)
        webhooks.pause(endpoint, g.user)
        db.session.commit()
        flash(_("The webhook %(url)s is paused: it receives no events until you resume it.", url=endpoint.url),
              "success")
        return redirect(url_for(".list"))

    @expose("/<int:pk>/resume", methods=["POST"])
    @has_access
    def resume(self, pk):
        endpoint = self._endpoint_or_404(pk)
        webhooks.resume(endpoint, g.user)
        db.session.commit()
        flash(_("The webhook %(url)s receives events again.", url=endpoint.url), "success")
        return redirect(url_for(".list"))

    @expose("/<int:pk>/test", methods=["POST"])
    @has_access
    def test(self, pk):
        endpoint = self._endpoint_or_404(pk)
        if not endpoint.active:
            flash(_("Please resume the webhook first: a paused webhook receives no events."), "warning")
            return redirect(url_for(".show", pk=endpoint.id))
        webhooks.ping(endpoint, g.user)
        db.session.commit()
        flash(_("A test event is on its way. Its result appears in the delivery log."), "success")
        return redirect(url_for(".show", pk=endpoint.id))

    @expose("/<int:pk>/delete", methods=["POST"])
    @has_access
    def delete(self, pk):
        endpoint = self._endpoint_or_404(pk)
        url = endpoint.url
        webhooks.delete_endpoint(endpoint, g.user)
        db.session.commit()
        flash(_("The webhook %(url)s was deleted.", url=url), "success")
        return redirect(url_for(".list"))

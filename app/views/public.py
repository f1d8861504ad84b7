"""The public order form at /repair/: a repair order without an account, and its status page.

The status page is reached with the RMA number plus the email address of the
order; anything else (a wrong email, an unknown number, an order that did not
come through this form) gets the same answer, so orders cannot be enumerated.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.models import CUSTOMER_FIELDS, SOURCE_FRONTEND, Order, OrderMessage
from app.security.bots import filled_in_by_a_person, started_token
from app.services import idempotency, notify
from app.services.orders import create_frontend_order
from app.services.slip_pdf import slip_pdf_response
from app.views.order_form import SendAgain, add_article_row, form_once, give_form_token, order_sent_before, \
    renew_form_token, save_order_with_files
from app.views.public_forms import PublicOrderForm, StatusLookupForm

ORDER_LIMIT = "5 per minute; 50 per day"
STATUS_LIMIT = "10 per minute; 100 per day"
SENT_KEY = "public_order_sent"
SEEN_KEY = "public_orders_seen"  # ids of the orders this visitor sent or looked up (slip download)
MAX_SEEN = 20
NO_STORE = {"Cache-Control": "no-store"}


def _customer_data(form: PublicOrderForm) -> dict:
    data = {name: (getattr(form, name).data or "").strip() for name in CUSTOMER_FIELDS}
    data["email"] = data["email"].lower()
    return data


class PublicOrderView(BaseView):
    """Public: anyone sends a repair order with customer data, articles and files."""

    route_base = "/repair"
    default_view = "form"

    @expose("/", methods=["GET", "POST"])
    def form(self):
        form = PublicOrderForm()
        too_fast = False
        if request.method == "POST" and not add_article_row(form):
            if form.website.data:
                # A bot filled in the invisible field: pretend success, store nothing.
                return redirect(url_for(".sent"))
            # The token has no user: it finds its order only together with the order's email
            # address, the same proof the status page asks for.
            once = form_once(form, None, "public:orders", (form.email.data or "").strip().lower())
            try:
                first = order_sent_before(once)
                if first is not None:
                    return self._already_created(first)
                too_fast = not filled_in_by_a_person(form.started.data)
                if form.validate_on_submit() and not too_fast:
                    order = save_order_with_files(form, lambda articles: self._create_order(form, articles),
                                                  once=once)
                    if order is not None:
                        return self._sent(order)
            except idempotency.Replay as replay:
                return self._already_created(db.session.get(Order, replay.entry.order_id))
            except SendAgain:
                renew_form_token(form)
                flash(_("The form could not be sent. Please send it again."), "warning")
        if too_fast or not form.started.data:
            form.started.data = started_token()  # the time runs from this page on
        give_form_token(form)
        status = 422 if request.method == "POST" and (form.errors or too_fast) else 200
        # a one-time token is in the page: no cache may hand it to another visitor
        return self.render_template("public/order_form.html", form=form, too_fast=too_fast), status, NO_STORE

    def _sent(self, order: Order):
        session[SENT_KEY] = order.rma_number
        remember_order(order)
        return redirect(url_for(".sent"))

    def _already_created(self, order: Order):
        flash(_("This order was already created."), "info")
        return self._sent(order)

    @staticmethod
    def _create_order(form: PublicOrderForm, articles: list[dict]) -> Order:
        """The order, and the customer's confirmation in the language they used."""
        reference = (form.reference.data or "").strip()
        order = create_frontend_order(_customer_data(form), reference, articles,
                                      language=str(get_locale() or "de")[:2])
        notify.public_order_received(order)
        return order

    @expose("/sent")
    def sent(self):
        rma_number = session.get(SENT_KEY)
        if not rma_number:
            return redirect(url_for(".form"))
        order = find_public_order_by_rma(rma_number)
        return self.render_template("public/order_sent.html", rma_number=rma_number,
                                    slip_id=order.id if order is not None and order.id in seen_orders() else None)

    @expose("/slip/<int:pk>.pdf")
    def slip_pdf(self, pk):
        """The order slip as PDF, for a visitor who sent the order or looked it up with its email address."""
        if pk not in seen_orders():
            abort(404)
        order = db.session.get(Order, pk)
        if order is None or order.source != SOURCE_FRONTEND:
            abort(404)
        return slip_pdf_response(order)


class PublicStatusView(BaseView):
    """Public: the status of an order from the form, by RMA number plus email address."""

    route_base = "/repair/status"
    default_view = "lookup"

    @expose("/", methods=["GET", "POST"])
    def lookup(self):
        form = StatusLookupForm()
        if request.method == "GET":
            form.rma_number.data = (request.args.get("rma") or "").strip()[:40]
            return self.render_template("public/status_lookup.html", form=form, not_found=False)
        if not form.validate_on_submit():
            return self.render_template("public/status_lookup.html", form=form, not_found=False), 422
        order = find_public_order(form.rma_number.data, form.email.data)
        if order is None:
            # One answer for a wrong email, an unknown number and an order from elsewhere.
            return self.render_template("public/status_lookup.html", form=form, not_found=True), 404, NO_STORE
        messages = db.session.scalars(
            select(OrderMessage)
            .where(OrderMessage.order_id == order.id, OrderMessage.from_staff.is_(True),
                   OrderMessage.internal.is_(False))
            .order_by(OrderMessage.created_at, OrderMessage.id)
        ).all()
        remember_order(order)
        return self.render_template("public/status.html", order=order, messages=messages), 200, NO_STORE


def seen_orders() -> list[int]:
    return [i for i in session.get(SEEN_KEY, []) if isinstance(i, int)]


def remember_order(order: Order) -> None:
    """This visitor proved they may see ``order`` (sent it, or gave its RMA number and email)."""
    seen = [i for i in seen_orders() if i != order.id] + [order.id]
    session[SEEN_KEY] = seen[-MAX_SEEN:]


def find_public_order_by_rma(rma_number: str):
    return db.session.scalars(
        select(Order).where(Order.rma_number == rma_number, Order.source == SOURCE_FRONTEND)
    ).first()


def find_public_order(rma_number: str, email: str):
    """The order from the public form with exactly this RMA number and email address, or None."""
    rma_number = (rma_number or "").strip().upper()
    email = (email or "").strip().lower()
    if not rma_number or not email:
        return None
    return db.session.scalars(
        select(Order).where(Order.rma_number == rma_number, Order.source == SOURCE_FRONTEND,
                            func.lower(Order.email) == email)
    ).first()


def limit_public_forms(appbuilder, order_view, status_view) -> None:
    """Rate-limit what the public forms send, per address (Flask-Limiter through FAB's limiter).

    "Add article" without JavaScript sends the form but stores nothing: it does not count.
    """
    limiter = appbuilder.sm.limiter
    config = current_app.config
    limiter.limit(config.get("PUBLIC_ORDER_RATE_LIMIT", ORDER_LIMIT), methods=["POST"],
                  exempt_when=lambda: "add_article" in request.form)(order_view.blueprint)
    limiter.limit(config.get("PUBLIC_STATUS_RATE_LIMIT", STATUS_LIMIT), methods=["POST"])(status_view.blueprint)

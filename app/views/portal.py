"""The customer portal at /cc/: the company's orders, new orders, files."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, joinedload

from app.errors import valid_id
from app.extensions import db
from app.models import QUOTE_SENT, utcnow
from app.models import PAGE_SIZES, Order, OrderItem, OrderMessage, OrderStatus, PortalUser
from app.security.scoping import attachment_or_404, company_orders, current_company_id, order_or_404, \
    order_page_or_404, require_company, with_creator_name
from app.services import export, files, idempotency, notify, quotes, turnaround
from app.services.orders import create_portal_order
from app.services.slip import render_slip
from app.services.slip_pdf import slip_pdf_response
from app.views.index import home_url
from app.views.order_form import SendAgain, add_article_row, form_once, give_form_token, order_sent_before, \
    renew_form_token, save_order_with_files
from app.views.portal_forms import AcceptQuoteForm, MessageForm, NewOrderForm, RejectQuoteForm, UploadForm

def page_size_of(user) -> int:
    """The user's orders per page, clamped to what the settings offer."""
    size = getattr(user, "page_size", None)
    return size if size in PAGE_SIZES else 25


def render_order_page(view, order, *, upload_form=None, message_form=None, accept_form=None, reject_form=None,
                      status=200):
    """The portal's order page: the order, its quote (with the decision forms for those who may
    decide), articles, files and messages. Forms passed in are shown with their input and errors."""
    if upload_form is None:
        upload_form = UploadForm(formdata=None)
    upload_form.target.choices = PortalOrderView._targets(order)
    # an order read for its page says whether it has messages and a quote (order_page_or_404)
    messages = db.session.scalars(
        select(OrderMessage)
        .where(OrderMessage.order_id == order.id, OrderMessage.company_id == order.company_id,
               OrderMessage.internal.is_(False))
        .options(joinedload(OrderMessage.author))
        .order_by(OrderMessage.created_at, OrderMessage.id)
    ).all() if getattr(order, "page_has_messages", True) else []
    quote = (quotes.current_quote(order.id, current_company_id(), with_lines=True, articles=order.items)
             if getattr(order, "page_has_quote", True) else None)
    can_decide = quote is not None and quotes.decidable(quote) and quotes.may_decide(g.user)
    return view.render_template(
        "portal/order.html", order=order, form=upload_form, messages=messages,
        message_form=message_form or MessageForm(formdata=None),
        quote=quote, can_decide=can_decide, today=utcnow().date(),
        # the due date waits while the quote waits for the customer's decision
        waiting={order.id} if quote is not None and quote.state == QUOTE_SENT else set(),
        accept_form=accept_form or AcceptQuoteForm(formdata=None),
        reject_form=reject_form or RejectQuoteForm(formdata=None),
    ), status


class PortalHomeView(BaseView):
    """``/cc/``: the portal's address."""

    route_base = "/cc"
    default_view = "home"

    @expose("/")
    def home(self):
        user = g.user
        if user is None or not user.is_authenticated:
            return redirect(url_for("PortalAuthDBView.login", next="/cc/"))
        if getattr(user, "company_id", None):
            return redirect(url_for("PortalOrderView.list"))
        return redirect(home_url())


class PortalOrderView(BaseView):
    """A company's orders. Every query goes through :mod:`app.security.scoping`."""

    route_base = "/cc/orders"
    class_permission_name = "PortalOrders"
    method_permission_name = {
        "list": "list", "show": "show", "add": "add", "upload": "upload", "download": "download",
        "message": "message", "export": "export", "slip": "show", "slip_pdf": "show",
    }
    default_view = "list"

    SORTS = {
        "rma": lambda creator: Order.rma_number,
        "reference": lambda creator: Order.reference,
        "date": lambda creator: Order.created_at,
        "created_by": lambda creator: creator.last_name,
        "items": lambda creator: Order.item_count,
        "status": lambda creator: OrderStatus.position,
    }

    CREATOR = aliased(PortalUser, name="creator")  # the list's join to who created each order

    @staticmethod
    def _list_args() -> dict:
        sort = request.args.get("sort", "date")
        return {
            "q": (request.args.get("q") or "").strip()[:100],
            "status_id": valid_id(request.args.get("status")),
            "sort": sort if sort in PortalOrderView.SORTS else "date",
            "direction": "asc" if request.args.get("dir") == "asc" else "desc",
        }

    def _sorted(self, stmt, sort: str, direction: str, creator=None):
        """``stmt`` in the list's order; ``creator`` is the aliased user the statement already joins."""
        if creator is None:
            creator = aliased(PortalUser)
            if sort == "created_by":
                stmt = stmt.outerjoin(creator, Order.created_by_id == creator.id)
        if sort == "status":
            stmt = stmt.join(OrderStatus, Order.status_id == OrderStatus.id)
        column = self.SORTS[sort](creator)
        ordering = [column.asc(), Order.id.asc()] if direction == "asc" else [column.desc(), Order.id.desc()]
        return stmt.order_by(*ordering)

    @staticmethod
    def _filtered(q: str, status_id):
        """The company's orders matching the search, without joins (the count stays an index scan)."""
        stmt = company_orders()
        if q:
            like = f"%{q}%"
            serial_match = (
                select(OrderItem.id)
                .where(OrderItem.order_id == Order.id, OrderItem.company_id == Order.company_id,
                       OrderItem.serial_number.ilike(like))
                .exists()
            )
            stmt = stmt.where(or_(Order.rma_number.ilike(like), Order.reference.ilike(like), serial_match))
        if status_id:
            stmt = stmt.where(Order.status_id == status_id)
        return stmt

    @expose("/")
    @has_access
    def list(self):
        args = self._list_args()
        q, status_id, sort, direction = args["q"], args["status_id"], args["sort"], args["direction"]
        page = valid_id(request.args.get("page")) or 1
        per_page = page_size_of(g.user)
        stmt = self._filtered(q, status_id)
        # count(*), not count(id): PostgreSQL answers it from the company's index alone (an index-only
        # scan, 1.5 ms for 10,000 orders), where count(id) visits every row's page (38 ms)
        count = stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
        # the count rides along with the status list (a subquery both databases run once): one
        # statement, where two cost PostgreSQL a round trip more
        with_count = db.session.execute(
            select(OrderStatus, count.scalar_subquery()).order_by(OrderStatus.position)).all()
        statuses = [status for status, _ in with_count]
        total = with_count[0][1] if with_count else db.session.scalar(count)
        pages = max((total + per_page - 1) // per_page, 1)
        page = min(page, pages)

        # The page's rows as plain columns, not as Order objects: the list shows ten values of each,
        # and building and lazily completing 25-100 mapped objects cost more than the query.
        creator = self.CREATOR
        rows = db.session.execute(
            self._sorted(
                stmt.with_only_columns(
                    Order.id, Order.rma_number, Order.reference, Order.created_at, Order.item_count,
                    Order.status_id, Order.due_date, Order.completed_at, creator.first_name, creator.last_name,
                    turnaround.waiting_for_decision_column().label("waiting"), maintain_column_froms=True,
                ).outerjoin(creator, Order.created_by_id == creator.id),
                sort, direction, creator,
            ).limit(per_page).offset((page - 1) * per_page)
        ).all()
        return self.render_template(
            "portal/orders.html",
            orders=rows, statuses=statuses, status_of={s.id: s for s in statuses},
            labels={s.id: s.label for s in statuses}, total=total, page=page,
            pages=pages, q=q, status_id=status_id, sort=sort, direction=direction, per_page=per_page,
            today=utcnow().date(), waiting={row.id for row in rows if row.waiting},
            # one link built, the others by its pattern (url_for per row was a tenth of the page)
            order_url=url_for(".show", pk=0)[:-1],
        )

    @expose("/export.csv")
    @has_access
    def export(self):
        """The overview as currently searched, filtered and sorted, all pages, as CSV."""
        args = self._list_args()
        db.session.scalars(select(OrderStatus)).all()  # every order's status from the session
        stmt = self._sorted(self._filtered(args["q"], args["status_id"]), args["sort"], args["direction"])
        stmt = stmt.options(with_creator_name())
        header = [_("RMA number"), _("Reference number"), _("Date"), _("Created by"), _("Articles"), _("Status")]
        rows = ([o.rma_number, o.reference, export.when(o.created_at),
                 o.created_by.full_name if o.created_by else "", o.item_count, o.status.label]
                for o in db.session.scalars(stmt.execution_options(yield_per=500)))
        return export.csv_response(f"{_('orders')}-{utcnow():%Y-%m-%d}.csv", header, rows)

    @expose("/<int:pk>/slip")
    @has_access
    def slip(self, pk):
        """A printable slip with the RMA number as a barcode, for the parcel."""
        order = order_or_404(pk)
        return render_slip(order, url_for(".show", pk=order.id), url_for(".slip_pdf", pk=order.id))

    @expose("/<int:pk>/slip.pdf")
    @has_access
    def slip_pdf(self, pk):
        """The same slip as a PDF file."""
        return slip_pdf_response(order_or_404(pk))

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        order = order_page_or_404(pk)
        return self._render_order(order, UploadForm(), MessageForm(formdata=None))

    def _render_order(self, order, form, message_form, status=200):
        return render_order_page(self, order, upload_form=form, message_form=message_form, status=status)

    @expose("/<int:pk>/messages", methods=["POST"])
    @has_access
    def message(self, pk):
        order = order_or_404(pk)
        form = MessageForm()
        if not form.validate_on_submit():
            upload_form = UploadForm(formdata=None)
            upload_form.target.choices = self._targets(order)
            return self._render_order(order, upload_form, form, 422)
        message = OrderMessage(order=order, company_id=order.company_id, author_id=g.user.id,
                               from_staff=False, internal=False, body=form.body.data.strip())
        db.session.add(message)
        db.session.flush()
        notify.message_posted(message)
        db.session.commit()
        flash(_("Your message was sent."), "success")
        return redirect(url_for(".show", pk=order.id) + "#messages")

    @staticmethod
    def _targets(order):
        choices = [("order", _("the whole order"))]
        for n, item in enumerate(order.items, start=1):
            label = " · ".join(p for p in (item.article_number, item.description, item.serial_number) if p)
            choices.append((str(item.id), _("Article %(n)d: %(label)s", n=n, label=label)))
        return choices

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def add(self):
        require_company()
        form = NewOrderForm()
        if not add_article_row(form) and request.method == "POST":
            user = g.user
            once = form_once(form, user.id, "portal:orders")
            try:
                # sent twice (a double click, the browser's retry): the first order, not a second
                first = order_sent_before(once)
                if first is not None:
                    return self._already_created(first)
                if form.validate_on_submit():
                    order = save_order_with_files(
                        form,
                        lambda articles: create_portal_order(user.company, user, form.reference.data.strip(),
                                                             articles),
                        user=user, once=once,
                    )
                    if order is not None:
                        flash(_("Your order was saved. Its RMA number is %(rma)s.", rma=order.rma_number),
                              "success")
                        return redirect(url_for(".show", pk=order.id))
            except idempotency.Replay as replay:
                return self._already_created(db.session.get(Order, replay.entry.order_id))
            except SendAgain:
                renew_form_token(form)
                flash(_("The form could not be sent. Please send it again."), "warning")
        give_form_token(form)
        return self.render_template("portal/new_order.html", form=form)

    @staticmethod
    def _already_created(order):
        flash(_("This order was already created."), "info")
        return redirect(url_for(".show", pk=order.id))

    @expose("/<int:pk>/files", methods=["POST"])
    @has_access
    def upload(self, pk):
        order = order_or_404(pk)
        form = UploadForm()
        form.target.choices = self._targets(order)
        if not form.validate_on_submit():
            for error in form.files.errors + form.target.errors:
                flash(str(error), "danger")
            return redirect(url_for(".show", pk=order.id) + "#files")
        item = None
        if form.target.data != "order":
            # choices only hold this order's articles; look it up scoped all the same
            item = next((i for i in order.items if str(i.id) == form.target.data), None)
            if item is None:
                abort(404)
        try:
            stored = files.attach(order, files.real_files(form.files.data), item=item, user=g.user)
        except files.UploadRefused as refused:
            flash(refused.message, "danger")
            return redirect(url_for(".show", pk=order.id) + "#files")
        flash(ngettext("%(num)d file uploaded.", "%(num)d files uploaded.", len(stored)), "success")
        return redirect(url_for(".show", pk=order.id) + "#files")

    @expose("/<int:pk>/files/<int:file_id>")
    @has_access
    def download(self, pk, file_id):
        return files.send_attachment(attachment_or_404(pk, file_id))

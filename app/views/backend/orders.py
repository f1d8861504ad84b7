"""Staff orders: every order of every source, its articles, status history, files, slip and export."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_filter_args
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField, StringField

from app.errors import valid_id
from app.extensions import db
from app.models import (
    CUSTOMER_FIELDS,
    SOURCE_BACKEND,
    SOURCE_PORTAL,
    Attachment,
    Company,
    Order,
    OrderItem,
    OrderMessage,
    OrderStatus,
    StatusChange,
    utcnow,
)
from app.services import audit, export, files, notify
from app.services.orders import change_status, keep_customer_data, prepare_new_order
from app.services.slip import render_slip
from app.services.slip_pdf import slip_pdf_response
from app.views.backend.common import (
    LABELS,
    NO_GENERIC_ROUTES,
    ORDER_FORMATTERS,
    SOURCE_LABELS,
    StaffModelView,
    changed_values,
    fmt_datetime,
    fmt_optional,
)
from app.views.backend.filters import OrderInterface, due_choices, status_choices, warranty_choices
from app.views.backend.quotes import quote_context
from app.views.forms import StaffItemForm
from app.views.portal_forms import StaffMessageForm


class StaffOrderView(StaffModelView):
    """All orders of every source; status changes write the history."""

    record_name = _l("Order")
    datamodel = OrderInterface(Order)
    class_permission_name = "StaffOrders"
    route_base = "/backend/orders"
    exclude_route_methods = NO_GENERIC_ROUTES | {"delete"}
    method_permission_name = {
        "list": "list",
        "show": "show",
        "add": "add",
        "edit": "edit",
        "change_status": "change_status",
        "add_item": "edit",
        "download_file": "download",
        "message": "message",
        "slip": "show",
        "slip_pdf": "show",
        "export": "export",
    }

    list_title = _l("Orders")
    show_title = _l("Order")
    add_title = _l("New order")
    edit_title = _l("Edit order")
    label_columns = LABELS
    list_columns = ["rma_number", "reference", "company", "source", "customer_name", "item_count", "status",
                    "created_at", "due_date"]
    order_columns = ["rma_number", "reference", "source", "customer_name", "item_count", "created_at"]
    search_columns = ["rma_number", "reference", "status", "source", "company", "created_at", "items", "due_date",
                      "warranty"]
    search_form_extra_fields = {
        "items": StringField(_l("Serial number")),
        "company": StringField(_l("Company")),
        # choices read when the form is shown: statuses are staff-editable data
        "status": SelectField(_l("Status"), choices=status_choices, validate_choice=False),
        # open orders only; "due within 2 days" counts calendar days
        "due_date": SelectField(_l("Due by"), choices=due_choices, validate_choice=False),
        # orders with an article in warranty / expired / unknown, as the order was created
        "warranty": SelectField(_l("Warranty"), choices=warranty_choices, validate_choice=False),
    }
    base_order = ("created_at", "desc")
    show_columns = [
        "rma_number", "reference", "source", "company", "status", "created_by", "created_at",
        "updated_at", *CUSTOMER_FIELDS,
    ]
    add_columns = ["reference", *CUSTOMER_FIELDS]
    edit_columns = ["reference", *CUSTOMER_FIELDS]
    formatters_columns = ORDER_FORMATTERS
    list_template = "backend/order_list.html"
    show_template = "backend/order_show.html"
    edit_template = "backend/order_edit.html"

    def pre_add(self, item: Order) -> None:
        item.source = SOURCE_BACKEND
        item.company_id = None
        prepare_new_order(item, g.user)

    def pre_update(self, item: Order) -> None:
        """Customer data of portal orders cannot be changed, whatever is posted."""
        if item.source == SOURCE_PORTAL:
            if keep_customer_data(item, submitted=set(request.form)):
                flash(_("The customer data of portal orders cannot be changed; they were kept."), "warning")
            return
        old, new = changed_values(item, CUSTOMER_FIELDS)
        if new:
            audit.record(audit.ORDER_CUSTOMER_DATA, item, actor=g.user, company_id=item.company_id,
                         old=old, new=new)

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        # Portal orders: the customer data is shown read-only above the form instead.
        order = g.get("editing_order")
        if order is not None and order.source == SOURCE_PORTAL:
            exclude_cols = list(exclude_cols or []) + list(CUSTOMER_FIELDS)
        return super()._get_edit_widget(form=form, exclude_cols=exclude_cols, widgets=widgets)

    def _order_or_404(self, pk) -> Order:
        order = db.session.get(Order, pk)
        if order is None:
            abort(404)
        return order

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        order = self._order_or_404(pk)
        widgets = self._show(order.id)
        statuses = db.session.scalars(select(OrderStatus).order_by(OrderStatus.position)).all()
        messages = db.session.scalars(
            select(OrderMessage).where(OrderMessage.order_id == order.id)
            .order_by(OrderMessage.created_at, OrderMessage.id)
        ).all()
        return self.render_template(
            self.show_template,
            pk=order.id,
            title=self.show_title,
            widgets=widgets,
            order=order,
            statuses=statuses,
            messages=messages,
            **quote_context(order),
        )

    @expose("/export.csv")
    @has_access
    def export(self):
        """Every order the list's current filters match, streamed from the database as CSV."""
        get_filter_args(self._filters)
        filters = self._filters.get_joined_filters(self._base_filters)
        query = filters.apply_all(
            db.session.query(Order)
            .outerjoin(Company, Company.id == Order.company_id)
            .join(OrderStatus, OrderStatus.id == Order.status_id)
        )
        english = str(get_locale() or "de").startswith("en")
        stmt = (
            query.with_entities(Order.rma_number, Order.reference, Order.source, Company.customer_number,
                                Order.customer_name, Order.item_count,
                                OrderStatus.label_en if english else OrderStatus.label_de, Order.created_at)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .statement
        )
        header = [str(LABELS[c]) for c in ("rma_number", "reference", "source", "customer_number",
                                           "customer_name", "item_count", "status", "created_at")]
        sources = {k: str(v) for k, v in SOURCE_LABELS.items()}
        engine = db.engine

        def rows():
            # its own connection: the request's session is gone while the file streams
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=2000).execute(stmt)
                for rma, ref, source, number, name, items, status, created in result:
                    yield [rma, ref, sources.get(source, source), number, name, items, status,
                           export.when(created)]

        return export.streamed_csv_response(f"{_('orders')}-{utcnow():%Y-%m-%d}.csv", header, rows())

    @expose("/<int:pk>/slip")
    @has_access
    def slip(self, pk):
        order = self._order_or_404(pk)
        return render_slip(order, url_for(".show", pk=order.id), url_for(".slip_pdf", pk=order.id))

    @expose("/<int:pk>/slip.pdf")
    @has_access
    def slip_pdf(self, pk):
        """The same slip as a PDF file."""
        return slip_pdf_response(self._order_or_404(pk))

    @expose("/<int:pk>/messages", methods=["POST"])
    @has_access
    def message(self, pk):
        order = self._order_or_404(pk)
        form = StaffMessageForm()
        if not form.validate_on_submit():
            flash(_("Please write a message."), "danger")
            return redirect(url_for(".show", pk=order.id) + "#messages")
        message = OrderMessage(order=order, company_id=order.company_id, author_id=g.user.id, from_staff=True,
                               internal=bool(form.internal.data), body=form.body.data.strip())
        db.session.add(message)
        db.session.flush()
        sent = notify.message_posted(message)
        db.session.commit()
        if message.internal:
            flash(_("Internal note saved."), "success")
        elif sent:
            flash(_("Message sent to the customer."), "success")
        else:
            flash(_("The message was saved, but nobody could be told: the order has no portal users "
                    "and no email address from the order form."), "warning")
        return redirect(url_for(".show", pk=order.id) + "#messages")

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        order = self._order_or_404(pk)
        g.editing_order = order
        widgets = self._edit(order.id)
        if not widgets:
            return self.post_edit_redirect()
        return self.render_template(
            self.edit_template, title=self.edit_title, widgets=widgets, order=order,
            customer_fields=CUSTOMER_FIELDS, labels=self.label_columns,
        )

    @expose("/<int:pk>/status", methods=["POST"])
    @has_access
    def change_status(self, pk):
        order = self._order_or_404(pk)
        status = db.session.get(OrderStatus, valid_id(request.form.get("status_id")) or 0)
        if status is None:
            flash(_("Please choose a status."), "danger")
        elif (change := change_status(order, status, g.user, request.form.get("note"))) is None:
            flash(_("The order already has this status."), "info")
        else:
            db.session.flush()
            notify.status_changed(order, change)
            db.session.commit()
            flash(_("Status changed to %(status)s.", status=status.label), "success")
        return redirect(url_for(".show", pk=order.id))

    @expose("/<int:pk>/items", methods=["POST"])
    @has_access
    def add_item(self, pk):
        order = self._order_or_404(pk)
        form = StaffItemForm(request.form)
        if form.validate():
            item = OrderItem(company_id=order.company_id)
            form.populate_obj(item)
            order.items.append(item)
            order.item_count = len(order.items)
            db.session.commit()
            flash(_("Article added."), "success")
        else:
            for field, errors in form.errors.items():
                flash(f"{form[field].label.text}: {' '.join(str(e) for e in errors)}", "danger")
        return redirect(url_for(".show", pk=order.id))

    @expose("/file/<int:pk>", methods=["GET"])
    @has_access
    def download_file(self, pk):
        attachment = db.session.get(Attachment, pk)
        if attachment is None:
            abort(404)
        return files.send_attachment(attachment)


class StaffOrderItemView(StaffModelView):
    """Edit or remove one article of an order (reached from the order page)."""

    record_name = _l("Article")
    datamodel = SQLAInterface(OrderItem)
    class_permission_name = "StaffOrderItems"
    route_base = "/backend/articles"
    include_route_methods = {"edit", "delete", "remove"}
    method_permission_name = {"edit": "edit", "delete": "delete", "remove": "delete"}
    label_columns = LABELS
    edit_title = _l("Edit article")
    edit_columns = ["article_number", "description", "serial_number", "quantity", "fault_description"]
    validators_columns = {}

    def post_edit_redirect(self):
        return redirect(self._order_url())

    def post_delete_redirect(self):
        return redirect(self._order_url())

    def _order_url(self):
        pk = request.view_args.get("pk")
        item = db.session.get(OrderItem, pk) if pk else None
        order_id = item.order_id if item else request.args.get("order", type=int)
        if order_id:
            return url_for("StaffOrderView.show", pk=order_id)
        return url_for("StaffOrderView.list")

    def pre_update(self, item: OrderItem) -> None:
        if item.quantity is None or item.quantity < 1:
            raise ValueError(_("The quantity must be at least 1."))

    def _item_or_404(self, pk) -> OrderItem:
        item = db.session.get(OrderItem, valid_id(pk) or 0)
        if item is None:
            abort(404)
        return item

    @expose("/<int:pk>/remove", methods=["GET"])
    @has_access
    def remove(self, pk):
        """Ask before an article is removed: what goes, what stays (its files stay with the order)."""
        item = self._item_or_404(pk)
        return self.render_template("backend/article_remove.html", item=item, order=item.order,
                                    title=_("Remove article"))

    @expose("/delete/<pk>", methods=["POST"])
    @has_access
    def delete(self, pk):
        """Remove the article (after the question on the remove page); audited with what it held."""
        item = self._item_or_404(pk)
        order = item.order
        order_id = order.id
        removed = {name: getattr(item, name) for name in ITEM_FIELDS}
        for attachment in list(item.attachments):
            attachment.item_id = None  # the file stays with the order
        order.items.remove(item)
        order.item_count = len(order.items)
        audit.record(audit.ORDER_ITEM_REMOVED, order, actor=g.user, company_id=order.company_id, old=removed)
        db.session.commit()
        flash(_("Article “%(description)s” removed from order %(rma)s.", description=removed["description"],
                rma=order.rma_number), "success")
        return redirect(url_for("StaffOrderView.show", pk=order_id))


ITEM_FIELDS = ("article_number", "description", "serial_number", "quantity", "fault_description")


class StaffStatusHistoryView(StaffModelView):
    datamodel = SQLAInterface(StatusChange)
    class_permission_name = "StaffStatusHistory"
    route_base = "/backend/history"
    include_route_methods = {"list", "show"}
    list_title = _l("Status history")
    show_title = _l("Status change")
    label_columns = LABELS
    list_columns = ["order", "from_status", "to_status", "changed_by", "changed_at", "note"]
    formatters_columns = {"changed_at": fmt_datetime, "from_status": fmt_optional}
    base_order = ("changed_at", "desc")
    search_columns = ["changed_at"]

"""The staff backend: every order of every source, companies, users, statuses."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import SQLAFilterConverter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_filter_args
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from wtforms import BooleanField, SelectField, StringField
from wtforms.widgets import CheckboxInput
from wtforms.validators import Length, Optional

from app.errors import valid_id
from app.extensions import db
from app.models import (
    CUSTOMER_FIELDS,
    AuditEvent,
    OrderMessage,
    OutgoingMail,
    SOURCE_BACKEND,
    SOURCE_PORTAL,
    Attachment,
    Company,
    Order,
    OrderItem,
    OrderStatus,
    PortalUser,
    StatusChange,
    utcnow,
)
from app.services import audit, export, files, notify
from app.services.accounts import next_customer_number
from app.services.slip import render_slip
from app.services.slip_pdf import slip_pdf_response
from app.services.orders import change_status, keep_customer_data, prepare_new_order

LABELS = {
    "rma_number": _l("RMA number"),
    "reference": _l("Reference number"),
    "company": _l("Company"),
    "source": _l("Source"),
    "status": _l("Status"),
    "created_at": _l("Created at"),
    "updated_at": _l("Updated at"),
    "created_by": _l("Created by"),
    "customer_name": _l("Customer"),
    "contact_person": _l("Contact person"),
    "street": _l("Street"),
    "postcode": _l("Postcode"),
    "city": _l("City"),
    "country": _l("Country"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "items": _l("Serial number"),
    "item_count": _l("Articles"),
    "article_number": _l("Article number"),
    "description": _l("Description"),
    "serial_number": _l("Serial number"),
    "quantity": _l("Quantity"),
    "fault_description": _l("Fault description"),
    "customer_number": _l("Customer number"),
    "name": _l("Name"),
    "vat_id": _l("VAT ID"),
    "active": _l("Active"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "roles": _l("Roles"),
    "last_login": _l("Last login"),
    "code": _l("Code"),
    "label_de": _l("German label"),
    "label_en": _l("English label"),
    "position": _l("Position"),
    "is_initial": _l("Initial"),
    "is_final": _l("Final"),
    "order": _l("Order"),
    "from_status": _l("From"),
    "to_status": _l("To"),
    "changed_by": _l("Changed by"),
    "changed_at": _l("Changed at"),
    "note": _l("Note"),
}

# FAB routes the backend never uses: generic actions and FAB's unscoped file download.
NO_GENERIC_ROUTES = {"action", "action_post", "download"}


SOURCE_LABELS = {"portal": _l("Portal"), "frontend": _l("Order form"), "backend": _l("Backend")}


def fmt_datetime(value) -> str:
    """Local time in the user's language (stored as UTC)."""
    return format_datetime(value, "short") if value else "–"


def fmt_optional(value) -> str:
    return str(value) if value not in (None, "") else "–"


def fmt_rma_number(value) -> Markup:
    """An RMA number stays on one line (a break inside it would read as two numbers)."""
    return Markup('<span class="rma-number">{}</span>').format(value or "")


ORDER_FORMATTERS = {
    "rma_number": fmt_rma_number,
    "created_at": fmt_datetime,
    "updated_at": fmt_datetime,
    "company": fmt_optional,
    "created_by": fmt_optional,
    "source": lambda v: SOURCE_LABELS.get(v, v),
}


def fmt_bool(value) -> str:
    return str(_l("Yes") if value else _l("No"))


def fmt_roles(roles) -> str:
    from app.security.roles import role_label

    return ", ".join(role_label(r.name) for r in roles or [])


def changed_values(obj, names) -> tuple[dict, dict]:
    """Old and new values of the attributes changed on ``obj`` in this session."""
    from sqlalchemy import inspect

    state = inspect(obj)
    old, new = {}, {}
    for name in names:
        history = state.attrs[name].history
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if history.has_changes() and (before or None) != (after or None):
            old[name], new[name] = before, after
    return old, new


MAX_PAGE_SIZE = 100


class StaffModelView(ModelView):
    """FAB's ModelView with the page size capped (FAB accepts any ``psize_…``)."""

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", page=None,
                         page_size=None, widgets=None, **kwargs):
        page_size = min(page_size or self.page_size, MAX_PAGE_SIZE)
        return super()._get_list_widget(filters, actions=actions, order_column=order_column,
                                        order_direction=order_direction, page=page, page_size=page_size,
                                        widgets=widgets, **kwargs)


def checkboxes(*names: str) -> dict:
    """Optional checkboxes for NOT NULL booleans.

    FAB puts DataRequired on every non-nullable column, so an unticked box
    (False) would be refused as "required".
    """
    return {name: BooleanField(LABELS[name], widget=CheckboxInput()) for name in names}


class FilterSerialNumber(BaseFilter):
    """Orders with an article whose serial number contains the value."""

    name = _l("Contains")
    arg_name = "sn"

    def apply(self, query, value):
        value = (value or "").strip()
        if not value:
            return query
        return query.filter(Order.items.any(OrderItem.serial_number.ilike(f"%{value}%")))


class FilterCompany(BaseFilter):
    """Orders of a company, found by its id, customer number or name.

    A text filter instead of FAB's <select> of every company: that list would grow
    with the number of companies on every page view.
    """

    name = _l("Is")
    arg_name = "co"

    def apply(self, query, value):
        value = (value or "").strip()
        if not value:
            return query
        if value.isdigit():
            return query.filter(Order.company_id == int(value)) if valid_id(value) else query.filter(False)
        like = f"%{value}%"
        matching = select(Company.id).where(or_(Company.customer_number.ilike(like), Company.name.ilike(like)))
        return query.filter(Order.company_id.in_(matching))


class FilterRmaStartsWith(BaseFilter):
    """RMA numbers starting with the value, as a range the unique index answers.

    FAB's "starts with" is a case-insensitive LIKE, which no index can serve:
    over a million orders that is a full scan per page view.
    """

    name = _l("Starts with")
    arg_name = "sw"

    def apply(self, query, value):
        prefix = (value or "").strip().upper()
        if not prefix:
            return query
        return query.filter(Order.rma_number >= prefix, Order.rma_number < prefix + "\uffff")


class FilterStatus(BaseFilter):
    """Orders in a status, by the status id (FAB's relation filter loads the row first)."""

    name = _l("Equal to")
    arg_name = "eq"

    def apply(self, query, value):
        status_id = valid_id(value)
        return query.filter(Order.status_id == status_id) if status_id else query


def status_choices() -> list[tuple[str, str]]:
    return [(str(s.id), s.label) for s in db.session.scalars(select(OrderStatus).order_by(OrderStatus.position))]


class OrderFilterConverter(SQLAFilterConverter):
    def convert(self, col_name):
        if col_name == "items":
            return [FilterSerialNumber(col_name, self.datamodel)]
        if col_name == "company":
            return [FilterCompany(col_name, self.datamodel)]
        if col_name == "status":
            return [FilterStatus(col_name, self.datamodel)]
        filters = super().convert(col_name)
        if col_name == "rma_number":
            filters[0] = FilterRmaStartsWith(col_name, self.datamodel)
        return filters


class OrderInterface(SQLAInterface):
    """FAB's interface for orders: own filters, and the related rows of a list page
    in the same query (FAB loads company, status and creator row by row otherwise)."""

    filter_converter_class = OrderFilterConverter

    def apply_all(self, query, *args, **kwargs):
        query = super().apply_all(query, *args, **kwargs)
        if self.obj is not Order:  # FAB builds interfaces of related models from this class too
            return query
        return query.options(joinedload(Order.company), joinedload(Order.status), joinedload(Order.created_by))


class FilterHasCompany(BaseFilter):
    """Users that belong to a company (never staff or admins)."""

    name = "has company"
    arg_name = "hc"

    def apply(self, query, value):
        return query.filter(PortalUser.company_id.isnot(None))


class StaffOrderView(StaffModelView):
    """All orders of every source; status changes write the history."""

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
                    "created_at"]
    order_columns = ["rma_number", "reference", "source", "customer_name", "item_count", "created_at"]
    search_columns = ["rma_number", "reference", "status", "source", "company", "created_at", "items"]
    search_form_extra_fields = {
        "items": StringField(_l("Serial number")),
        "company": StringField(_l("Company")),
        # choices read when the form is shown: statuses are staff-editable data
        "status": SelectField(_l("Status"), choices=status_choices, validate_choice=False),
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


from app.views.forms import StaffItemForm  # noqa: E402  (forms import the labels above)
from app.views.portal_forms import StaffMessageForm  # noqa: E402


class StaffOrderItemView(StaffModelView):
    """Edit or remove one article of an order (reached from the order page)."""

    datamodel = SQLAInterface(OrderItem)
    class_permission_name = "StaffOrderItems"
    route_base = "/backend/articles"
    include_route_methods = {"edit", "delete"}
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

    @expose("/delete/<pk>", methods=["POST"])
    @has_access
    def delete(self, pk):
        item = db.session.get(OrderItem, pk)
        if item is None:
            abort(404)
        order = item.order
        order_id = order.id
        for attachment in list(item.attachments):
            attachment.item_id = None  # the file stays with the order
        order.items.remove(item)
        order.item_count = len(order.items)
        db.session.commit()
        flash(_("Article removed."), "success")
        return redirect(url_for("StaffOrderView.show", pk=order_id))


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


class StaffCompanyUserView(StaffModelView):
    """Users of customer companies (staff and admins are not listed here)."""

    datamodel = SQLAInterface(PortalUser)
    class_permission_name = "StaffCompanyUsers"
    route_base = "/backend/company-users"
    include_route_methods = {"list", "show", "edit"}
    base_filters = [["company_id", FilterHasCompany, None]]
    list_title = _l("Company users")
    show_title = _l("Company user")
    edit_title = _l("Edit company user")
    label_columns = LABELS
    list_columns = ["first_name", "last_name", "email", "company", "active", "roles", "last_login"]
    formatters_columns = {"last_login": fmt_datetime, "active": fmt_bool, "roles": fmt_roles}
    show_columns = ["first_name", "last_name", "email", "phone", "company", "active", "roles", "last_login"]
    edit_columns = ["first_name", "last_name", "phone", "active"]
    search_columns = ["first_name", "last_name", "email", "active"]
    edit_form_extra_fields = checkboxes("active")
    base_order = ("last_name", "asc")

    def pre_update(self, item: PortalUser) -> None:
        old, new = changed_values(item, ("active",))
        if new:
            audit.record(audit.EMPLOYEE_ACTIVATED if item.active else audit.EMPLOYEE_DEACTIVATED, item,
                         actor=g.user, company_id=item.company_id, old=old, new=new)


class StaffCompanyView(StaffModelView):
    datamodel = SQLAInterface(Company)
    class_permission_name = "StaffCompanies"
    route_base = "/backend/companies"
    exclude_route_methods = NO_GENERIC_ROUTES | {"delete"}
    list_title = _l("Companies")
    show_title = _l("Company")
    add_title = _l("New company")
    edit_title = _l("Edit company")
    label_columns = LABELS
    list_columns = ["customer_number", "name", "city", "country", "active", "created_at"]
    formatters_columns = {"created_at": fmt_datetime, "active": fmt_bool}
    search_columns = ["customer_number", "name", "city", "country", "email", "active"]
    add_columns = ["customer_number", "name", "street", "postcode", "city", "country", "phone", "email", "vat_id", "active"]
    edit_columns = add_columns
    show_columns = add_columns + ["created_at"]
    edit_form_extra_fields = checkboxes("active")
    add_form_extra_fields = {
        **checkboxes("active"),
        "customer_number": StringField(
            _l("Customer number"),
            validators=[Optional(), Length(max=32)],
            description=_l("Leave empty to generate the next number."),
            widget=BS3TextFieldWidget(),
        )
    }
    related_views = [StaffCompanyUserView]
    base_order = ("name", "asc")

    def pre_add(self, item: Company) -> None:
        item.customer_number = (item.customer_number or "").strip()
        if not item.customer_number:
            item.customer_number = next_customer_number()
        elif db.session.scalar(select(Company.id).where(Company.customer_number == item.customer_number)):
            raise ValueError(_("This customer number is already taken."))


class StaffStatusView(StaffModelView):
    """The repair workflow's statuses. Exactly one is the initial status."""

    datamodel = SQLAInterface(OrderStatus)
    class_permission_name = "StaffStatuses"
    route_base = "/backend/statuses"
    exclude_route_methods = NO_GENERIC_ROUTES | {"delete"}
    list_title = _l("Statuses")
    show_title = _l("Status")
    add_title = _l("New status")
    edit_title = _l("Edit status")
    label_columns = LABELS
    list_columns = ["position", "code", "label_de", "label_en", "is_initial", "is_final"]
    formatters_columns = {"is_initial": fmt_bool, "is_final": fmt_bool}
    add_columns = ["code", "label_de", "label_en", "position", "is_initial", "is_final"]
    edit_columns = add_columns
    add_form_extra_fields = edit_form_extra_fields = checkboxes("is_initial", "is_final")
    base_order = ("position", "asc")

    def _keep_one_initial(self, item: OrderStatus) -> None:
        if item.is_initial:
            db.session.execute(
                update(OrderStatus).where(OrderStatus.id != item.id).values(is_initial=False)
                if item.id
                else update(OrderStatus).values(is_initial=False)
            )
        else:
            others = db.session.scalars(
                select(OrderStatus.id).where(OrderStatus.is_initial.is_(True), OrderStatus.id != (item.id or 0))
            ).first()
            if others is None:
                raise ValueError(_("One status must remain the initial status for new orders."))

    def pre_add(self, item: OrderStatus) -> None:
        self._keep_one_initial(item)

    def pre_update(self, item: OrderStatus) -> None:
        self._keep_one_initial(item)


class StaffAuditView(StaffModelView):
    """The audit log, read-only."""

    datamodel = SQLAInterface(AuditEvent)
    class_permission_name = "StaffAudit"
    route_base = "/backend/audit"
    include_route_methods = {"list", "show"}
    list_title = _l("Audit log")
    show_title = _l("Audit entry")
    label_columns = {
        "at": _l("Time"), "actor_name": _l("By"), "company": _l("Company"), "action": _l("Action"),
        "object_label": _l("Object"), "old_values": _l("Old values"), "new_values": _l("New values"),
    }
    list_columns = ["at", "actor_name", "company", "action", "object_label", "old_values", "new_values"]
    show_columns = list_columns
    search_columns = ["action", "actor_name", "object_label", "at"]
    formatters_columns = {"at": fmt_datetime, "company": fmt_optional, "action": lambda a: str(AUDIT_ACTIONS.get(a, a))}
    base_order = ("at", "desc")


AUDIT_ACTIONS = {
    audit.ORDER_STATUS: _l("Status changed"),
    audit.ORDER_CUSTOMER_DATA: _l("Customer data changed"),
    audit.EMPLOYEE_CREATED: _l("Employee created"),
    audit.EMPLOYEE_ACTIVATED: _l("Account activated"),
    audit.EMPLOYEE_DEACTIVATED: _l("Account deactivated"),
    audit.REGISTRATION_APPROVED: _l("Registration approved"),
    audit.REGISTRATION_REJECTED: _l("Registration rejected"),
}


class StaffOutboxView(StaffModelView):
    """Every mail the portal sent or still tries to send."""

    datamodel = SQLAInterface(OutgoingMail)
    class_permission_name = "StaffOutbox"
    route_base = "/backend/outbox"
    include_route_methods = {"list", "show"}
    list_title = _l("Outbox")
    show_title = _l("Mail")
    label_columns = {
        "recipient": _l("Recipient"), "subject": _l("Subject"), "body": _l("Text"), "kind": _l("Kind"),
        "language": _l("Language"), "created_at": _l("Created at"), "sent_at": _l("Sent at"),
        "attempts": _l("Attempts"), "last_error": _l("Last error"),
    }
    list_columns = ["created_at", "recipient", "subject", "sent_at", "attempts", "last_error"]
    show_columns = ["created_at", "recipient", "language", "subject", "body", "sent_at", "attempts", "last_error"]
    search_columns = ["recipient", "subject", "sent_at", "created_at"]
    formatters_columns = {"created_at": fmt_datetime, "sent_at": fmt_datetime, "last_error": fmt_optional}
    base_order = ("created_at", "desc")

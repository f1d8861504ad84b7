"""The order list's search filters and the interface that joins what the list shows."""
from __future__ import annotations

from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import SQLAFilterConverter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, text
from sqlalchemy.orm import joinedload

from app.errors import valid_id
from app.extensions import db
from app.models import Company, Order, OrderItem, OrderStatus, PortalUser
from app.services.turnaround import DUE_SOON, OVERDUE, due_condition


class FilterSerialNumber(BaseFilter):
    """Orders with an article whose serial number contains the value."""

    name = _l("Contains")
    arg_name = "sn"

    def apply(self, query, value):
        value = (value or "").strip()
        if not value:
            return query
        return query.filter(Order.items.any(OrderItem.serial_number.ilike(f"%{value}%")))


class FilterRepeatRepair(BaseFilter):
    """Orders with an article that came back within the repeat-repair days: an EXISTS on the
    articles that the repeat_of_order_id index answers. The value ``open``: open orders only (as
    the dashboard counts them); any other value: every such order."""

    name = _l("Repeat repair")
    arg_name = "rr"

    def apply(self, query, value):
        condition = Order.items.any(OrderItem.repeat_of_order_id.isnot(None))
        if (value or "").strip() == REPEAT_OPEN:
            condition = condition & Order.completed_at.is_(None)
        return query.filter(condition)


REPEAT_OPEN = "open"


class FilterCompany(BaseFilter):
    """Rows of a company, found by its id, customer number or name (orders here; a subclass names
    another model's company column).

    A text filter instead of FAB's <select> of every company: that list would grow
    with the number of companies on every page view.
    """

    name = _l("Is")
    arg_name = "co"

    @staticmethod
    def company_column():
        return Order.company_id

    def apply(self, query, value):
        value = (value or "").strip()
        if not value:
            return query
        column = self.company_column()
        if value.isdigit():
            return query.filter(column == int(value)) if valid_id(value) else query.filter(False)
        like = f"%{value}%"
        matching = select(Company.id).where(or_(Company.customer_number.ilike(like), Company.name.ilike(like)))
        return query.filter(column.in_(matching))


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


class FilterDue(BaseFilter):
    """Open orders that are overdue or due soon."""

    name = _l("Is")
    arg_name = "due"

    def apply(self, query, value):
        condition = due_condition((value or "").strip())
        return query.filter(condition) if condition is not None else query


WARRANTY_IN, WARRANTY_EXPIRED, WARRANTY_UNKNOWN = "in", "expired", "unknown"


class FilterWarranty(BaseFilter):
    """Orders with at least one article in warranty, expired or of unknown warranty (as created).

    An EXISTS on the articles per order, so the list keeps reading its 25 rows by the
    order index; the articles are found by order id and the in_warranty column.
    """

    name = _l("Is")
    arg_name = "wty"

    def apply(self, query, value):
        value = (value or "").strip()
        state = {WARRANTY_IN: OrderItem.in_warranty == True,  # noqa: E712 (= TRUE uses the index)
                 WARRANTY_EXPIRED: OrderItem.in_warranty == False,  # noqa: E712
                 WARRANTY_UNKNOWN: OrderItem.in_warranty.is_(None)}.get(value)
        if state is None:
            return query
        return query.filter(select(OrderItem.id).where(OrderItem.order_id == Order.id, state).exists())


def warranty_choices() -> list[tuple[str, str]]:
    return [(WARRANTY_IN, str(_l("In warranty"))), (WARRANTY_EXPIRED, str(_l("Expired"))),
            (WARRANTY_UNKNOWN, str(_l("Unknown")))]


def due_choices() -> list[tuple[str, str]]:
    return [(OVERDUE, str(_l("Overdue"))), (DUE_SOON, str(_l("Due within 2 days")))]


def status_choices() -> list[tuple[str, str]]:
    return [(str(s.id), s.label) for s in db.session.scalars(select(OrderStatus).order_by(OrderStatus.position))]


class OrderFilterConverter(SQLAFilterConverter):
    def convert(self, col_name):
        if col_name == "items":  # _flt_0_items: serial number; _flt_1_items: repeat repairs
            return [FilterSerialNumber(col_name, self.datamodel), FilterRepeatRepair(col_name, self.datamodel)]
        if col_name == "company":
            return [FilterCompany(col_name, self.datamodel)]
        if col_name == "status":
            return [FilterStatus(col_name, self.datamodel)]
        if col_name == "due_date":
            return [FilterDue(col_name, self.datamodel)]
        if col_name == "warranty":
            return [FilterWarranty(col_name, self.datamodel)]
        filters = super().convert(col_name)
        if col_name == "rma_number":
            filters[0] = FilterRmaStartsWith(col_name, self.datamodel)
        return filters


class EstimatedCount(int):
    """A row count read from PostgreSQL's statistics: a number for the pages, "about 1,000,000" in words."""

    def __str__(self) -> str:
        return _("about %(count)s", count=format_number(int(self)))


class OrderInterface(SQLAInterface):
    """FAB's interface for orders: own filters, and the related rows of a list page
    in the same query (FAB loads company, status and creator row by row otherwise)."""

    filter_converter_class = OrderFilterConverter
    #: the unfiltered list of a PostgreSQL table with at least this many orders shows the planner's
    #: estimate instead of counting every row (46 ms for 1,000,000 orders, on every page of the list)
    ESTIMATE_FROM = 100_000

    def query_count(self, query, filters=None, select_columns=None) -> int:
        if (self.obj is Order and not (filters and filters.filters)
                and self.session.get_bind().dialect.name == "postgresql"):
            # one statement either way: PostgreSQL runs the count only when the estimate is small
            count, estimated = self.session.execute(text(
                "SELECT CASE WHEN c.reltuples >= :n THEN c.reltuples::bigint"
                " ELSE (SELECT count(*) FROM repair_order) END, c.reltuples >= :n"
                " FROM pg_class c WHERE c.oid = 'repair_order'::regclass"), {"n": self.ESTIMATE_FROM}).one()
            return EstimatedCount(count) if estimated else int(count)
        return super().query_count(query, filters, select_columns)

    def get_filters(self, search_columns=None, search_filters=None):
        # FAB applies ?_flt_ arguments only for the model's own columns (Filters._all_filters, built
        # from get_columns_list); the articles' warranty is no column of the order, so it is added.
        filters = super().get_filters(search_columns, search_filters)
        if "warranty" in filters.get_search_filters():
            filters._all_filters = {**filters._all_filters, "warranty": filters.get_search_filters()["warranty"]}
        return filters

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

"""The repair workflow's statuses."""
from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.extensions import db
from app.models import OrderStatus
from app.views.backend.common import LABELS, NO_GENERIC_ROUTES, StaffModelView, checkboxes, fmt_bool


class StaffStatusView(StaffModelView):
    """The repair workflow's statuses. Exactly one is the initial status."""

    record_name = _l("Status")
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

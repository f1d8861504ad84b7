"""Every mail the portal sent or still tries to send."""
from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from app.models import OutgoingMail
from app.views.backend.common import StaffModelView, fmt_datetime, fmt_optional


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

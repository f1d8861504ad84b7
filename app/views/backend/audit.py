"""The staff audit log: who changed what and when, each change as labelled old → new values."""
from __future__ import annotations

from flask import g
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, OrderStatus
from app.services import audit
from app.views.backend.common import LABELS, StaffModelView, fmt_datetime, fmt_optional

AUDIT_ACTIONS = {
    audit.ORDER_STATUS: _l("Status changed"),
    audit.ORDER_CUSTOMER_DATA: _l("Customer data changed"),
    audit.ORDER_ITEM_REMOVED: _l("Article removed"),
    audit.EMPLOYEE_CREATED: _l("Employee created"),
    audit.EMPLOYEE_ACTIVATED: _l("Account activated"),
    audit.EMPLOYEE_DEACTIVATED: _l("Account deactivated"),
    audit.EMPLOYEE_QUOTE_RIGHT: _l("Right to approve quotes changed"),
    audit.SESSIONS_ENDED: _l("Logged out everywhere"),
    audit.PASSWORD_CHANGED: _l("Password changed"),
    audit.COMPANY_QUOTE_SETTINGS: _l("Quote settings changed"),
    audit.TWO_FACTOR_ENABLED: _l("Two-factor login turned on"),
    audit.TWO_FACTOR_DISABLED: _l("Two-factor login turned off"),
    audit.TWO_FACTOR_RESET: _l("Two-factor login reset"),
    audit.RECOVERY_CODE_USED: _l("Recovery code used"),
    audit.RECOVERY_CODES_RENEWED: _l("New recovery codes"),
    audit.COMPANY_TWO_FACTOR: _l("Two-factor login required"),
    audit.REGISTRATION_APPROVED: _l("Registration approved"),
    audit.REGISTRATION_REJECTED: _l("Registration rejected"),
    audit.API_KEY_CREATED: _l("API key created"),
    audit.API_KEY_REVOKED: _l("API key revoked"),
    audit.WEBHOOK_CREATED: _l("Webhook created"),
    audit.WEBHOOK_DELETED: _l("Webhook deleted"),
    audit.WEBHOOK_PAUSED: _l("Webhook paused"),
    audit.WEBHOOK_RESUMED: _l("Webhook resumed"),
}

# Names in the recorded values that are not order or company columns.
VALUE_LABELS = {
    **LABELS,
    "company": _l("Company"),
    "company_admin": _l("Company admin"),
    "role": _l("Role"),
    "prefix": _l("Key prefix"),
    "language": _l("Language"),
    "url": _l("Address"),
    "events": _l("Events"),
    "reason": _l("Reason"),
    "require_two_factor": _l("Two-factor login for every user"),
}


def _status_labels() -> dict[str, str]:
    """Status code → label in the reader's language, read once per request."""
    if "_audit_status_labels" not in g:
        g._audit_status_labels = {s.code: s.label for s in db.session.scalars(select(OrderStatus))}
    return g._audit_status_labels


def describe_value(name: str, value) -> str:
    """A recorded value as the reader understands it: status labels, yes/no, roles, "–" for nothing."""
    from app.models import LANGUAGES
    from app.security.roles import role_label

    if value is None or value == "":
        return "–"
    if name == "status":
        return _status_labels().get(value, value)
    if name == "active":
        return _("Active") if value else _("Inactive")
    if name == "reason" and value in ("manual", "failing"):
        return _("By a company admin") if value == "manual" else _("Failing for 24 hours")
    if name == "role":
        return role_label(value)
    if name == "language" and value in LANGUAGES:
        return {"de": _("German"), "en": _("English")}.get(value, value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def fmt_changes(changes) -> Markup:
    """Each change on its own line: "Label: old → new" (only the new value when there was none before)."""
    lines = []
    for name, old, new in changes or []:
        if old in (None, "") and new in (None, ""):  # e.g. a status change without a note
            continue
        label = escape(str(VALUE_LABELS.get(name, name)))
        if old is None:
            text = escape(describe_value(name, new))
        elif new is None and name != "status":
            text = Markup("{} → –").format(describe_value(name, old))
        else:
            text = Markup("{} → {}").format(describe_value(name, old), describe_value(name, new))
        lines.append(Markup('<li><span class="audit-field">{}:</span> {}</li>').format(label, text))
    if not lines:
        return Markup("–")
    return Markup('<ul class="list-unstyled audit-changes">{}</ul>').format(Markup("").join(lines))


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
        "object_label": _l("Object"), "changes": _l("Changes"),
    }
    list_columns = ["at", "actor_name", "company", "action", "object_label", "changes"]
    show_columns = list_columns
    order_columns = ["at", "actor_name", "action", "object_label"]  # "changes" is no column to sort by
    search_columns = ["action", "actor_name", "object_label", "at"]
    formatters_columns = {
        "at": fmt_datetime,
        "company": fmt_optional,
        "action": lambda a: str(AUDIT_ACTIONS.get(a, a)),
        "changes": fmt_changes,
    }
    base_order = ("at", "desc")

"""The audit log: who changed what, when, with old and new values."""
from __future__ import annotations

import json
from typing import Any, Optional

from app.extensions import db
from app.models import AuditEvent, PortalUser, utcnow

ORDER_STATUS = "order.status"
ORDER_CUSTOMER_DATA = "order.customer_data"
ORDER_ITEM_REMOVED = "order.item_removed"
EMPLOYEE_CREATED = "employee.created"
EMPLOYEE_ACTIVATED = "employee.activated"
EMPLOYEE_DEACTIVATED = "employee.deactivated"
SESSIONS_ENDED = "user.sessions_ended"  # "Log out everywhere"
PASSWORD_CHANGED = "user.password_changed"  # by the user, through the link, or reset by an Admin (no values)
EMPLOYEE_QUOTE_RIGHT = "employee.quote_right"  # "may approve quotes" given or taken
REGISTRATION_APPROVED = "registration.approved"
REGISTRATION_REJECTED = "registration.rejected"
API_KEY_CREATED = "api_key.created"
API_KEY_REVOKED = "api_key.revoked"
DEVICE_CREATED = "device.created"
DEVICE_UPDATED = "device.updated"
DEVICE_RETIRED = "device.retired"
DEVICE_REACTIVATED = "device.reactivated"
DEVICE_IMPORTED = "device.imported"  # a whole file, all rows or none
WEBHOOK_CREATED = "webhook.created"
WEBHOOK_DELETED = "webhook.deleted"
WEBHOOK_PAUSED = "webhook.paused"  # by a company admin, or by the portal after a day of failures
WEBHOOK_RESUMED = "webhook.resumed"
COMPANY_QUOTE_SETTINGS = "company.quote_settings"  # approval limit, PO number required (company admin)
# two-factor login (app/services/two_factor.py); never a secret or a code
TWO_FACTOR_ENABLED = "user.two_factor_enabled"
TWO_FACTOR_DISABLED = "user.two_factor_disabled"  # by the user
TWO_FACTOR_RESET = "user.two_factor_reset"  # by staff (the user is mailed)
RECOVERY_CODE_USED = "user.recovery_code_used"
RECOVERY_CODES_RENEWED = "user.recovery_codes_renewed"
COMPANY_TWO_FACTOR = "company.two_factor"  # a company admin requires it of every user, or no longer


def _dump(values: Optional[dict[str, Any]]) -> Optional[str]:
    if not values:
        return None
    return json.dumps(values, ensure_ascii=False, sort_keys=True, default=str)


def record(
    action: str,
    obj,
    *,
    actor: Optional[PortalUser],
    company_id: Optional[int] = None,
    old: Optional[dict[str, Any]] = None,
    new: Optional[dict[str, Any]] = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (committed with the change)."""
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_name=(actor.full_name or actor.email) if actor is not None else None,
        company_id=company_id,
        action=action,
        object_type=type(obj).__name__,
        object_id=getattr(obj, "id", None),
        object_label=str(obj)[:200],
        old_values=_dump(old),
        new_values=_dump(new),
    )
    db.session.add(event)
    return event

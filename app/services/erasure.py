"""Erasure (DSGVO Art. 17): staff erase a company or a single user of a company.

Erasing a **user**: name, email (login), phone and password are replaced, the account is deactivated
(its sessions end at their next request, app/security/manager.py ``load_user``), its API keys are
deleted; the orders it created lose the contact person, email and phone copied from it; audit
entries lose its name (as actor) and the values that named it. Its company's orders and data stay.

Erasing a **company**: every user of it is erased as above; every order of it loses its personal
data as at the end of the retention period (customer data, message texts, files, mails;
app/services/retention.py), whatever its status; its webhooks and their deliveries are deleted; the
company keeps its customer number only (name, address, phone, email, VAT id are removed) and is
deactivated; its devices lose their location and note. RMA numbers, articles, serial numbers and
statuses stay for the repair company's figures.

``preview_*`` counts what would go, for the confirmation page; ``erase_*`` does it in one
transaction (files are deleted from storage after the commit) and audits it without personal data.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

from flask_appbuilder.security.sqla.models import ApiKey
from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.models import (
    Attachment,
    AuditEvent,
    Company,
    Device,
    Order,
    OrderMessage,
    PortalUser,
    RecoveryCode,
    RegistrationRequest,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from app.services import audit, retention
from app.services.accounts import end_other_sessions

USER_ERASED = "user.erased"
COMPANY_ERASED = "company.erased"
ERASED_DOMAIN = "erased.invalid"  # a domain that can never receive mail (RFC 2606)


@dataclass
class ErasureCounts:
    users: int = 0
    orders: int = 0
    messages: int = 0
    files: int = 0
    mails: int = 0
    api_keys: int = 0
    webhooks: int = 0
    devices: int = 0


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def preview_user(user: PortalUser) -> ErasureCounts:
    return ErasureCounts(
        users=1,
        orders=_count(select(Order.id).where(Order.created_by_id == user.id)),
        api_keys=_count(select(ApiKey.id).where(ApiKey.user_id == user.id)),
    )


def preview_company(company: Company) -> ErasureCounts:
    orders = select(Order.id).where(Order.company_id == company.id)
    return ErasureCounts(
        users=_count(select(PortalUser.id).where(PortalUser.company_id == company.id)),
        orders=_count(orders),
        messages=_count(select(OrderMessage.id).where(OrderMessage.order_id.in_(orders))),
        files=_count(select(Attachment.id).where(Attachment.order_id.in_(orders))),
        api_keys=_count(select(ApiKey.id).join(PortalUser, PortalUser.id == ApiKey.user_id)
                        .where(PortalUser.company_id == company.id)),
        webhooks=_count(select(WebhookEndpoint.id).where(WebhookEndpoint.company_id == company.id)),
        devices=_count(select(Device.id).where(Device.company_id == company.id)),
    )


def _erase_user(user: PortalUser, counts: ErasureCounts) -> None:
    """The user's personal data, in the current transaction."""
    db.session.execute(
        update(Order).where(Order.created_by_id == user.id)
        .values(contact_person=None, email=None, phone=None).execution_options(synchronize_session=False))
    # its name as the actor of audit entries, and the entries about the user itself
    db.session.execute(update(AuditEvent).where(AuditEvent.actor_id == user.id).values(actor_name=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(
        update(AuditEvent).where(AuditEvent.object_type == PortalUser.__name__, AuditEvent.object_id == user.id)
        .values(object_label=None, old_values=None, new_values=None).execution_options(synchronize_session=False))
    counts.api_keys += db.session.execute(delete(ApiKey).where(ApiKey.user_id == user.id)
                                          .execution_options(synchronize_session=False)).rowcount
    user.first_name = "–"
    user.last_name = "–"
    user.email = user.username = f"erased-{user.id}@{ERASED_DOMAIN}"
    user.phone = None
    user.password = "!"  # no hash: no password ever matches it
    user.active = False
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None  # and its second factor
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id)
                       .execution_options(synchronize_session=False))
    end_other_sessions(user)  # for good: the account is never reactivated into an old session
    counts.users += 1
    counts.orders += db.session.scalar(select(func.count()).select_from(Order).where(Order.created_by_id == user.id)) or 0


def erase_user(user: PortalUser, actor: Optional[PortalUser]) -> ErasureCounts:
    """Erase one user of a company; committed."""
    counts = ErasureCounts()
    company_id = user.company_id
    _erase_user(user, counts)
    event = audit.record(USER_ERASED, user, actor=actor, company_id=company_id, new=asdict(counts))
    event.object_label = f"#{user.id}"
    db.session.commit()
    return counts


def erase_company(company: Company, actor: Optional[PortalUser]) -> ErasureCounts:
    """Erase a company: its users, the personal data of its orders, its webhooks; committed."""
    counts = ErasureCounts()
    now = utcnow()
    for user in db.session.scalars(select(PortalUser).where(PortalUser.company_id == company.id)).all():
        _erase_user(user, counts)
    counts.orders = 0  # counted once below: every order of the company
    ids = list(db.session.scalars(select(Order.id).where(Order.company_id == company.id).order_by(Order.id)))
    names: list[str] = []
    order_counts = retention.RetentionCounts()
    for start in range(0, len(ids), retention.BATCH):
        names += retention.anonymise_orders(ids[start:start + retention.BATCH], now, order_counts)
    counts.orders, counts.messages, counts.mails = len(ids), order_counts.messages, order_counts.mails
    counts.files = len(names)
    endpoints = select(WebhookEndpoint.id).where(WebhookEndpoint.company_id == company.id)
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id.in_(endpoints))
                       .execution_options(synchronize_session=False))
    counts.webhooks = db.session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.company_id == company.id)
                                         .execution_options(synchronize_session=False)).rowcount
    counts.devices = db.session.execute(
        update(Device).where(Device.company_id == company.id).values(location=None, note=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.execute(  # the request that brought the company in names its contact person
        update(RegistrationRequest).where(RegistrationRequest.company_id == company.id)
        .values(company_name=company.customer_number, first_name="–", last_name="–",
                email=f"erased-company-{company.id}@{ERASED_DOMAIN}", phone=None,
                message=None, street=None, postcode=None, city=None).execution_options(synchronize_session=False))
    db.session.execute(
        update(AuditEvent).where(AuditEvent.object_type == Company.__name__, AuditEvent.object_id == company.id)
        .values(object_label=company.customer_number, old_values=None, new_values=None)
        .execution_options(synchronize_session=False))
    company.name = company.customer_number
    company.street = company.postcode = company.city = company.country = None
    company.phone = company.email = company.vat_id = None
    company.active = False
    event = audit.record(COMPANY_ERASED, company, actor=actor, company_id=company.id, new=asdict(counts))
    event.object_label = company.customer_number
    db.session.commit()
    retention.delete_files(names)
    return counts

"""Accounts: companies, their users, generated passwords, registration decisions."""
from __future__ import annotations

import secrets
import string
from decimal import Decimal
from typing import Optional

from flask import current_app
from sqlalchemy import func, select, update
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.services import audit
from app.models import (
    REQUEST_APPROVED,
    REQUEST_PENDING,
    REQUEST_REJECTED,
    Company,
    Counter,
    PortalUser,
    RegistrationRequest,
    utcnow,
)
from app.security import roles, sessions


class AccountError(ValueError):
    """The account cannot be created or changed; the message is for the user."""


_ALPHABET = string.ascii_letters + string.digits
_SYMBOLS = "-_.!?+"


def generate_password(length: int = 16) -> str:
    """A strong random password with lower, upper case, digits and a symbol."""
    while True:
        chars = [secrets.choice(_ALPHABET) for _ in range(length - 1)] + [secrets.choice(_SYMBOLS)]
        secrets.SystemRandom().shuffle(chars)
        pw = "".join(chars)
        if (
            any(c.islower() for c in pw)
            and any(c.isupper() for c in pw)
            and any(c.isdigit() for c in pw)
        ):
            return pw


def hash_password(password: str) -> str:
    return generate_password_hash(
        password,
        method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
    )


def email_taken(email: str) -> bool:
    email = (email or "").strip().lower()
    return db.session.scalar(
        select(func.count()).select_from(PortalUser).where(func.lower(PortalUser.email) == email)
    ) > 0


def next_customer_number() -> str:
    """The next free customer number: one numbering, KD-10001 onwards, for companies that staff
    add, approved registrations and the demo data alike (``CUSTOMER_NUMBER_START``)."""
    first = int(current_app.config.get("CUSTOMER_NUMBER_START", 10001))
    stmt = update(Counter).where(Counter.name == "customer").values(value=Counter.value + 1).returning(Counter.value)
    value = db.session.execute(stmt).scalar()
    if value is None:
        db.session.add(Counter(name="customer", value=first))
        db.session.flush()
        value = first
    elif value < first:  # a counter from before the numbering started at CUSTOMER_NUMBER_START
        db.session.execute(update(Counter).where(Counter.name == "customer").values(value=first))
        value = first
    while True:
        number = f"KD-{value:05d}"
        exists = db.session.scalar(select(func.count()).select_from(Company).where(Company.customer_number == number))
        if not exists:
            return number
        value = db.session.execute(stmt).scalar()


def create_user(
    *,
    email: str,
    first_name: str,
    last_name: str,
    role_name: str,
    company: Optional[Company] = None,
    phone: Optional[str] = None,
    language: str = "de",
    password: Optional[str] = None,
) -> tuple[PortalUser, str]:
    """Create an active user (not committed) and return it with its password.

    :raises AccountError: when the email already has an account.
    """
    email = (email or "").strip().lower()
    if email_taken(email):
        raise AccountError("email_taken")
    sm = current_app.appbuilder.sm
    role = sm.find_role(role_name)
    if role is None:
        raise AccountError(f"missing role {role_name}")
    generated = password is None
    password = password or generate_password()
    user = PortalUser(
        email=email,
        username=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        phone=(phone or "").strip() or None,
        language=language if language in ("de", "en") else "de",
        active=True,
        password=hash_password(password),
        company=company,
        company_id=company.id if company else None,
        roles=[role],
        must_change_password=generated,
    )
    db.session.add(user)
    db.session.flush()
    return user, password


def end_other_sessions(user: PortalUser) -> None:
    """End every session and API token of ``user`` except the current request's own (not committed).

    Each other browser is sent to the login page at its next request, with a word why; a JWT from
    before gets 401. Called when the password changes, the account is deactivated and when the user
    logs out everywhere.
    """
    sessions.new_version(user)


def end_sessions_of_company(company: Company) -> None:
    """End every session of every user of ``company`` (not committed)."""
    db.session.execute(
        update(PortalUser).where(PortalUser.company_id == company.id)
        .values(session_version=PortalUser.session_version + 1)
        .execution_options(synchronize_session="fetch")
    )


def log_out_everywhere(user: PortalUser) -> None:
    """The user's "Log out everywhere": every other session ends, with an audit entry (not committed)."""
    end_other_sessions(user)
    audit.record(audit.SESSIONS_ENDED, user, actor=user, company_id=user.company_id)


def set_password(user: PortalUser, password: str) -> None:
    """Set a password the user chose; their other sessions end; audited without values (not committed)."""
    user.password = hash_password(password)
    user.must_change_password = False
    end_other_sessions(user)
    audit.record(audit.PASSWORD_CHANGED, user, actor=user, company_id=user.company_id)


def set_active(user: PortalUser, active: bool, actor: PortalUser) -> None:
    """Activate or deactivate an account, with an audit entry (not committed).

    Deactivating ends the user's sessions for good: reactivated, they log in anew.
    """
    if bool(user.active) == active:
        return
    user.active = active
    if not active:
        end_other_sessions(user)
    audit.record(audit.EMPLOYEE_ACTIVATED if active else audit.EMPLOYEE_DEACTIVATED, user, actor=actor,
                 company_id=user.company_id, old={"active": not active}, new={"active": active})


def approve_request(req: RegistrationRequest, staff: PortalUser) -> tuple[Company, PortalUser, str]:
    """Create the company and its company admin from a pending request (not committed).

    :raises AccountError: when the request is no longer pending or the email is taken.
    """
    if req.state != REQUEST_PENDING:
        raise AccountError("not_pending")
    company = Company(
        customer_number=next_customer_number(),
        name=req.company_name,
        street=req.street,
        postcode=req.postcode,
        city=req.city,
        country=req.country,
        phone=req.phone,
        email=req.email,
        active=True,
    )
    db.session.add(company)
    db.session.flush()
    user, password = create_user(
        email=req.email,
        first_name=req.first_name,
        last_name=req.last_name,
        role_name=roles.COMPANY_ADMIN,
        company=company,
        phone=req.phone,
        language=req.language,
    )
    req.state = REQUEST_APPROVED
    req.decided_by_id = staff.id
    req.decided_at = utcnow()
    req.company_id = company.id
    audit.record(audit.REGISTRATION_APPROVED, req, actor=staff, company_id=company.id,
                 new={"company": company.name, "customer_number": company.customer_number,
                      "company_admin": user.email})
    return company, user, password


def reject_request(req: RegistrationRequest, staff: PortalUser) -> None:
    """:raises AccountError: when the request is no longer pending."""
    if req.state != REQUEST_PENDING:
        raise AccountError("not_pending")
    req.state = REQUEST_REJECTED
    req.decided_by_id = staff.id
    req.decided_at = utcnow()
    audit.record(audit.REGISTRATION_REJECTED, req, actor=staff, new={"email": req.email})


MAX_APPROVAL_LIMIT = Decimal("9999999999.99")  # Numeric(12, 2)


class SettingInvalid(ValueError):
    """A company setting that cannot be stored; ``field`` names the form field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def set_may_approve_quotes(user: PortalUser, allowed: bool, actor: PortalUser) -> None:
    """Allow or forbid an employee to accept and reject quotes, with an audit entry (not committed)."""
    if bool(user.may_approve_quotes) == allowed:
        return
    user.may_approve_quotes = allowed
    audit.record(audit.EMPLOYEE_QUOTE_RIGHT, user, actor=actor, company_id=user.company_id,
                 old={"may_approve_quotes": not allowed}, new={"may_approve_quotes": allowed})


def set_quote_settings(company: Company, approval_limit, po_number_required: bool, actor: PortalUser) -> None:
    """The company's approval limit (gross, 0 = off) and whether accepting needs a PO number,
    with an audit entry (not committed).

    :raises SettingInvalid: for a limit that is no amount of at least 0 with at most two decimals.
    """
    from flask_babel import lazy_gettext as _l

    from app.services.quotes import QuoteInvalid, to_decimal

    try:
        limit = to_decimal(approval_limit, "approval_limit")
    except QuoteInvalid as invalid:
        raise SettingInvalid("approval_limit", invalid.message) from None
    if limit < 0 or limit > MAX_APPROVAL_LIMIT:
        raise SettingInvalid("approval_limit", str(_l("The approval limit must be 0 or more (0 = off).")))
    if limit != limit.quantize(Decimal("0.01")):
        raise SettingInvalid("approval_limit", str(_l("At most two decimal places.")))
    limit = limit.quantize(Decimal("0.01"))
    old = {"approval_limit": str(company.approval_limit), "po_number_required": bool(company.po_number_required)}
    new = {"approval_limit": str(limit), "po_number_required": bool(po_number_required)}
    if old == new:
        return
    company.approval_limit = limit
    company.po_number_required = bool(po_number_required)
    audit.record(audit.COMPANY_QUOTE_SETTINGS, company, actor=actor, company_id=company.id, old=old, new=new)

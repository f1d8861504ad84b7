"""Two-factor login (Zwei-Faktor-Anmeldung): TOTP (RFC 6238) with pyotp, recovery codes, who must have it.

- A user turns it on in My data: a secret is drawn, shown as a QR code drawn here (segno, no outside
  service) and as text, and kept only in the user's session until a first code confirms it. Then
  10 recovery codes are shown once; they are stored as SHA-256 hashes.
- A code is accepted once: the time step of the last accepted code is stored, and an older or equal
  step is refused (checked and stored in one conditional UPDATE, so two requests with the same code
  cannot both pass). Clock drift of one step (30 s) either way is accepted.
- A company admin can require it for the company's users; staff need it when
  ``TWO_FACTOR_REQUIRED_FOR_STAFF`` is on (by default in production).
- Staff can reset a user's second factor (audited, mailed to the user); the user sets it up again.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Optional

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.models import PortalUser, RecoveryCode, utcnow
from app.services import audit

RECOVERY_CODES = 10
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: codes are typed from paper
_CODE_GROUPS, _GROUP_LENGTH = 4, 4  # 16 characters of 31: ~79 bits
DRIFT_STEPS = 1

TOTP = "totp"
RECOVERY = "recovery"


class TwoFactorError(ValueError):
    """The code was not accepted; the message is for the user."""


# -- who has it, who must -------------------------------------------------------------------------
def is_enabled(user) -> bool:
    return bool(getattr(user, "totp_secret", None)) and getattr(user, "totp_enabled_at", None) is not None


def is_required(user) -> bool:
    """Whether ``user`` must log in with a second factor: their company requires it, or they are staff
    (no company) and ``TWO_FACTOR_REQUIRED_FOR_STAFF`` is on."""
    company = getattr(user, "company", None)
    if company is not None:
        return bool(company.require_two_factor)
    return bool(current_app.config.get("TWO_FACTOR_REQUIRED_FOR_STAFF"))


def must_set_up(user) -> bool:
    return is_required(user) and not is_enabled(user)


# -- the secret and its QR code -------------------------------------------------------------------
def new_secret() -> str:
    return pyotp.random_base32()  # 32 characters, 160 bits (RFC 4226's recommended length)


def issuer() -> str:
    return current_app.config.get("TWO_FACTOR_ISSUER") or "Key account portal"


def provisioning_uri(user, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer())


def qr_svg(uri: str, title: str) -> str:
    """The ``otpauth://`` address as an inline SVG QR code (no XML declaration, a title for screen readers)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, omitsize=True, title=title, dark="#000",
                                                light="#fff")
    return svg.replace("<svg ", '<svg role="img" ', 1)


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# -- checking codes -------------------------------------------------------------------------------
def _normalise(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, now: Optional[float] = None) -> Optional[int]:
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if now is None else now)
    for step in (current, current - DRIFT_STEPS, current + DRIFT_STEPS):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def check(user, code: str, now: Optional[float] = None) -> Optional[str]:
    """Accept ``code`` for ``user`` once: ``"totp"``, ``"recovery"``, or None. Commits nothing.

    Six digits are an app code, anything else is tried as a recovery code. An accepted code is used up
    in the same statement that checks it, so two requests with the same code cannot both pass.
    """
    if not is_enabled(user):
        return None
    code = _normalise(code)
    if len(code) == 6 and code.isdigit():
        step = _matching_step(user.totp_secret, code, now)
        if step is None:
            return None
        taken = db.session.execute(
            update(PortalUser)
            .where(PortalUser.id == user.id)
            .where((PortalUser.totp_last_step.is_(None)) | (PortalUser.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            return None
        user.totp_last_step = step
        return TOTP
    if len(code) != _CODE_GROUPS * _GROUP_LENGTH:
        return None
    used = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(code), RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        return None
    audit.record(audit.RECOVERY_CODE_USED, user, actor=user, company_id=user.company_id)
    return RECOVERY


def recovery_codes_left(user) -> int:
    return db.session.scalar(
        select(func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ) or 0


# -- turning it on and off ------------------------------------------------------------------------
def _new_recovery_codes(user) -> list[str]:
    """Replace every recovery code of ``user`` with 10 new ones; returns them in plain text (shown once)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_GROUPS * _GROUP_LENGTH))
        codes.append("-".join(raw[i:i + _GROUP_LENGTH] for i in range(0, len(raw), _GROUP_LENGTH)))
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw)))
    return codes


def enable(user, secret: str, code: str, now: Optional[float] = None) -> list[str]:
    """Turn two-factor login on with ``secret`` once ``code`` from the app matches it; returns the
    recovery codes (committed by the caller).

    :raises TwoFactorError: the code does not match the secret (the app was set up with another one,
        or its clock is off by more than 30 seconds).
    """
    code = _normalise(code)
    step = _matching_step(secret, code, now) if len(code) == 6 and code.isdigit() else None
    if step is None:
        raise TwoFactorError("code")
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step  # the confirming code cannot log in again
    audit.record(audit.TWO_FACTOR_ENABLED, user, actor=user, company_id=user.company_id)
    return _new_recovery_codes(user)


def renew_recovery_codes(user) -> list[str]:
    codes = _new_recovery_codes(user)
    audit.record(audit.RECOVERY_CODES_RENEWED, user, actor=user, company_id=user.company_id)
    return codes


def _clear(user) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def disable(user) -> None:
    """The user turns it off themselves (not allowed while it is required: the view says so)."""
    _clear(user)
    audit.record(audit.TWO_FACTOR_DISABLED, user, actor=user, company_id=user.company_id)


def reset(user, actor) -> None:
    """Staff reset a user's second factor (a lost phone and no recovery code): audited, and the user is
    mailed, so a reset they did not ask for does not go unnoticed."""
    from app.services.mail import queue

    was_on = is_enabled(user)
    _clear(user)
    audit.record(audit.TWO_FACTOR_RESET, user, actor=actor, company_id=user.company_id)
    if was_on and user.email:
        queue("two_factor_reset", [(user.email, user.language, user.full_name)],
              required=is_required(user))


def set_company_requirement(company, required: bool, actor) -> bool:
    """A company admin requires (or no longer requires) a second factor of every user; returns whether it changed."""
    required = bool(required)
    if bool(company.require_two_factor) == required:
        return False
    company.require_two_factor = required
    audit.record(audit.COMPANY_TWO_FACTOR, company, actor=actor, company_id=company.id,
                 old={"require_two_factor": not required}, new={"require_two_factor": required})
    return True

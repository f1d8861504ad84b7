"""Password rules for every password form of the portal."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

MIN_LENGTH = 10
COMMON = {"passwort123", "password123", "1234567890", "qwertzuiop", "qwertyuiop", "0123456789"}


def password_problems(password: str, email: str | None = None) -> list[str]:
    """What is wrong with a new password (empty when it is good enough)."""
    password = password or ""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_l("The password must have at least %(n)d characters.", n=MIN_LENGTH))
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        problems.append(_l("The password must contain letters and digits."))
    if password.lower() in COMMON or (email and email.split("@")[0].lower() in password.lower()
                                      and len(email.split("@")[0]) >= 4):
        problems.append(_l("The password is too easy to guess."))
    return [str(p) for p in problems]


class StrongPassword:
    """WTForms validator applying :func:`password_problems`."""

    def __init__(self, email_getter=None):
        self.email_getter = email_getter

    def __call__(self, form, field):
        email = self.email_getter() if self.email_getter else None
        problems = password_problems(field.data, email)
        if problems:
            raise ValidationError(" ".join(problems))

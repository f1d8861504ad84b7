"""Password rules for every form that sets a password: long enough, hard to guess, not about the user.

How hard a password is to guess is estimated offline by zxcvbn (Dropbox's estimator) with the user's
own words (name, email, company) and the portal's words as extra dictionaries.
"""
from __future__ import annotations

import re
import unicodedata
from types import SimpleNamespace
from typing import Iterable

from flask import g, has_request_context, request
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms.validators import ValidationError
from zxcvbn import matching, scoring, time_estimates

from app.extensions import db
from app.models import Company, PortalUser
from app.security.password_words import COMMON_DE, keyboard_runs

MIN_LENGTH = 10
MAX_LENGTH = 200  # longer ones are refused before anything hashes them
ESTIMATE_LENGTH = 72  # zxcvbn's own limit: its matching grows with the square of the length
MIN_SCORE = 3  # zxcvbn: 3 = "safely unguessable", about 10^8 guesses or more
LEGAL_FORMS = {"gmbh", "mbh", "ag", "kg", "kgaa", "ohg", "ug", "gbr", "ek", "se", "co", "ltd", "inc", "llc",
               "plc", "sa", "sarl", "bv", "nv", "srl", "spa"}
PRODUCT_WORDS = ("portal", "rma", "repair", "reparatur", "service", "kundenportal", "großkundenportal")

# shown under every new-password field of the portal
HELP = _l("At least %(n)d characters and hard to guess, without your name or email address: "
          "a few unrelated words are good.", n=MIN_LENGTH)
TOO_SHORT = _l("The password must have at least %(n)d characters.", n=MIN_LENGTH)
TOO_LONG = _l("The password may have at most %(n)d characters.", n=MAX_LENGTH)
PERSONAL = _l("The password must not contain your name or email address.")
COMMON = _l("The password is a commonly used password or resembles one.")
SINGLE_WORD = _l("A single word is easy to guess, even with capitals, digits or symbols.")
NAMES = _l("Names are easy to guess.")
DATES = _l("Dates and years are easy to guess.")
REPEATS = _l('Repeats like "aaa" or "abcabc" are easy to guess.')
SEQUENCES = _l('Sequences like "abc" or "6543" are easy to guess.')
KEYBOARD = _l('Rows of keys like "qwertz" or "asdf" are easy to guess.')
CONTEXT = _l("Words about your company or this portal are easy to guess.")
TOO_EASY = _l("The password is too easy to guess.")
HINT = _l("Use a few unrelated words or a longer password.")

_DICTIONARIES = dict(matching.RANKED_DICTIONARIES)
_DICTIONARIES["portal_common_de"] = matching.build_ranked_dict(COMMON_DE)
_DICTIONARIES["portal_keyboard"] = matching.build_ranked_dict(keyboard_runs())
_WORDS = ("english_wikipedia", "us_tv_and_film")
_NAMES = ("surnames", "male_names", "female_names")


def _fold(text: str) -> str:
    """Lower case without accents, umlauts written out: "Müller" -> "mueller"."""
    text = text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _personal_words(email: str | None, names: Iterable[str]) -> list[str]:
    """Names (3+ letters) and the email's local part with its pieces: none may be in a password."""
    words = [n.strip() for n in names if n and len(n.strip()) >= 3]
    local = (email or "").split("@")[0].strip()
    if len(local) >= 3:
        words.append(local)
        words += [piece for piece in re.split(r"[._+\-]+", local) if len(piece) >= 3]
    # a name with spaces or hyphens ("Anna-Lena") is also each of its parts
    words += [part for n in names if n for part in re.split(r"[\s\-]+", n) if len(part) >= 3]
    return list(dict.fromkeys(w.lower() for w in words))


def _context_words(email: str | None, company: str | None) -> list[str]:
    """The company's name and words, the email's domain words and the portal's own words.

    The name also comes whole, with and without its legal form, run together or joined by the usual
    separators ("alphaantriebe", "alpha-antriebe-gmbh"): zxcvbn finds dictionary words only as written.
    """
    domain = (email or "").rpartition("@")[2]
    words = [w for w in re.split(r"[\W_]+", f"{company or ''} {domain}") if len(w) >= 3]
    name = [w for w in re.split(r"[\W_]+", (company or "").lower()) if w]
    for parts in (name, [w for w in name if w not in LEGAL_FORMS]):
        if len(parts) > 1:
            words += [sep.join(parts) for sep in ("", " ", "-", "_", ".")]
    return list(dict.fromkeys([w.lower() for w in words] + list(PRODUCT_WORDS)))


def _estimate(password: str, personal: list[str], context: list[str]) -> tuple[int, list[dict]]:
    """zxcvbn's score (0-4) and its match sequence, with the user's words as dictionaries.

    zxcvbn's own ``zxcvbn()`` puts the user's words into a module-wide dictionary, which threads of
    one server would share; its parts are called with a dictionary of this call instead.
    """
    dictionaries = dict(_DICTIONARIES)
    dictionaries["portal_personal"] = matching.build_ranked_dict(personal)
    dictionaries["portal_context"] = matching.build_ranked_dict(context)
    matches = matching.omnimatch(password, dictionaries)
    result = scoring.most_guessable_match_sequence(password, matches)
    score = time_estimates.estimate_attack_times(result["guesses"])["score"]
    return score, result["sequence"]


def _reason(sequence: list[dict]):
    """Why a weak password is weak: the longest pattern zxcvbn found in it (as zxcvbn's feedback)."""
    patterns = sorted((m for m in sequence if m["pattern"] != "bruteforce"),
                      key=lambda m: len(m["token"]), reverse=True)
    if not patterns:
        return None
    match = patterns[0]
    pattern = match["pattern"]
    if pattern == "dictionary":
        name = match["dictionary_name"]
        if name in ("passwords", "portal_common_de"):
            return COMMON
        if name == "portal_keyboard":
            return KEYBOARD
        if name == "portal_personal":
            return PERSONAL
        if name == "portal_context":
            return CONTEXT
        if name in _NAMES:
            return NAMES
        if name in _WORDS and sum(m["pattern"] == "dictionary" for m in sequence) == 1:
            return SINGLE_WORD
        return None
    return {"spatial": KEYBOARD, "repeat": REPEATS, "sequence": SEQUENCES, "date": DATES,
            "regex": DATES if match.get("regex_name") == "recent_year" else None}.get(pattern)


def password_problems(password: str, email: str | None = None, names: Iterable[str] = (),
                      company: str | None = None) -> list[str]:
    """What is wrong with a new password, in the reader's language (empty when it is good).

    ``email``, ``names`` (first and last name) and ``company`` (its name) are the user's own:
    a password containing the name or email is refused, and all of them count as easy to guess.
    """
    password = password or ""
    if len(password) > MAX_LENGTH:
        return [str(TOO_LONG)]
    if len(password) < MIN_LENGTH:
        return [str(TOO_SHORT)]
    names = [n for n in names if n]
    personal = _personal_words(email, names)
    folded = _fold(password)
    if any(_fold(word) in folded for word in personal):
        return [str(PERSONAL)]
    score, sequence = _estimate(password[:ESTIMATE_LENGTH], personal, _context_words(email, company))
    if score >= MIN_SCORE:
        return []
    reason = _reason(sequence) or TOO_EASY
    return [str(reason), str(HINT)]


def problems_for_user(password: str, user) -> list[str]:
    """:func:`password_problems` with a user's (or a new user's) own data; ``user`` may be None."""
    if user is None:
        return password_problems(password)
    company = getattr(user, "company", None)
    return password_problems(password, email=getattr(user, "email", None),
                             names=(getattr(user, "first_name", None), getattr(user, "last_name", None)),
                             company=getattr(company, "name", None))


def _request_user():
    """The logged-in user of this request, or None."""
    user = getattr(g, "user", None) if has_request_context() else None
    return user if getattr(user, "is_authenticated", False) else None


class StrongPassword:
    """WTForms validator applying :func:`password_problems` with the data of the password's owner.

    The owner is the form's ``password_user`` (set by forms whose user is not logged in, e.g. the
    set-password link), else the logged-in user.
    """

    def __call__(self, form, field):
        user = getattr(form, "password_user", None) or _request_user()
        problems = problems_for_user(field.data, user)
        if problems:
            raise ValidationError(" ".join(problems))


def _fab_form_owner():
    """Whose password one of FAB's forms sets: the user ``?pk=`` of the admin's reset form, the
    user being added (from the form), else the logged-in user (resetting their own)."""
    if not has_request_context():
        return None
    view = (request.endpoint or "").split(".")[0]
    if view == "ResetPasswordView":
        pk = request.args.get("pk", "")
        return db.session.get(PortalUser, int(pk)) if pk.isdigit() else None
    data = request.form if request.form else (request.get_json(silent=True) or {})
    if "email" in data:  # the user admin's add form (or FAB's user API)
        company = data.get("company")
        company_name = None
        if str(company or "").isdigit():
            company_name = db.session.scalar(select(Company.name).where(Company.id == int(company)))
        return SimpleNamespace(email=data.get("email"), first_name=data.get("first_name"),
                               last_name=data.get("last_name"), company=SimpleNamespace(name=company_name))
    return _request_user()


def fab_password_rule(password: str) -> None:
    """``FAB_PASSWORD_COMPLEXITY_VALIDATOR``: FAB's own password forms use the portal's rule.

    :raises PasswordComplexityValidationError: with the reasons, shown at FAB's password field
    """
    problems = problems_for_user(password, _fab_form_owner())
    if problems:
        raise PasswordComplexityValidationError(" ".join(problems))

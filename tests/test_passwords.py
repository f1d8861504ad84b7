"""Passwords that are hard to guess: the rule, its messages in both languages, and every form that sets one."""
from __future__ import annotations

import html
import re
import secrets

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import PortalUser
from app.security import roles
from app.security.passwords import password_problems
from app.security.tokens import make_token
from app.services.accounts import generate_password
from tests.conftest import _client_for, login
from tests.factories import PASSWORD, make_user

COMMON = {"en": "The password is a commonly used password or resembles one.",
          "de": "Das Passwort ist ein häufig verwendetes Passwort oder ähnelt einem."}
PERSONAL = {"en": "The password must not contain your name or email address.",
            "de": "Das Passwort darf weder Ihren Namen noch Ihre E-Mail-Adresse enthalten."}
KEYBOARD = {"en": 'Rows of keys like "qwertz" or "asdf" are easy to guess.',
            "de": "Tastenreihen wie „qwertz“ oder „asdf“ sind leicht zu erraten."}
DATES = {"en": "Dates and years are easy to guess.",
         "de": "Datumsangaben und Jahreszahlen sind leicht zu erraten."}
REPEATS = {"en": 'Repeats like "aaa" or "abcabc" are easy to guess.',
           "de": "Wiederholungen wie „aaa“ oder „abcabc“ sind leicht zu erraten."}
SEQUENCES = {"en": 'Sequences like "abc" or "6543" are easy to guess.',
             "de": "Folgen wie „abc“ oder „6543“ sind leicht zu erraten."}
NAMES = {"en": "Names are easy to guess.", "de": "Namen sind leicht zu erraten."}
CONTEXT = {"en": "Words about your company or this portal are easy to guess.",
           "de": "Wörter über Ihre Firma oder dieses Portal sind leicht zu erraten."}
SINGLE_WORD = {"en": "A single word is easy to guess, even with capitals, digits or symbols.",
               "de": "Ein einzelnes Wort ist leicht zu erraten, auch mit Großbuchstaben, Ziffern oder Sonderzeichen."}
HINT = {"en": "Use a few unrelated words or a longer password.",
        "de": "Verwenden Sie einige Wörter, die nichts miteinander zu tun haben, oder ein längeres Passwort."}
TOO_SHORT = {"en": "The password must have at least 10 characters.",
             "de": "Das Passwort muss mindestens 10 Zeichen lang sein."}
TOO_LONG = {"en": "The password may have at most 200 characters.",
            "de": "Das Passwort darf höchstens 200 Zeichen lang sein."}

OWNER = dict(email="erika.mustermann@alpha-antriebe.example", names=("Erika", "Mustermann"),
             company="Alpha Antriebe GmbH")


def problems(app, password, language, **owner):
    with app.test_request_context(), force_locale(language):
        return password_problems(password, **(owner or OWNER))


def error_at(page: str, field_id: str) -> str:
    """The message shown next to a field of the portal's forms ('' when there is none)."""
    match = re.search(rf'id="{field_id}-error">([^<]*)<', page)
    return html.unescape(match.group(1)) if match else ""


# -- the rule -------------------------------------------------------------------

@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("password,reason", [
    ("Passwort123!", COMMON),
    ("Sommer2024!", COMMON),
    ("Deutschland1", COMMON),
    ("qwertz123456", KEYBOARD),
    ("asdfghjklö!", KEYBOARD),
    ("yxcvbnm,.-2", KEYBOARD),
    ("12.03.1988abc", DATES),
    ("aaaaaaaaaaaa1", REPEATS),
    ("abcdefghijkl", SEQUENCES),
    ("michael1980", NAMES),
    ("Reparatur2024!", CONTEXT),
    ("Thermodynamics", SINGLE_WORD),
])
def test_easy_passwords_are_refused_with_the_reason_and_a_hint(app, password, reason, language):
    assert problems(app, password, language) == [reason[language], HINT[language]]


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("password", [
    "Erika-lacht-oft-7",           # first name
    "Tasse-MUSTERMANN-Baum",       # last name, other case
    "x.erika.mustermann.x",        # the email's local part
    "Wolke!Mustermann",
])
def test_the_users_name_or_email_inside_is_refused(app, password, language):
    assert problems(app, password, language) == [PERSONAL[language]]


def test_names_are_compared_without_umlauts_and_accents(app):
    owner = dict(email="j.mueller@example.org", names=("Jörg", "Müller"), company=None)
    for password in ("Tasse-Mueller-Fenster", "Tasse-MÜLLER-Fenster", "Fenster-Joerg-Tasse"):
        assert problems(app, password, "en", **owner) == [PERSONAL["en"]], password


def test_short_names_are_not_searched_for(app):
    owner = dict(email="li@example.org", names=("Li", "Xu"), company=None)
    assert problems(app, "Klima Libelle Sextant Xu", "en", **owner) == []


@pytest.mark.parametrize("language", ["de", "en"])
def test_length_is_checked_first_and_a_huge_password_is_refused(app, language):
    assert problems(app, "Kurz-1!", language) == [TOO_SHORT[language]]
    assert problems(app, "x" * 201, language) == [TOO_LONG[language]]
    assert problems(app, "Tulpe-Brücke-Kaffee " * 50_000, language) == [TOO_LONG[language]]


@pytest.mark.parametrize("password", [
    "tulpe brücke kaffee wolke",        # four words, no digits, no capitals
    "correct horse battery staple",
    "Lampe Igel Regenschirm Tango",
])
def test_a_passphrase_of_four_words_is_accepted(app, password):
    assert problems(app, password, "en") == []


def test_random_passwords_of_16_characters_are_accepted(app):
    for _ in range(20):
        password = secrets.token_urlsafe(12)  # 16 characters
        assert problems(app, password, "en") == [], password


def test_generated_passwords_pass_the_rule(app):
    for _ in range(200):
        password = generate_password()
        assert problems(app, password, "en") == [], password


def test_the_test_password_passes_the_rule(app, customer_a):
    assert problems(app, PASSWORD, "en", email=customer_a.email,
                    names=(customer_a.first_name, customer_a.last_name), company=customer_a.company.name) == []


def test_one_users_words_do_not_stay_for_the_next(app):
    """The user's words are the estimator's dictionary for one call only (threads share the module)."""
    from zxcvbn import matching

    problems(app, "Tasse-Fenster-7", "en")
    assert not any(name.startswith("portal_") or name == "user_inputs" for name in matching.RANKED_DICTIONARIES)
    stranger = dict(email="someone@example.org", names=("Some", "One"), company=None)
    assert problems(app, "Erika-lacht-oft-7", "en", **stranger) == []


# -- the portal's forms -----------------------------------------------------------

def _stored_hash(user) -> str:
    return db.session.scalar(select(PortalUser.password).where(PortalUser.id == user.id))


@pytest.mark.parametrize("language", ["de", "en"])
def test_set_password_link_refuses_a_weak_password_at_the_field(app, company_a, language):
    user = make_user(company_a, email="erika.mustermann@alpha.example", first_name="Erika",
                     last_name="Mustermann", language=language)
    before = _stored_hash(user)
    link = "/cc/set-password/" + make_token(user)
    c = app.test_client()
    page = c.get(f"{link}?_l_={language}").get_data(as_text=True)
    assert "a few unrelated words" in page or "nichts miteinander zu tun haben" in page  # the rule, before typing
    link = f"{link}?_l_={language}"  # nobody is logged in: the page speaks the language asked for
    response = c.post(link, data={"new_password": "Mustermann-2026!", "repeat_password": "Mustermann-2026!"})
    assert response.status_code == 422
    assert error_at(response.get_data(as_text=True), "new_password") == PERSONAL[language]
    response = c.post(link, data={"new_password": "Sommer2024!", "repeat_password": "Sommer2024!"})
    assert error_at(response.get_data(as_text=True), "new_password") == f"{COMMON[language]} {HINT[language]}"
    assert _stored_hash(user) == before
    response = c.post(link, data={"new_password": "Lampe Igel Regenschirm", "repeat_password": "Lampe Igel Regenschirm"})
    assert response.status_code == 302
    assert check_password_hash(_stored_hash(user), "Lampe Igel Regenschirm")


@pytest.mark.parametrize("language", ["de", "en"])
def test_my_data_refuses_a_weak_password_at_the_field(app, company_a, language):
    user = make_user(company_a, email="erika.mustermann@alpha.example", first_name="Erika",
                     last_name="Mustermann", language=language)
    before = _stored_hash(user)
    c = _client_for(app, user)
    for new, message in [("erika.mustermann#1", PERSONAL[language]),
                         ("qwertzuiop12", f"{KEYBOARD[language]} {HINT[language]}"),
                         ("Alpha-Antriebe", f"{CONTEXT[language]} {HINT[language]}"),
                         ("y" * 1_000_000, TOO_LONG[language])]:
        response = c.post("/cc/my-data/password", data={
            "current_password": PASSWORD, "new_password": new, "repeat_password": new})
        assert response.status_code == 422
        assert error_at(response.get_data(as_text=True), "new_password") == message
    assert _stored_hash(user) == before
    page = c.get("/cc/my-data/?tab=password").get_data(as_text=True)
    assert ("At least 10 characters and hard to guess" in page) == (language == "en")
    assert ("Mindestens 10 Zeichen und schwer zu erraten" in page) == (language == "de")


def test_my_data_accepts_a_passphrase(app, customer_client, customer_a):
    response = customer_client.post("/cc/my-data/password", data={
        "current_password": PASSWORD, "new_password": "lampe igel regenschirm tango",
        "repeat_password": "lampe igel regenschirm tango"})
    assert response.status_code == 302
    assert login(app.test_client(), customer_a.email, "lampe igel regenschirm tango").status_code == 302
    assert check_password_hash(_stored_hash(customer_a), "lampe igel regenschirm tango")


# -- FAB's own password forms (Admin only) ------------------------------------------

@pytest.fixture
def admin_client(app):
    admin = make_user(None, roles.ADMIN, email="root@example.org", first_name="Rudolf", last_name="Rootmann",
                      language="en")
    assert [r.name for r in admin.roles] == [roles.ADMIN]
    client = _client_for(app, admin)
    client.admin = admin
    return client


def fab_error_at(page: str, field_id: str) -> str:
    """The message FAB's form shows under a field ('' when there is none)."""
    block = page[page.index(f'id="{field_id}"'):]
    block = block[:block.index("</td>")]
    match = re.search(r'class="alert alert-danger">\s*(.*?)\s*</div>', block, re.S)
    return html.unescape(match.group(1).strip()) if match else ""


def test_admin_reset_of_a_users_password_uses_that_users_data(admin_client, customer_a):
    customer_a.last_name = "Mustermann"
    db.session.commit()
    before = _stored_hash(customer_a)
    for weak, message in [("Mustermann-2026!", PERSONAL["en"]), ("Sommer2024!", f"{COMMON['en']} {HINT['en']}")]:
        response = admin_client.post(f"/resetpassword/form?pk={customer_a.id}",
                                     data={"password": weak, "conf_password": weak})
        assert response.status_code == 200
        assert fab_error_at(response.get_data(as_text=True), "password") == message
    assert _stored_hash(customer_a) == before
    response = admin_client.post(f"/resetpassword/form?pk={customer_a.id}",
                                 data={"password": "Lampe Igel Regenschirm", "conf_password": "Lampe Igel Regenschirm"})
    assert response.status_code == 302
    assert check_password_hash(_stored_hash(customer_a), "Lampe Igel Regenschirm")


def test_admin_resetting_their_own_password_uses_their_data(admin_client):
    before = _stored_hash(admin_client.admin)
    response = admin_client.post("/resetmypassword/form",
                                 data={"password": "Rootmann-Fenster", "conf_password": "Rootmann-Fenster"})
    assert fab_error_at(response.get_data(as_text=True), "password") == PERSONAL["en"]
    assert _stored_hash(admin_client.admin) == before


def test_admin_adding_a_user_uses_the_new_users_data(admin_client, company_a):
    role_id = db.session.scalar(select(PortalUser).where(PortalUser.id == admin_client.admin.id)).roles[0].id
    form = {"first_name": "Hannelore", "last_name": "Kranich", "email": "h.kranich@alpha.example",
            "company": str(company_a.id), "language": "de", "page_size": "25", "active": "y",
            "roles": str(role_id)}
    for weak, message in [("Hannelore-2026!", PERSONAL["en"]),
                          ("Alpha-Antriebe", f"{CONTEXT['en']} {HINT['en']}")]:
        response = admin_client.post("/users/add", data={**form, "password": weak, "conf_password": weak})
        assert fab_error_at(response.get_data(as_text=True), "password") == message
    assert db.session.scalars(select(PortalUser).where(PortalUser.email == "h.kranich@alpha.example")).all() == []

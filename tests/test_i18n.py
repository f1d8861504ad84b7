"""German and English throughout: complete catalogues, pages without the other language's words."""
from __future__ import annotations

import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from app.extensions import db
from app.models import OrderStatus, RegistrationRequest
from app.services.orders import change_status
from tests.helpers import new_order_data, upload

ROOT = Path(__file__).resolve().parent.parent

# The glossary's UI words (English, German) that differ between the languages.
GLOSSARY = [
    ("Key account portal", "Großkundenportal"), ("Log in", "Anmelden"), ("Log out", "Abmelden"),
    ("Register", "Registrieren"), ("Registration request", "Registrierungsanfrage"), ("Approve", "Freigeben"),
    ("Reject", "Ablehnen"), ("Orders", "Aufträge"), ("Order", "Auftrag"), ("New order", "Neuer Auftrag"),
    ("RMA number", "RMA-Nummer"), ("Reference number", "Referenznummer"), ("Article", "Artikel"),
    ("Add article", "Artikel hinzufügen"), ("Remove article", "Artikel entfernen"),
    ("Article number", "Artikelnummer"), ("Description", "Bezeichnung"), ("Serial number", "Seriennummer"),
    ("Quantity", "Menge"), ("Fault description", "Fehlerbeschreibung"), ("Files", "Dateien"),
    ("Upload", "Hochladen"), ("Processing status", "Bearbeitungsstatus"), ("Source", "Quelle"),
    ("Customer data", "Kundendaten"), ("Company", "Firma"), ("My data", "Meine Daten"),
    ("Personal data", "Persönliche Daten"), ("Password", "Passwort"), ("Current password", "Aktuelles Passwort"),
    ("New password", "Neues Passwort"), ("Repeat password", "Passwort wiederholen"), ("Settings", "Einstellungen"),
    ("Language", "Sprache"), ("Orders per page", "Aufträge pro Seite"), ("Employees", "Mitarbeiter"),
    ("New", "Neu"), ("Activate", "Aktivieren"), ("Deactivate", "Deaktivieren"), ("Active", "Aktiv"),
    ("Inactive", "Inaktiv"), ("Access data", "Zugangsdaten"), ("Email", "E-Mail"), ("First name", "Vorname"),
    ("Last name", "Nachname"), ("Phone", "Telefon"), ("Save", "Speichern"), ("Cancel", "Abbrechen"),
    ("Message", "Nachricht"), ("Notifications", "Benachrichtigungen"), ("Export", "Exportieren"),
    ("Print", "Drucken"),
]
# English words of the workflow and the pages that the glossary does not list.
EXTRA = [("Received", "Eingegangen"), ("In review", "In Prüfung"), ("Search", "Suchen"), ("Date", "Datum"),
         ("Edit", "Bearbeiten"), ("Back", "Zurück"), ("Created by", "Erstellt von"), ("Yes", "Ja"),
         ("No", "Nein"), ("True", "Wahr"), ("False", "Falsch"), ("Company admin", "Firmen-Admin")]


def visible_text(html: str) -> str:
    """What a person can read: text, plus placeholders, titles, labels and button values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    attrs = re.findall(r'\b(?:placeholder|title|aria-label|alt)="([^"]*)"', html)
    attrs += re.findall(r'<input[^>]*type="(?:submit|button)"[^>]*value="([^"]*)"', html)
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", unescape(text + " " + " ".join(attrs)))


def foreign_words(text: str, language: str, status_words: bool = True) -> list[str]:
    pairs = GLOSSARY + (EXTRA if status_words else EXTRA[2:])
    words = [en for en, de in pairs if en != de] if language == "de" else [de for en, de in pairs if en != de]
    return [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


# -- the catalogues ---------------------------------------------------------------

def test_every_message_of_the_code_is_translated_in_german_and_english(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-c", "from babel.messages.frontend import main; main()", "-q", "extract",
         "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-k", "_", "-k", "gettext", "-k", "ngettext:1,2",
         "-o", str(pot), "."],
        cwd=ROOT, check=True)
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot.open("rb")) if m.id}
    assert len(wanted) > 150
    for language in ("de", "en"):
        catalog = read_po((ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb"))
        have = {}
        for m in catalog:
            if m.id:
                key = m.id if isinstance(m.id, str) else m.id[0]
                strings = m.string if isinstance(m.string, tuple) else (m.string,)
                have[key] = all(strings) and not m.fuzzy
        missing = sorted(w for w in wanted if not have.get(w))
        assert missing == [], f"{language}: {missing[:20]}"


def test_german_catalogue_uses_the_glossary_words():
    catalog = read_po((ROOT / "translations/de/LC_MESSAGES/messages.po").open("rb"))
    strings = {m.id: m.string for m in catalog if isinstance(m.id, str)}
    for en, de in GLOSSARY:
        if en in strings:
            assert strings[en] == de, en


# -- pages -------------------------------------------------------------------------

@pytest.fixture
def world(app, customer_client, company_a, customer_a, company_admin_a, staff_user):
    """One order with a file, a status history and a pending registration request."""
    customer_client.post("/cc/orders/new", content_type="multipart/form-data",
                         data=new_order_data("PO-1", files=[upload("bericht.pdf")]))
    order = db.session.scalars(select(__import__("app.models", fromlist=["Order"]).Order)).one()
    change_status(order, db.session.scalars(select(OrderStatus).where(OrderStatus.code == "in_review")).one(),
                  staff_user, note="ok")
    req = RegistrationRequest(company_name="Omega AG", first_name="O", last_name="M", email="o@omega.example")
    db.session.add(req)
    db.session.commit()
    return {"order": order, "request": req}


def portal_urls(world):
    o = world["order"]
    return ["/cc/orders/", f"/cc/orders/{o.id}", "/cc/orders/new", "/cc/my-data/", "/cc/my-data/?tab=password",
            "/cc/my-data/?tab=settings", "/cc/employees/", "/cc/employees/new", "/cc/orders/?q=nothing-matches",
            "/cc/orders/999999", "/cc/my-data/api-keys/"]


def backend_urls(world):
    o, r = world["order"], world["request"]
    return ["/backend/orders/list/", f"/backend/orders/show/{o.id}", f"/backend/orders/edit/{o.id}",
            "/backend/orders/add", "/backend/companies/list/", f"/backend/companies/show/{o.company_id}",
            "/backend/companies/add", "/backend/company-users/list/", "/backend/registrations/list/",
            f"/backend/registrations/show/{r.id}", "/backend/statuses/list/", "/backend/statuses/add",
            f"/backend/articles/edit/{o.items[0].id}", "/cc/my-data/", "/backend/dashboard/",
            f"/backend/orders/{o.id}/slip"]


def _as(app, user, language):
    from tests.conftest import _client_for

    user.language = language
    db.session.commit()
    return _client_for(app, user)


@pytest.mark.parametrize("language", ["de", "en"])
def test_portal_pages_speak_only_the_users_language(app, world, company_admin_a, language):
    client = _as(app, company_admin_a, language)
    for url in portal_urls(world):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        text = visible_text(response.get_data(as_text=True))
        assert foreign_words(text, language) == [], url
    # validation messages too
    response = client.post("/cc/orders/new", data={"reference": "", "items-0-quantity": "0"})
    assert foreign_words(visible_text(response.get_data(as_text=True)), language) == []
    response = client.post("/cc/my-data/password", data={"current_password": "x", "new_password": "y"})
    assert foreign_words(visible_text(response.get_data(as_text=True)), language) == []
    response = client.post("/cc/employees/new", data={"first_name": "A", "last_name": "B",
                                                      "email": "a@b.example"})
    assert foreign_words(visible_text(response.get_data(as_text=True)), language) == []


@pytest.mark.parametrize("language", ["de", "en"])
def test_backend_pages_speak_only_the_users_language(app, world, staff_user, language):
    client = _as(app, staff_user, language)
    for url in backend_urls(world):
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible_text(response.get_data(as_text=True))
        # the statuses page shows both labels of each status as data
        assert foreign_words(text, language, status_words="statuses" not in url) == [], url


@pytest.mark.parametrize("language", ["de", "en"])
def test_public_pages_follow_the_browser_language(client, language):
    for url in ("/login/", "/cc/register/"):
        response = client.get(url, headers={"Accept-Language": f"{language},fr;q=0.5"})
        assert foreign_words(visible_text(response.get_data(as_text=True)), language) == [], url
    response = client.post("/cc/register/", data={"company_name": ""}, headers={"Accept-Language": language})
    assert foreign_words(visible_text(response.get_data(as_text=True)), language) == []


def test_unknown_browser_language_gets_german_and_the_switch_wins(client):
    assert "Anmelden" in visible_text(client.get("/login/", headers={"Accept-Language": "fr"}).get_data(as_text=True))
    page = client.get("/login/").get_data(as_text=True)
    assert 'href="/lang/en"' in page and 'href="/lang/de"' in page  # a visible language switch
    client.get("/lang/en", headers={"Referer": "/login/"})
    text = visible_text(client.get("/login/", headers={"Accept-Language": "de"}).get_data(as_text=True))
    assert "Log in" in text and "Anmelden" not in text


def test_the_users_setting_wins_and_switching_it_changes_the_very_next_page(app, company_admin_a):
    client = _as(app, company_admin_a, "de")
    assert "Aufträge" in visible_text(client.get("/cc/orders/", headers={"Accept-Language": "en"}).get_data(as_text=True))
    client.post("/cc/my-data/settings", data={"language": "en", "page_size": "25"})
    text = visible_text(client.get("/cc/orders/", headers={"Accept-Language": "de"}).get_data(as_text=True))
    assert "Orders" in text and "Aufträge" not in text


def test_status_labels_and_dates_follow_the_language(app, world, company_admin_a):
    order = world["order"]
    de = visible_text(_as(app, company_admin_a, "de").get(f"/cc/orders/{order.id}").get_data(as_text=True))
    en = visible_text(_as(app, company_admin_a, "en").get(f"/cc/orders/{order.id}").get_data(as_text=True))
    assert "In Prüfung" in de and "In review" in en
    assert re.search(r"\b\d{2}\.\d{2}\.\d{2}, \d{2}:\d{2}\b", de)      # 26.11.26, 23:34
    assert re.search(r"\b\d{1,2}/\d{1,2}/\d{2}, \d{1,2}:\d{2}\s?[AP]M\b", en)  # 11/26/26, 11:34 PM


def test_file_sizes_use_the_readers_decimal_separator(app, world, company_admin_a, staff_user):
    order = world["order"]  # its file has 73 bytes: 0.1 KB
    de = visible_text(_as(app, company_admin_a, "de").get(f"/cc/orders/{order.id}").get_data(as_text=True))
    en = visible_text(_as(app, company_admin_a, "en").get(f"/cc/orders/{order.id}").get_data(as_text=True))
    assert "0,1 KB" in de and "0.1 KB" not in de
    assert "0.1 KB" in en
    staff = visible_text(_as(app, staff_user, "de").get(f"/backend/orders/show/{order.id}").get_data(as_text=True))
    assert "0,1 KB" in staff


def test_large_file_sizes_read_in_megabytes():
    from app.i18n import format_file_size

    from app import create_app
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "FAB_UPDATE_PERMS": False,
                      "SECRET_KEY": "x"})
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert format_file_size(3_500_000) == "3,3 MB"
        assert format_file_size(1536) == "1,5 KB"


def test_quantities_and_counts_use_the_readers_number_format(app, company_a, customer_a, company_admin_a,
                                                             staff_user):
    from tests.factories import make_order

    order = make_order(company_a, customer_a)
    order.items[0].quantity = 12500
    db.session.commit()
    for path in (f"/cc/orders/{order.id}", f"/cc/orders/{order.id}/slip"):
        de = visible_text(_as(app, company_admin_a, "de").get(path).get_data(as_text=True))
        en = visible_text(_as(app, company_admin_a, "en").get(path).get_data(as_text=True))
        assert "12.500" in de and "12500" not in de, path
        assert "12,500" in en, path
    staff = visible_text(_as(app, staff_user, "de").get(f"/backend/orders/show/{order.id}").get_data(as_text=True))
    assert "12.500" in staff
    overview = visible_text(_as(app, company_admin_a, "de").get("/cc/orders/").get_data(as_text=True))
    assert "1 Auftrag" in overview


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_list_filters_format_dates_and_numbers_exactly_as_babel_does(app, language):
    """The filters that the order lists call on every row give Flask-Babel's own results, in the
    reader's locale and time zone (Europe/Berlin here), across the changes to and from summer time."""
    import datetime as dt

    import flask_babel

    from app import i18n

    moments = [dt.datetime(2026, 3, 29, 0, 59), dt.datetime(2026, 3, 29, 1, 0), dt.datetime(2026, 10, 25, 0, 30),
               dt.datetime(2026, 10, 25, 1, 30), dt.datetime(2026, 12, 31, 23, 15, 5),
               dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.timezone.utc),
               dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))]
    with app.test_request_context("/", headers={"Accept-Language": language}):
        assert str(flask_babel.get_locale()) == language
        for moment in moments:
            for format in ("short", "medium", "long", "full", "yyyy-MM-dd HH:mm"):
                assert i18n.format_datetime(moment, format) == flask_babel.format_datetime(moment, format)
            for format in ("short", "medium", "long"):
                assert i18n.format_date(moment, format) == flask_babel.format_date(moment, format)
                assert i18n.format_date(moment.date(), format) == flask_babel.format_date(moment.date(), format)
        for number in (0, 7, 1234, 1234567, -3, 2.5):
            assert i18n.format_number(number) == flask_babel.format_number(number)
        for number in (0, 1, 2.5, "3.75", "1234.5", 1234567.891, -0.05):
            for format in ("#,##0.##", "#,##0.#", "0.00"):
                assert i18n.format_decimal(number, format) == flask_babel.format_decimal(number, format)
            assert i18n.format_decimal(number) == flask_babel.format_decimal(number)
        # what a German reader sees on the list
        if language == "de":
            assert i18n.format_datetime(dt.datetime(2026, 12, 31, 23, 15), "short") == "01.01.27, 00:15"
            assert i18n.format_number(1234567) == "1.234.567"
        assert i18n.format_datetime(None, "short") == i18n.format_date(None) == ""


@pytest.mark.parametrize("language", ["de", "en"])
def test_money_is_written_exactly_as_babel_writes_it(app, language):
    """Quotes and approval limits show amounts as Babel's ``format_currency`` writes them in the
    reader's locale: signs, zero, rounding half to even at the cent, thousands, whole units (JPY),
    other currencies, and a locale whose pattern the compiled form does not cover (Babel writes it)."""
    import random
    from decimal import Decimal

    from babel import Locale, numbers
    from flask_babel import force_locale

    from app import i18n

    random.seed(16)
    amounts = [None, 0, 1, -1, 2.675, 0.1, "12.5", Decimal("0"), Decimal("-0"), Decimal("-0.00"), Decimal("0.005"),
               Decimal("0.015"), Decimal("0.025"), Decimal("-999.995"), Decimal("999.995"), Decimal("1E+3"),
               Decimal("5E-10"), Decimal("12345678901.235"), Decimal("1234567.891")]
    amounts += [Decimal(random.randint(-10**10, 10**10)) / Decimal(10) ** random.randint(0, 4) for _ in range(500)]
    with app.test_request_context("/", headers={"Accept-Language": language}):
        for currency in ("EUR", "USD", "CHF", "GBP", "JPY", "KWD", None):
            for amount in amounts:
                expected = numbers.format_currency(Decimal(str(amount if amount is not None else 0)),
                                                   currency or "EUR", locale=language)
                assert i18n.format_money(amount, currency) == expected, (amount, currency)
        # what each reader sees on a quote
        assert i18n.format_money(Decimal("1234.5")) == ("1.234,50\xa0€" if language == "de" else "€1,234.50")
        assert i18n.format_money(Decimal("-0.004"), "JPY") == ("-0\xa0¥" if language == "de" else "-¥0")
        # Indian grouping (lakh, crore) is not the compiled form's: Babel writes it
        assert i18n._money_format(Locale.parse("en_IN"), "INR") is None
        with force_locale("en_IN"):
            assert i18n.format_money(Decimal("12345678.5"), "INR") == "₹1,23,45,678.50"


@pytest.mark.parametrize("language", ["de", "en"])
def test_quantities_are_written_as_babel_writes_them_the_second_time_too(app, language):
    """A quote's quantities recur, and their text is kept: each value, asked twice and in any order,
    reads as Babel writes it (-0 stays "-0", 1.50 and 1.5 alike, 10 as 1E+1)."""
    import random
    from decimal import Decimal

    from babel import numbers

    from app import i18n

    random.seed(3)
    values = [0, 1, -1, 1234567, Decimal("0"), Decimal("-0"), Decimal("-0.00"), Decimal("1.50"), Decimal("1.5"),
              Decimal("1E+1"), Decimal("10"), Decimal("0.125"), Decimal("0.135"), Decimal("NaN"), 2.5, None]
    values += [Decimal(random.randint(-10**7, 10**7)) / Decimal(10) ** random.randint(0, 3) for _ in range(200)]
    with app.test_request_context("/", headers={"Accept-Language": language}):
        for pattern in ("#,##0.##", "#,##0.#", "0.00", None):
            for value in values + list(reversed(values)):
                if value is None:
                    continue
                expected = numbers.format_decimal(value, format=pattern, locale=language)
                assert i18n.format_decimal(value, pattern) == expected, (value, pattern)
        assert i18n.format_decimal(Decimal("1234.5"), "#,##0.##") == ("1.234,5" if language == "de" else "1,234.5")


def test_days_and_numbers_formatted_before_come_out_in_each_readers_locale(app):
    """A day or number formatted once is kept per locale: the next reader in the other language, or a
    mail forced into it, gets their own format, not the first reader's."""
    import datetime as dt

    import flask_babel

    from app import i18n

    day = dt.date(2026, 12, 24)
    # each reader's request in an app context of its own, as in production
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "de"}):
        for _ in range(2):
            assert i18n.format_date(day, "medium") == "24.12.2026"
            assert i18n.format_number(1234567) == "1.234.567"
        with flask_babel.force_locale("en"):
            assert i18n.format_date(day, "medium") == "Dec 24, 2026"
            assert i18n.format_number(1234567) == "1,234,567"
        assert i18n.format_date(day, "short") == "24.12.26"
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert i18n.format_date(day, "medium") == "Dec 24, 2026"
        assert i18n.format_number(1234567) == "1,234,567"

"""Sessions that end, in two browsers: an employee logged in on a laptop and a phone logs out
everywhere on the laptop; the phone is at the login page with the reason on its next page, the
laptop goes on, and a colleague's browser is not touched."""
from __future__ import annotations

import pytest

from app.security import roles
from tests import factories
from tests.e2e.journeys import expect, log_in, menu, open_my_data, step, submit, url

pytestmark = pytest.mark.e2e

EMAIL = "jan@kowalski.example"


def test_log_out_everywhere_in_one_browser_ends_the_session_in_the_other(live_server, open_page):
    with live_server.app.app_context():
        company = factories.make_company("Kowalski Labortechnik GmbH")
        factories.make_user(company, roles.CUSTOMER, email=EMAIL, first_name="Jan", last_name="Nowak")
        factories.make_user(company, roles.COMPANY_ADMIN, email="marta@kowalski.example")

    laptop, phone, colleague = open_page("laptop"), open_page("phone"), open_page("colleague")
    for page, email in ((laptop, EMAIL), (phone, EMAIL), (colleague, "marta@kowalski.example")):
        log_in(page, email, factories.PASSWORD)
        expect(page).not_to_have_url(url(r"/login/.*"))

    with step("on the laptop: 'Meine Daten → Passwort → Überall abmelden'"):
        open_my_data(laptop)
        laptop.locator("#my-data-tabs").get_by_role("link", name="Passwort").click()
        expect(laptop).to_have_url(url(r"/cc/my-data/\?tab=password"))
        submit(laptop, laptop.locator("#sessions").get_by_role("button", name="Überall abmelden"))
        expect(laptop.locator(".alert-success")).to_contain_text("Sie wurden auf allen anderen Geräten abgemeldet.")

    with step("the laptop stays logged in"):
        menu(laptop, "Aufträge").click()
        expect(laptop).to_have_url(url(r"/cc/orders/.*"))

    with step("the phone's next page is the login page with the reason"):
        phone.goto("/cc/orders/")
        expect(phone).to_have_url(url(r"/login/.*"))
        expect(phone.locator(".alert")).to_contain_text(
            "Ihre Sitzung wurde beendet: Ihr Passwort wurde geändert oder Sie haben sich überall abgemeldet.")

    with step("the colleague's session goes on"):
        colleague.goto("/cc/orders/")
        expect(colleague).to_have_url(url(r"/cc/orders/.*"))

    with step("on the phone, logging in again works"):
        log_in(phone, EMAIL, factories.PASSWORD)
        phone.goto("/cc/orders/")
        expect(phone).to_have_url(url(r"/cc/orders/.*"))

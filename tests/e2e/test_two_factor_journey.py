"""Two-factor login in a real browser: an employee sets it up with the key shown next to the QR code, keeps
the recovery codes, logs in with a code from the app, then with a recovery code (phone left at home), and
logs out everywhere, which ends the session in a second browser. Each new page is checked with axe-core and
at a phone's 375 px, in German; the setup page also in English."""
from __future__ import annotations

import re
import time

import pyotp
import pytest

from app.security import roles
from tests import factories
from tests.e2e.a11y import check_page
from tests.e2e.journeys import expect, log_in, log_out, open_my_data, step, submit, url

pytestmark = pytest.mark.e2e

EMAIL = "ines@kowalski.example"


def fresh_code(secret: str, used: dict) -> str:
    """A code the server accepts now: of the current 30-second step, or of the next one when the current
    step's code was used already (a code is accepted once; one step of clock drift is accepted)."""
    totp = pyotp.TOTP(secret)
    while True:
        current = totp.timecode(time.time())
        step = max(current, used.get("step", -1) + 1)
        if step <= current + 1:
            used["step"] = step
            return totp.generate_otp(step)
        time.sleep(1)


def test_set_up_log_in_with_a_code_and_a_recovery_code_then_log_out_everywhere(live_server, open_page):
    with live_server.app.app_context():
        company = factories.make_company("Kowalski Labortechnik GmbH")
        factories.make_user(company, roles.CUSTOMER, email=EMAIL, first_name="Ines", last_name="Kowalski")
    problems: list[str] = []
    used: dict = {}
    laptop = open_page("laptop")
    log_in(laptop, EMAIL, factories.PASSWORD)

    with step("Meine Daten → Zwei-Faktor-Anmeldung shows a QR code and the key"):
        open_my_data(laptop)
        laptop.locator("#my-data-tabs").get_by_role("link", name="Zwei-Faktor-Anmeldung").click()
        expect(laptop).to_have_url(url(r"/cc/my-data/\?tab=two-factor"))
        expect(laptop.get_by_role("img", name="QR-Code für Ihre Authenticator-App")).to_be_visible()
        secret = laptop.locator("#two-factor-secret").inner_text().replace(" ", "")
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        problems += check_page(laptop, "two-factor setup (de)")

    with step("a mistyped code is refused next to the field"):
        laptop.get_by_label("Anmeldecode").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        submit(laptop, laptop.get_by_role("button", name="Einschalten"))
        expect(laptop.locator("#two-factor-confirm-form .field-error")).to_contain_text("Dieser Code passt nicht")
        problems += check_page(laptop, "two-factor setup with an error")

    with step("the app's code turns it on; the recovery codes are shown once"):
        laptop.get_by_label("Anmeldecode").fill(fresh_code(secret, used))
        submit(laptop, laptop.get_by_role("button", name="Einschalten"))
        expect(laptop.locator(".alert-success")).to_contain_text("Die Zwei-Faktor-Anmeldung ist eingeschaltet")
        codes = laptop.locator("#recovery-codes code").all_inner_texts()
        assert len(codes) == 10
        problems += check_page(laptop, "recovery codes")
        laptop.get_by_role("link", name="Ich habe die Codes aufbewahrt").click()
        expect(laptop.locator("#two-factor-state")).to_contain_text("Ein")
        expect(laptop.locator("#recovery-left")).to_have_text("Verbleibende Wiederherstellungscodes: 10")
        problems += check_page(laptop, "two-factor on")
    log_out(laptop)

    with step("log in: password, then the code from the app"):
        log_in(laptop, EMAIL, factories.PASSWORD)
        expect(laptop).to_have_url(url(r"/login/code/"))
        problems += check_page(laptop, "login code")
        laptop.get_by_label("Anmeldecode").fill(fresh_code(secret, used))
        submit(laptop, laptop.get_by_role("button", name="Anmelden"))
        expect(laptop).not_to_have_url(url(r"/login/.*"))
        laptop.goto("/cc/orders/")
        expect(laptop).to_have_url(url(r"/cc/orders/.*"))

    phone = open_page("phone")
    with step("on another browser: the phone is at home, a recovery code instead"):
        log_in(phone, EMAIL, factories.PASSWORD)
        expect(phone).to_have_url(url(r"/login/code/"))
        phone.get_by_label("Anmeldecode").fill(codes[0])
        submit(phone, phone.get_by_role("button", name="Anmelden"))
        expect(phone.locator(".alert-warning")).to_contain_text("Verbleibende Wiederherstellungscodes: 9")
        phone.goto("/cc/orders/")
        expect(phone).to_have_url(url(r"/cc/orders/.*"))

    with step("the same recovery code does not work twice"):
        third = open_page("third")
        log_in(third, EMAIL, factories.PASSWORD)
        third.get_by_label("Anmeldecode").fill(codes[0])
        submit(third, third.get_by_role("button", name="Anmelden"))
        expect(third.locator("#code-error")).to_contain_text("Dieser Code ist falsch oder wurde schon verwendet")
        problems += check_page(third, "login code with an error")
        third.goto("/cc/orders/")
        expect(third).to_have_url(url(r"/login/.*"))

    with step("on the laptop: log out everywhere; the phone's session ends"):
        laptop.goto("/cc/my-data/?tab=password")
        submit(laptop, laptop.locator("#sessions").get_by_role("button", name="Überall abmelden"))
        expect(laptop.locator(".alert-success")).to_contain_text("Sie wurden auf allen anderen Geräten abgemeldet.")
        phone.goto("/cc/orders/")
        expect(phone).to_have_url(url(r"/login/.*"))
        laptop.goto("/cc/orders/")
        expect(laptop).to_have_url(url(r"/cc/orders/.*"))

    assert problems == [], "\n".join(problems)


def test_the_setup_page_in_english(live_server, open_page):
    with live_server.app.app_context():
        company = factories.make_company("Kowalski Labortechnik GmbH")
        factories.make_user(company, roles.COMPANY_ADMIN, email=EMAIL, language="en")
    page = open_page("admin", locale="en-GB")
    page.goto("/login/")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(factories.PASSWORD)
    submit(page, page.get_by_role("button", name="Log in"))
    problems: list[str] = []
    with step("My data → Two-factor login in English"):
        page.goto("/cc/my-data/?tab=two-factor")
        expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
        expect(page.get_by_role("button", name="Turn on")).to_be_visible()
        problems += check_page(page, "two-factor setup (en)")
    with step("the company admin requires it for every user (Employees)"):
        page.goto("/cc/employees/")
        page.get_by_label("Two-factor login for every user").check()
        submit(page, page.locator("#two-factor-setting-form").get_by_role("button", name="Save"))
        expect(page.locator(".alert-success")).to_contain_text("now required for every user")
        # the admin has none yet: led to set it up before anything else
        page.goto("/cc/orders/")
        expect(page).to_have_url(url(r"/cc/my-data/\?tab=two-factor"))
        expect(page.locator("#two-factor-state")).to_contain_text("Two-factor login is required for your account.")
        problems += check_page(page, "two-factor setup, required (en)")
    assert problems == [], "\n".join(problems)

"""End-to-end journeys: a real Chromium against a live server, one fresh app + database each.

The browser speaks German (Accept-Language de-DE), the portal's default; journey 6
starts in English through the user's own setting.
"""
from __future__ import annotations

import io
import pytest

from app.extensions import db
from app.models import CUSTOMER_FIELDS, PortalUser
from app.security import roles
from tests import factories
from tests.e2e.journeys import (  # skips these journeys without Playwright
    RMA_NUMBER, choose_own_password, create_order, download, expect, log_in, log_out, menu, open_my_data, step,
    submit, url, whole,
)
from tests.helpers import PDF, PNG

pytestmark = pytest.mark.e2e

STAFF_EMAIL = "staff@repair.example"
OWN_PASSWORD = "Mein-eigenes-Passwort-2026"


def make_staff() -> None:
    factories.make_user(None, roles.STAFF, email=STAFF_EMAIL, first_name="Sabine", last_name="Service")


def attach_file(order, user, name: str, content: bytes):
    """A stored file of ``order`` as the portal keeps it (inside an app context)."""
    from werkzeug.datastructures import FileStorage

    from app.services import files

    stored = files.store(FileStorage(io.BytesIO(content), filename=name))
    attachment = files.record(order, stored, user=user)
    db.session.add(attachment)
    db.session.commit()
    return attachment


# -- 1 ---------------------------------------------------------------------------

def test_company_registers_staff_approve_and_the_company_admin_logs_in(live_server, open_page):
    with live_server.app.app_context():
        make_staff()
    company = "Kowalski Labortechnik GmbH"
    email = "m.kowalski@kowalski-labor.example"

    visitor = open_page("visitor")
    with step("register the company"):
        visitor.goto("/login/")
        visitor.get_by_role("link", name="Registrieren").click()
        expect(visitor).to_have_url(url(r"/cc/register/"))
        visitor.get_by_label("Firma").fill(company)
        visitor.locator("#street").fill("Industriestraße 7")
        visitor.locator("#postcode").fill("04109")
        visitor.locator("#city").fill("Leipzig")
        visitor.locator("#country").fill("Deutschland")
        visitor.get_by_label("Vorname").fill("Marta")
        visitor.get_by_label("Nachname").fill("Kowalski")
        visitor.get_by_label("E-Mail").fill(email)
        visitor.get_by_label("Telefon").fill("+49 341 555 0100")
        visitor.get_by_label("Nachricht").fill("Wir senden etwa 20 Geräte im Monat.")
        submit(visitor, visitor.get_by_role("button", name="Registrieren"))
        expect(visitor.locator("#register-done")).to_be_visible()

    staff = open_page("staff")
    log_in(staff, STAFF_EMAIL, factories.PASSWORD)
    with step("staff open the registration request and approve it"):
        staff.goto("/backend/registrations/list/")
        staff.locator("tr", has_text=company).locator("a[href*='/registrations/show/']").click()
        expect(staff.locator("#decision")).to_be_visible()
        submit(staff, staff.locator("#decision").get_by_role("button", name="Freigeben"))
        expect(staff.locator("#access-email")).to_have_text(email)
        password = staff.locator("#access-password").inner_text().strip()
        assert len(password) >= 10

    admin = open_page("company-admin")
    log_in(admin, email, password)
    choose_own_password(admin, password, OWN_PASSWORD)
    with step("the company admin reaches the portal and sees the company"):
        menu(admin, "Aufträge").click()
        expect(admin).to_have_url(url(r"/cc/orders/"))
        expect(admin.locator("table#orders")).to_be_visible()
        expect(menu(admin, "Mitarbeiter")).to_be_visible()
        open_my_data(admin)
        expect(admin.locator("#company-data")).to_contain_text(company)
        expect(admin.locator("#company-data")).to_contain_text("Industriestraße 7")
    log_out(admin)
    with step("the own password works from now on; the generated one does not"):
        log_in(admin, email, password)
        expect(admin).to_have_url(url(r"/login/.*"))
        log_in(admin, email, OWN_PASSWORD)
        expect(admin).to_have_url(url(r"/cc/orders/"))


# -- 2 ---------------------------------------------------------------------------

ARTICLE_FILE = ("Prüfprotokoll Gerät 1.pdf", PDF + b"% article file\n", "application/pdf")
ORDER_FILE = ("Typenschild.png", PNG + b"order file", "image/png")
ARTICLES = [
    dict(article_number="MV-100", description="Messverstärker", serial_number="SN-100-0042", quantity=2,
         fault_description="Kein Ausgangssignal auf Kanal 2", files=[ARTICLE_FILE]),
    dict(article_number="NT-24", description="Netzteil 24 V", serial_number="SN-24-7781", quantity=1,
         fault_description="Lüfter sehr laut"),
]


def _company_admin(app, email="einkauf@alpha.example"):
    with app.app_context():
        company = factories.make_company("Alpha Antriebe GmbH")
        factories.make_user(company, roles.COMPANY_ADMIN, email=email, first_name="Anna", last_name="Alpha")
    return email


def test_company_admin_creates_an_order_with_articles_and_files(live_server, open_page):
    email = _company_admin(live_server.app)
    page = open_page("company-admin")
    log_in(page, email, factories.PASSWORD)
    rma = create_order(page, "PO-4711", ARTICLES, order_files=[ORDER_FILE])

    with step("the order page shows both articles and the files"):
        rows = page.locator("#articles tr.article-row")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("Messverstärker")
        expect(rows.nth(0)).to_contain_text("SN-100-0042")
        expect(rows.nth(1)).to_contain_text("Netzteil 24 V")
        expect(page.locator("#current-status")).to_have_text("Eingegangen")
        article_link = rows.nth(0).locator("a[href*='/files/']")
        order_link = page.locator("#files a[href*='/files/']")
        expect(article_link).to_have_count(1)
        expect(order_link).to_have_count(1)
        expect(rows.nth(1).locator("a[href*='/files/']")).to_have_count(0)
    with step("both files download with their original names and content"):
        assert download(page, article_link) == (ARTICLE_FILE[0], ARTICLE_FILE[1])
        assert download(page, order_link) == (ORDER_FILE[0], ORDER_FILE[1])
    with step("the order is in the overview"):
        menu(page, "Aufträge").click()
        row = page.locator("tr.order-row", has_text=rma)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("PO-4711")
        expect(row).to_contain_text("Eingegangen")
        expect(row.locator("td").nth(4)).to_have_text("2")


def test_a_broken_add_article_script_makes_the_order_journey_fail(live_server, open_page):
    """The journey's checks are real: without portal.js ('Artikel hinzufügen' falls back
    to a round trip to the server, which loses the chosen files) the journey fails."""
    email = _company_admin(live_server.app)
    page = open_page("company-admin")
    page.route("**/static/portal.js", lambda route: route.abort())
    log_in(page, email, factories.PASSWORD)
    with pytest.raises(AssertionError) as failure:
        create_order(page, "PO-4711", ARTICLES, order_files=[ORDER_FILE])
    assert "journey step failed: 'Artikel hinzufügen' adds article 2 in the page" in getattr(
        failure.value, "__notes__", []
    ), failure.value


# -- 3 and 4 ---------------------------------------------------------------------

def _portal_order(app):
    """Company Alpha with an employee and one portal order; returns (employee email, RMA, order id)."""
    with app.app_context():
        make_staff()
        company = factories.make_company("Alpha Antriebe GmbH", street="Werkstraße 3", city="Bremen")
        employee = factories.make_user(company, roles.CUSTOMER, email="technik@alpha.example",
                                       first_name="Tom", last_name="Technik")
        order = factories.make_order(company, employee, items=2, reference="PO-3001")
        return employee.email, order.rma_number, order.id


def test_staff_change_the_status_and_the_customer_sees_it_with_the_history(live_server, open_page):
    employee_email, rma, _ = _portal_order(live_server.app)
    note = "Platine getauscht, Endprüfung läuft."

    staff = open_page("staff")
    log_in(staff, STAFF_EMAIL, factories.PASSWORD)
    with step("staff open the order from the backend list"):
        expect(staff).to_have_url(url(r"/backend/orders/list/"))
        staff.locator("tr", has_text=rma).locator("a[href*='/orders/show/']").click()
        expect(staff.locator("#change-status")).to_be_visible()
    with step("staff change the status with a note"):
        form = staff.locator("#change-status")
        form.get_by_label("Status").select_option(label="In Reparatur")
        form.locator("#note").fill(note)
        submit(staff, form.get_by_role("button", name="Speichern"))
        expect(staff.locator(".alert-success")).to_contain_text("In Reparatur")
        expect(staff.locator("#status-history tr", has_text="In Reparatur")).to_contain_text(note)

    customer = open_page("customer")
    log_in(customer, employee_email, factories.PASSWORD)
    with step("the customer sees the new status in the overview"):
        row = customer.locator("tr.order-row", has_text=rma)
        expect(row).to_contain_text("In Reparatur")
        row.get_by_role("link", name=rma).click()
    with step("the order page shows the status and its history with the note"):
        expect(customer.locator("#current-status")).to_have_text("In Reparatur")
        history = customer.locator("#status-history tr.history-row")
        expect(history).to_have_count(2)
        expect(history.filter(has_text="Eingegangen")).to_have_count(1)
        expect(history.filter(has_text="In Reparatur")).to_contain_text(note)


def test_staff_cannot_edit_the_customer_data_of_a_portal_order(live_server, open_page):
    _, rma, order_id = _portal_order(live_server.app)
    staff = open_page("staff")
    log_in(staff, STAFF_EMAIL, factories.PASSWORD)
    with step("staff open the edit page from the backend list"):
        staff.locator("tr", has_text=rma).locator("a[href*='/orders/edit/']").click()
        expect(staff).to_have_url(url(rf"/backend/orders/edit/{order_id}"))
    with step("the customer data are shown read-only, with no inputs for them"):
        panel = staff.locator("#customer-data-readonly")
        expect(panel).to_be_visible()
        expect(panel).to_contain_text("Kundendaten")
        expect(panel).to_contain_text("Alpha Antriebe GmbH")
        expect(panel).to_contain_text("Werkstraße 3")
        expect(staff.locator("input[name=reference]")).to_have_value("PO-3001")  # the form is there
        for name in CUSTOMER_FIELDS:
            expect(staff.locator(f"[name={name}]")).to_have_count(0)
    with step("the rest of the order can still be saved, the customer data stay"):
        staff.locator("input[name=reference]").fill("PO-3001-B")
        submit(staff, staff.get_by_role("button", name="Speichern"))
        expect(staff.locator(".alert-success")).to_be_visible()
        expect(staff.locator(".alert-danger")).to_have_count(0)
        staff.goto(f"/backend/orders/show/{order_id}")
        expect(staff.locator("body")).to_contain_text("PO-3001-B")
        expect(staff.locator("body")).to_contain_text("Werkstraße 3")


def test_saving_a_portal_order_without_customer_fields_warns_about_nothing(live_server, open_page):
    _, _, order_id = _portal_order(live_server.app)
    staff = open_page("staff")
    log_in(staff, STAFF_EMAIL, factories.PASSWORD)
    staff.goto(f"/backend/orders/edit/{order_id}")
    submit(staff, staff.get_by_role("button", name="Speichern"))
    expect(staff.locator(".alert-success")).to_be_visible()
    expect(staff.locator(".alert-warning")).to_have_count(0, timeout=500)  # the page is there already


# -- 5 ---------------------------------------------------------------------------

def test_company_admin_creates_an_employee_and_deactivates_them(live_server, open_page):
    admin_email = _company_admin(live_server.app)
    with live_server.app.app_context():
        admin_user = db.session.query(PortalUser).filter_by(email=admin_email).one()
        rma = factories.make_order(admin_user.company, admin_user, reference="PO-5005").rma_number
    employee_email = "neu@alpha.example"

    admin = open_page("company-admin")
    log_in(admin, admin_email, factories.PASSWORD)
    with step("the admin creates an employee"):
        menu(admin, "Mitarbeiter").click()
        admin.get_by_role("link", name=whole("Neu")).click()
        admin.get_by_label("Vorname").fill("Nils")
        admin.get_by_label("Nachname").fill("Neumann")
        admin.get_by_label("E-Mail").fill(employee_email)
        submit(admin, admin.get_by_role("button", name="Speichern"))
        expect(admin.locator("#access-email")).to_have_text(employee_email)
        password = admin.locator("#access-password").inner_text().strip()

    employee = open_page("employee")
    log_in(employee, employee_email, password)
    choose_own_password(employee, password, OWN_PASSWORD)
    with step("the employee sees the company's orders (and no employees menu)"):
        menu(employee, "Aufträge").click()
        expect(employee.locator("tr.order-row", has_text=rma)).to_contain_text("PO-5005")
        expect(menu(employee, "Mitarbeiter")).to_have_count(0)

    with step("the admin deactivates the employee"):
        menu(admin, "Mitarbeiter").click()
        row = admin.locator(f"tr.employee-row[data-email='{employee_email}']")
        submit(admin, row.get_by_role("button", name="Deaktivieren"))
        expect(admin.locator(".alert-success")).to_be_visible()
        expect(row).to_contain_text("Inaktiv")
        expect(row.get_by_role("button", name="Aktivieren")).to_be_visible()

    with step("the employee's open page stops working on the next click"):
        employee.locator("tr.order-row", has_text=rma).get_by_role("link", name=rma).click()
        expect(employee).to_have_url(url(r"/login/.*"))
        expect(employee.locator("#rma-number")).to_have_count(0)
    with step("a new login is refused with a message"):
        log_in(employee, employee_email, OWN_PASSWORD)
        expect(employee).to_have_url(url(r"/login/.*"))
        expect(employee.locator(".alert")).to_contain_text("deaktiviert")


# -- 6 ---------------------------------------------------------------------------

def test_employee_switches_to_german_and_ten_orders_per_page(live_server, open_page):
    with live_server.app.app_context():
        company = factories.make_company("Alpha Antriebe GmbH")
        employee = factories.make_user(company, roles.CUSTOMER, email="jo@alpha.example", language="en")
        for n in range(12):
            factories.make_order(company, employee, reference=f"PO-60{n:02d}")
    page = open_page("employee")
    log_in(page, "jo@alpha.example", factories.PASSWORD)

    with step("the portal speaks English, the user's setting, with all 12 orders on one page"):
        expect(page).to_have_url(url(r"/cc/orders/"))
        expect(menu(page, "Orders")).to_be_visible()
        expect(menu(page, "New order")).to_be_visible()
        expect(page.locator("tr.order-row")).to_have_count(12)
    with step("My data → Settings: German, 10 orders per page"):
        open_my_data(page, "My data")
        page.get_by_role("link", name="Settings").click()
        page.get_by_label("Language").select_option(label="Deutsch")
        page.get_by_label("Orders per page").select_option("10")
        submit(page, page.get_by_role("button", name="Save"))
    with step("menus and labels are German on the next page"):
        expect(page).to_have_url(url(r"/cc/my-data/\?tab=settings"))
        expect(page.locator(".alert-success")).to_be_visible()
        expect(menu(page, "Aufträge")).to_be_visible()
        expect(menu(page, "Neuer Auftrag")).to_be_visible()
        expect(menu(page, "Orders")).to_have_count(0)
        expect(page.locator("#my-data-tabs li.active")).to_have_text("Einstellungen")
        expect(page.get_by_label("Sprache")).to_have_value("de")
        expect(page.get_by_label("Aufträge pro Seite")).to_have_value("10")
        expect(page.get_by_role("button", name="Speichern")).to_be_visible()
        page.locator("#user-menu").click()
        expect(menu(page, "Meine Daten")).to_be_visible()
        expect(menu(page, "Abmelden")).to_be_visible()
    with step("the overview shows 10 orders and pages on"):
        menu(page, "Aufträge").click()
        expect(page.locator("tr.order-row")).to_have_count(10)
        expect(page.locator("#pagination")).to_contain_text("Seite 1 von 2")
        page.locator("#pagination").get_by_role("link", name="Nächste").click()
        expect(page.locator("tr.order-row")).to_have_count(2)
        expect(page.locator("#pagination")).to_contain_text("Seite 2 von 2")


# -- 7 ---------------------------------------------------------------------------

def test_another_company_cannot_open_an_order_or_file_by_its_address(live_server, open_page):
    secret = b"ALPHA-ONLY-CONTENT"
    with live_server.app.app_context():
        alpha = factories.make_company("Alpha Antriebe GmbH")
        alpha_admin = factories.make_user(alpha, roles.COMPANY_ADMIN, email="einkauf@alpha.example")
        alpha_order = factories.make_order(alpha, alpha_admin, reference="ALPHA-REF-7007")
        alpha_file = attach_file(alpha_order, alpha_admin, "alpha-pruefbericht.pdf", PDF + secret)
        beta = factories.make_company("Beta Instruments Ltd")
        beta_user = factories.make_user(beta, roles.CUSTOMER, email="service@beta.example")
        beta_order = factories.make_order(beta, beta_user, reference="BETA-REF-1")
        a_id, a_rma, file_id, b_id, b_rma = (alpha_order.id, alpha_order.rma_number, alpha_file.id,
                                             beta_order.id, beta_order.rma_number)
    alpha_words = (a_rma, "ALPHA-REF-7007", "alpha-pruefbericht", "Alpha Antriebe")

    page = open_page("beta-user")
    log_in(page, "service@beta.example", factories.PASSWORD)
    with step("the overview holds only the own company's orders"):
        expect(page.locator("tr.order-row")).to_have_count(1)
        expect(page.locator("tr.order-row")).to_contain_text(b_rma)
    for address in (f"/cc/orders/{a_id}", f"/cc/orders/{a_id}/files/{file_id}",
                    f"/cc/orders/{b_id}/files/{file_id}"):
        with step(f"{address} is 'not found' for another company"):
            response = page.goto(address)
            assert response.status == 404, (address, response.status)
            assert secret not in response.body()
            expect(page.locator("#error-page")).to_contain_text("Nicht gefunden")
            expect(page.locator("#rma-number")).to_have_count(0)
            content = page.content()
            for word in alpha_words:
                assert word not in content, f"{word!r} shown on {address}"
    with step("the own order still opens"):
        page.goto(f"/cc/orders/{b_id}")
        expect(page.locator("#rma-number")).to_have_text(RMA_NUMBER)

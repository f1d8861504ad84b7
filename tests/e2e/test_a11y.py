"""Every page, for every role and in both languages: no critical or serious WCAG 2.1 A/AA
violation found by axe-core, and no page wider than a phone's 375 px screen.

One browser context per role and language visits the role's pages (demo data plus a
message, a file, a registration request and an API key), including pages with form
errors, the pages shown once after a form (access data, a new API key, a sent order)
and error pages. Run alone: ``CI=true .venv/bin/python -m pytest tests/e2e -k axe``.
"""
from __future__ import annotations

import io
import re
from urllib.parse import quote_plus

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    SOURCE_BACKEND, SOURCE_FRONTEND, AuditEvent, Order, OrderMessage, OutgoingMail, PortalUser,
    RegistrationRequest, StatusChange,
)
from app.seed import DEMO_PASSWORD, DEMO_PASSWORD_STAFF, load_demo_data
from tests.e2e.a11y import DESKTOP, axe_source, check_page
from tests.e2e.journeys import expect, step, submit
from tests.factories import make_sent_quote
from tests.helpers import PDF

pytestmark = pytest.mark.e2e

STAFF = "staff@portal.example"
COMPANY_ADMIN = "anna.mueller@mueller-medtech.example"
CUSTOMER = "jonas.weber@mueller-medtech.example"
LANGUAGES = {"de": "de-DE", "en": "en-GB"}


def _seed(app, language: str) -> dict:
    """Demo data in ``language`` plus what the pages show only when it exists; the ids."""
    from werkzeug.datastructures import FileStorage

    from app.services import files

    with app.app_context():
        load_demo_data()
        for user in db.session.scalars(select(PortalUser)):
            user.language = language
        admin = db.session.scalars(select(PortalUser).where(PortalUser.email == COMPANY_ADMIN)).one()
        staff = db.session.scalars(select(PortalUser).where(PortalUser.email == STAFF)).one()
        order = db.session.scalars(
            select(Order).where(Order.company_id == admin.company_id).order_by(Order.id.desc())).first()
        db.session.add_all([
            OrderMessage(order_id=order.id, company_id=order.company_id, author_id=admin.id,
                         body="Bitte dringend bearbeiten. / Please hurry."),
            OrderMessage(order_id=order.id, company_id=order.company_id, author_id=staff.id, from_staff=True,
                         body="Das Gerät ist eingetroffen. / The device has arrived."),
            OrderMessage(order_id=order.id, company_id=order.company_id, author_id=staff.id, from_staff=True,
                         internal=True, body="Intern / internal"),
            RegistrationRequest(company_name="Kowalski Labortechnik GmbH", street="Industriestraße 7",
                                postcode="04109", city="Leipzig", country="Deutschland", first_name="Marta",
                                last_name="Kowalski", email="m.kowalski@kowalski-labor.example",
                                phone="+49 341 555 0100", message="Etwa 20 Geräte im Monat.", language=language),
            OutgoingMail(recipient=COMPANY_ADMIN, subject="RMA", body="…", kind="status_changed",
                         language=language, order_id=order.id),
        ])
        # a quote: version 1 sent (an earlier version on the page), version 2 a draft tied to an article
        from app.services import quotes

        valid = quotes.default_valid_until()
        first_quote = quotes.save_draft(order, staff, lines=[dict(text="Prüfung / Inspection", quantity="1",
                                                                  unit_price="49.00")],
                                        vat_rate="19", valid_until=valid, note="Preise netto / prices net")
        quotes.send(first_quote, staff)
        quotes.save_draft(order, staff, lines=[
            dict(text="Display tauschen / replace display", quantity="2", unit_price="19.99",
                 item_id=order.items[0].id),
            dict(text="Versand / shipping", quantity="1", unit_price="12.50")], vat_rate="19", valid_until=valid,
            note=None)
        stored = files.store(FileStorage(io.BytesIO(PDF), filename="Prüfprotokoll.pdf"))
        db.session.add(files.record(order, stored, item=order.items[0], user=admin))
        db.session.commit()
        make_sent_quote(order, staff)  # the order page with its quote (and, for the admin, the decision)
        first = lambda model: db.session.scalars(select(model.id).order_by(model.id)).first()  # noqa: E731
        frontend = db.session.scalars(select(Order).where(Order.source == SOURCE_FRONTEND)).first()
        ids = dict(
            order=order.id, item=order.items[0].id, company=admin.company_id, user=admin.id,
            serial=quote_plus(order.items[0].serial_number or "SN"),
            backend_order=db.session.scalars(select(Order.id).where(Order.source == SOURCE_BACKEND)).first(),
            frontend_rma=frontend.rma_number, frontend_email=frontend.email,
            history=first(StatusChange), registration=first(RegistrationRequest), audit=first(AuditEvent),
            outbox=first(OutgoingMail), status=db.session.scalars(select(Order.status_id)).first(),
            form_min_seconds=app.config["PUBLIC_FORM_MIN_SECONDS"],
        )
        db.session.remove()
    return ids


def _portal_pages(ids: dict) -> list[str]:
    return [
        "/cc/orders/", f"/cc/orders/{ids['order']}", "/cc/orders/new", f"/cc/orders/{ids['order']}/slip",
        "/cc/orders/from-file",
        "/cc/my-data/", "/cc/my-data/?tab=password", "/cc/my-data/?tab=settings", "/cc/my-data/?tab=export",
        "/cc/my-data/?tab=two-factor",
        "/cc/devices/",
        "/cc/orders/99999999",  # the error page
        f"/cc/devices/history?serial={ids['serial']}", "/cc/devices/history",
    ]


def _staff_pages(ids: dict) -> list[str]:
    return [
        "/backend/dashboard/",
        "/backend/orders/list/", f"/backend/orders/show/{ids['order']}", f"/backend/orders/edit/{ids['order']}",
        f"/backend/orders/show/{ids['backend_order']}", "/backend/orders/add", f"/backend/orders/{ids['order']}/slip",
        f"/backend/orders/{ids['order']}/quote", f"/backend/orders/{ids['backend_order']}/quote",
        f"/backend/articles/edit/{ids['item']}", f"/backend/articles/{ids['item']}/remove",
        "/backend/history/list/", f"/backend/history/show/{ids['history']}",
        "/backend/companies/list/", f"/backend/companies/show/{ids['company']}",
        f"/backend/companies/edit/{ids['company']}", "/backend/companies/add",
        f"/backend/companies/{ids['company']}/statistics", f"/backend/companies/{ids['company']}/erase",
        "/backend/company-users/list/", f"/backend/company-users/show/{ids['user']}",
        f"/backend/company-users/edit/{ids['user']}", f"/backend/company-users/{ids['user']}/erase",
        "/backend/registrations/list/", f"/backend/registrations/show/{ids['registration']}",
        "/backend/statuses/list/", f"/backend/statuses/show/{ids['status']}",
        f"/backend/statuses/edit/{ids['status']}", "/backend/statuses/add",
        "/backend/audit/list/", f"/backend/audit/show/{ids['audit']}",
        "/backend/devices/list/", "/backend/devices/add",
        "/backend/outbox/list/", f"/backend/outbox/show/{ids['outbox']}",
        f"/backend/devices/history?serial={ids['serial']}",
        "/cc/my-data/",
    ]


def _visit(page, path: str, problems: list[str], expect_status=(200,)) -> None:
    response = page.goto(path)
    assert response is not None and response.status in expect_status, (path, response and response.status)
    problems.extend(check_page(page, path))


def _check(page, label: str, problems: list[str]) -> None:
    """The page as it is now (after a form was sent)."""
    problems.extend(check_page(page, f"{label} ({page.url.split('/', 3)[-1]})"))


def log_in(page, email: str, password: str) -> None:
    """The login page in either language (fields by id)."""
    with step(f"log in as {email}"):
        page.goto("/login/")
        page.locator("#username").fill(email)
        page.locator("#password").fill(password)
        submit(page, page.locator("form[name=login] button[type=submit]"))
        expect(page).not_to_have_url(re.compile(r".*/login/"))


def _journey_visitor(page, ids, problems):
    for path in ("/login/", "/cc/register/", "/cc/register/done", "/repair/", "/repair/status/"):
        _visit(page, path, problems)
    _visit(page, "/cc/orders/", problems)  # anonymous: led to the login page
    _visit(page, "/no-such-page", problems, expect_status=(404,))
    _visit(page, "/cc/set-password/not-a-token", problems, expect_status=(404,))
    with step("a login with a wrong password shows its error"):
        page.goto("/login/")
        page.locator("#username").fill(CUSTOMER)
        page.locator("#password").fill("wrong")
        submit(page, page.locator("form button[type=submit]"))
        _check(page, "login refused", problems)
    with step("the register form with errors"):
        page.goto("/cc/register/")
        submit(page, page.locator("form button[type=submit]").last)
        _check(page, "register with errors", problems)
    with step("the public order form with errors"):
        page.goto("/repair/")
        submit(page, page.locator("#send-order"))
        _check(page, "public form with errors", problems)
    with step("a public order sent: its confirmation"):
        page.goto("/repair/")
        for field, value in (("customer_name", "Praxis Dr. Lang"), ("street", "Lindenweg 3"), ("postcode", "04109"),
                             ("city", "Leipzig"), ("country", "Deutschland"), ("email", "praxis@lang.example")):
            page.locator(f"#{field}").fill(value)
        article = page.locator("#articles fieldset.article").first
        article.locator("[name$='-description']").fill("EKG-Gerät")
        article.locator("[name$='-fault_description']").fill("Startet nicht")
        page.locator("#privacy").check()
        page.wait_for_timeout(ids["form_min_seconds"] * 1000 + 200)
        submit(page, page.locator("#send-order"))
        expect(page.locator("#rma-number")).to_be_visible()
        _check(page, "public order sent", problems)
    with step("the status of an order from the public form"):
        page.goto("/repair/status/")
        page.locator("#rma_number").fill(ids["frontend_rma"])
        page.locator("#email").fill(ids["frontend_email"])
        submit(page, page.locator("#status-form button[type=submit]"))
        expect(page.locator("#current-status")).to_be_visible()
        _check(page, "status found", problems)
        page.goto("/repair/status/")
        page.locator("#rma_number").fill("RMA-0000-000000")
        page.locator("#email").fill(ids["frontend_email"])
        submit(page, page.locator("#status-form button[type=submit]"))
        _check(page, "status not found", problems)


def _journey_customer(page, ids, problems):
    log_in(page, CUSTOMER, DEMO_PASSWORD)
    for path in _portal_pages(ids):
        _visit(page, path, problems, expect_status=(200, 404))
    _visit(page, "/cc/employees/", problems, expect_status=(403,))
    with step("a new order with a second article (its 'Remove article' buttons shown)"):
        page.goto("/cc/orders/new")
        page.locator("#add-article").click()
        expect(page.locator("#articles fieldset.article")).to_have_count(2)
        _check(page, "new order with two articles", problems)
    with step("a new order sent empty shows its errors"):
        page.goto("/cc/orders/new")
        submit(page, page.locator("form#order-form button[type=submit], form button[type=submit]").last)
        _check(page, "new order with errors", problems)
    with step("an order from a file: a preview with errors per row, then one without (new serial numbers listed)"):
        for name, body, shown in (
                ("errors.csv", "Bezeichnung;Menge;Fehlerbeschreibung\n;0;defekt\nPumpe;1;\n", "#preview-errors"),
                ("good.csv", "Bezeichnung;Seriennummer;Menge;Fehlerbeschreibung\nPumpe;SN-A11Y-1;1;leckt\n",
                 "#preview-articles")):
            page.goto("/cc/orders/from-file")
            page.locator("#reference").fill("PO-A11Y")
            page.locator("#file").set_input_files({"name": name, "mimeType": "text/csv", "buffer": body.encode()})
            submit(page, page.locator("#show-preview"))
            expect(page.locator(shown)).to_be_visible()
            _check(page, f"order from file: {name}", problems)
    with step("'Log out everywhere' in My data: the password tab with its message"):
        page.goto("/cc/my-data/?tab=password")
        submit(page, page.locator("#log-out-everywhere-form button[type=submit]"))
        expect(page.locator(".alert-success")).to_be_visible()
        _check(page, "logged out everywhere", problems)


def _journey_company_admin(page, ids, problems):
    log_in(page, COMPANY_ADMIN, DEMO_PASSWORD)
    # the statistics are the company admin's (an employee gets 403, so they are not in _portal_pages)
    for path in [*_portal_pages(ids), "/cc/employees/", "/cc/employees/new", "/cc/my-data/api-keys/",
                 "/cc/my-data/webhooks/", "/cc/statistics/", "/cc/devices/new", "/cc/devices/import"]:
        _visit(page, path, problems, expect_status=(200, 404))
    with step("a device sent without its required fields: the messages at the fields"):
        page.goto("/cc/devices/new")
        submit(page, page.locator("#device-form button[type=submit]"))
        expect(page.locator("#serial_number-error")).to_be_visible()
        _check(page, "device form with errors", problems)
    with step("a device import with errors: the preview lists them"):
        page.goto("/cc/devices/import")
        page.locator("#file").set_input_files(files=[{
            "name": "devices.csv", "mimeType": "text/csv",
            "buffer": "Seriennummer;Bezeichnung;Farbe;Garantie bis\nD-1;Pumpe;rot;32.01.2026\n".encode()}])
        submit(page, page.locator("#import-form button[type=submit]"))
        expect(page.locator("#error-list")).to_be_visible()
        _check(page, "device import preview with errors", problems)
    with step("the API documentation (FAB's Swagger UI, linked from the API keys page)"):
        page.goto("/swagger/v1")
        expect(page.locator("#swagger-ui .info")).to_be_visible()
        _check(page, "API documentation", problems)
    with step("a new employee: the access data page"):
        page.goto("/cc/employees/new")
        page.locator("#first_name").fill("Lena")
        page.locator("#last_name").fill("Neumann")
        page.locator("#email").fill("lena.neumann@mueller-medtech.example")
        submit(page, page.locator("form button[type=submit]").last)
        _check(page, "employee access data", problems)
    with step("a quote rejected without a choice: the message at the field"):
        page.goto(f"/cc/orders/{ids['order']}")
        submit(page, page.locator("#reject-quote"))
        expect(page.locator("#reject_action-error")).to_be_visible()
        _check(page, "quote decision with an error", problems)
    with step("the employees page with the quote settings, sent with a wrong approval limit"):
        page.goto("/cc/employees/")
        page.locator("#approval_limit").fill("-5")
        submit(page, page.locator("#quote-settings-form button[type=submit]"))
        expect(page.locator("#approval_limit-error")).to_be_visible()
        _check(page, "quote settings with an error", problems)
    with step("a new API key: shown once"):
        page.goto("/cc/my-data/api-keys/")
        page.locator("#name").fill("ERP")
        submit(page, page.locator("form button[type=submit]").last)
        _check(page, "new API key", problems)
        page.goto("/cc/my-data/api-keys/")
        _check(page, "API keys with a key", problems)
    with step("a webhook sent without address and events: the messages at the fields"):
        page.goto("/cc/my-data/webhooks/")
        for box in page.locator("#events input[type=checkbox]").all():
            box.uncheck()
        submit(page, page.locator("#webhook-form button[type=submit]"))
        expect(page.locator("#url-error")).to_be_visible()
        expect(page.locator("#events-error")).to_be_visible()
        _check(page, "webhook form with errors", problems)
    with step("a new webhook: its secret shown once, the list, its delivery log (paused: nothing is sent)"):
        page.goto("/cc/my-data/webhooks/")
        page.locator("#url").fill("https://93.184.216.34/portal-events")  # a public address, no name lookup
        submit(page, page.locator("#webhook-form button[type=submit]"))
        expect(page.locator("#webhook-secret")).to_be_visible()
        _check(page, "new webhook", problems)
        page.goto("/cc/my-data/webhooks/")
        submit(page, page.locator("#webhooks .webhook-row button[type=submit]").first)  # pause
        _check(page, "webhooks with a paused one", problems)
        page.locator("#webhooks .webhook-link").first.click()
        expect(page.locator("#deliveries")).to_be_visible()
        _check(page, "webhook delivery log", problems)


def _journey_staff(page, ids, problems):
    log_in(page, STAFF, DEMO_PASSWORD_STAFF)
    for path in _staff_pages(ids):
        _visit(page, path, problems)
    with step("approving a registration request: the access data page"):
        page.goto(f"/backend/registrations/show/{ids['registration']}")
        submit(page, page.locator("#decision button[type=submit]").first)
        _check(page, "registration approved", problems)


JOURNEYS = {
    "visitor": _journey_visitor,
    "customer": _journey_customer,
    "company_admin": _journey_company_admin,
    "staff": _journey_staff,
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", JOURNEYS)
def test_axe_and_phone_width_on_every_page(role, language, live_server, open_page):
    axe_source()
    ids = _seed(live_server.app, language)
    page = open_page(role, locale=LANGUAGES[language])
    page.set_viewport_size(DESKTOP)
    problems: list[str] = []
    JOURNEYS[role](page, ids, problems)
    assert not problems, f"{len(problems)} problems for {role} in {language}:\n" + "\n".join(problems)
    assert page.evaluate("document.documentElement.lang") == language


def test_axe_check_reports_a_known_violation_and_a_too_wide_page(browser):
    """The checks can fail: a page with known violations, no main landmark, no h1, an empty
    column header, and wider than a phone."""
    axe_source()
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.set_content('<html><head><title>t</title></head><body><p>t</p>'
                         '<img src="data:," id="no-alt">'
                         '<table id="t"><tr><th>Name</th><th id="empty"></th></tr><tr><td>a</td><td>b</td></tr></table>'
                         '<div style="width: 600px">wide</div></body></html>')
        problems = check_page(page, "known-bad")
    finally:
        context.close()
    expected = [
        "known-bad: html-has-lang (serious) at html: ",
        "known-bad: image-alt (critical) at #no-alt: ",
        "known-bad: landmark-one-main at html: ",
        "known-bad: page-has-heading-one at html: ",
        "known-bad: empty-table-header at #empty: ",
        "known-bad at 375 px: 608 px wide at a 375 px screen (div 608px)",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)

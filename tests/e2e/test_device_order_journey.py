"""An order picked from the device register, in the browser: typing part of a serial number offers
the company's devices (never another company's), picking one fills article number and description,
also in an article row added in the page; the order then shows each article's warranty."""
from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.models import Device
from app.security import roles
from tests import factories
from tests.e2e.journeys import expect, log_in, step, submit, url

pytestmark = pytest.mark.e2e


def test_an_employee_picks_two_devices_by_serial_number(live_server, open_page):
    with live_server.app.app_context():
        company = factories.make_company("Kowalski Labortechnik GmbH")
        other = factories.make_company("Andere GmbH")
        factories.make_user(company, roles.CUSTOMER, email="jan@kowalski.example", first_name="Jan",
                            last_name="Nowak")
        db.session.add_all([
            Device(company_id=company.id, serial_number="PU-1001", article_number="PU-X", description="Pumpe X",
                   warranty_until=dt.date(2099, 12, 31)),
            Device(company_id=company.id, serial_number="PU-1002", article_number="PU-Y", description="Pumpe Y",
                   warranty_until=dt.date(2020, 6, 30)),
            Device(company_id=other.id, serial_number="PU-1003", article_number="SECRET", description="Fremd"),
        ])
        db.session.commit()

    page = open_page("employee")
    log_in(page, "jan@kowalski.example", factories.PASSWORD)
    page.goto("/cc/orders/new")
    page.locator("#reference").fill("PO-PUMPEN")
    with step("typing part of a serial number offers the company's own devices"):
        page.locator("#items-0-serial_number").fill("PU-10")
        expect(page.locator("#device-matches option")).to_have_count(2)
        assert "PU-1003" not in page.locator("#device-matches").inner_html()
    with step("picking one fills article number and description"):
        page.locator("#items-0-serial_number").fill("PU-1001")
        expect(page.locator("#items-0-article_number")).to_have_value("PU-X")
        expect(page.locator("#items-0-description")).to_have_value("Pumpe X")
        page.locator("#items-0-fault_description").fill("leckt")
    with step("the same in an article row added in the page"):
        page.locator("#add-article").click()
        row = page.locator("#articles fieldset.article").nth(1)
        serial = row.locator("input[name$='-serial_number']")
        serial.fill("1002")
        expect(page.locator("#device-matches option")).to_have_count(1)
        serial.fill("PU-1002")
        expect(row.locator("input[name$='-description']")).to_have_value("Pumpe Y")
        expect(row.locator("input[name$='-article_number']")).to_have_value("PU-Y")
        row.locator("textarea[name$='-fault_description']").fill("Motor defekt")
    with step("the order shows each article's warranty"):
        submit(page, page.locator("#save-order"))
        expect(page).to_have_url(url(r"/cc/orders/\d+"))
        expect(page.locator("#articles")).to_contain_text("In Garantie (bis 31.12.2099)")
        expect(page.locator("#articles")).to_contain_text("Abgelaufen (seit 30.06.2020)")

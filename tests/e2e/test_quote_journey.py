"""A quote moves a repair on, in the browser: staff write and send it, an employee without the
right sees it without buttons, the company admin accepts it with a purchase order number; the
status, the audit log and the mails follow."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Order, OutgoingMail, Quote
from app.security import roles
from tests import factories
from tests.e2e.journeys import download, expect, log_in, step, submit, url

pytestmark = pytest.mark.e2e

STAFF_EMAIL = "staff@repair.example"


def test_staff_send_a_quote_and_the_company_admin_accepts_it(live_server, open_page):
    with live_server.app.app_context():
        factories.make_user(None, roles.STAFF, email=STAFF_EMAIL, first_name="Sabine", last_name="Service")
        company = factories.make_company("Kowalski Labortechnik GmbH")
        admin = factories.make_user(company, roles.COMPANY_ADMIN, email="marta@kowalski.example",
                                    first_name="Marta", last_name="Kowalski")
        factories.make_user(company, roles.CUSTOMER, email="jan@kowalski.example", first_name="Jan",
                            last_name="Nowak")
        order = factories.make_order(company, admin, reference="PO-LAB-77")
        order_id, rma = order.id, order.rma_number
        admin_id = admin.id

    staff = open_page("staff")
    log_in(staff, STAFF_EMAIL, factories.PASSWORD)
    with step("staff open the order and write a quote of two lines"):
        staff.goto(f"/backend/orders/show/{order_id}")
        staff.locator("#write-quote").click()
        expect(staff).to_have_url(url(rf"/backend/orders/{order_id}/quote"))
        lines = staff.locator("fieldset.quote-line")
        if lines.count() == 0:
            staff.locator("#add-line").click()
        lines.nth(0).get_by_label("Text").fill("Display tauschen")
        lines.nth(0).get_by_label("Menge").fill("2")
        lines.nth(0).get_by_label("Einzelpreis netto").fill("19,99")
        submit(staff, staff.locator("#add-line"))
        lines.nth(1).get_by_label("Text").fill("Arbeitszeit")
        lines.nth(1).get_by_label("Menge").fill("1,5")
        lines.nth(1).get_by_label("Einzelpreis netto").fill("80")
        submit(staff, staff.locator("#save-quote"))
        expect(staff).to_have_url(url(rf"/backend/orders/show/{order_id}(#quote)?"))
        # 39.98 + 120.00 = 159.98 net, 30.40 VAT, 190.38 gross, in German
        expect(staff.locator("#quote")).to_contain_text("159,98 €")
        expect(staff.locator("#quote")).to_contain_text("190,38 €")
    with step("staff send it"):
        submit(staff, staff.locator("#send-quote").get_by_role("button", name="Senden"))
        expect(staff.locator(".alert-success")).to_be_visible()
        expect(staff.locator("#quote")).not_to_contain_text("Entwurf")

    employee = open_page("employee")
    log_in(employee, "jan@kowalski.example", factories.PASSWORD)
    with step("an employee without the right sees the quote, but no buttons"):
        employee.goto(f"/cc/orders/{order_id}")
        expect(employee.locator("#quote-gross")).to_have_text("190,38 €")
        expect(employee.locator("#quote-lines")).to_contain_text("Display tauschen")
        expect(employee.get_by_role("button", name="Kostenvoranschlag annehmen")).to_have_count(0)
        expect(employee.get_by_role("button", name="Kostenvoranschlag ablehnen")).to_have_count(0)

    admin_page = open_page("admin")
    log_in(admin_page, "marta@kowalski.example", factories.PASSWORD)
    with step("the company admin downloads the quote as PDF"):
        admin_page.goto(f"/cc/orders/{order_id}")
        name, content = download(admin_page, admin_page.locator("#quote-pdf"))
        assert name.endswith(".pdf") and content.startswith(b"%PDF")
    with step("the company admin accepts with a purchase order number"):
        admin_page.locator("#accept-quote-form").get_by_label("Bestellnummer").fill("4500012345")
        submit(admin_page, admin_page.get_by_role("button", name="Kostenvoranschlag annehmen"))
        expect(admin_page.locator(".alert-success")).to_be_visible()
        expect(admin_page.locator("#quote-po-number")).to_have_text("4500012345")
        expect(admin_page.locator("#current-status")).to_have_text("In Reparatur")
        expect(admin_page.get_by_role("button", name="Kostenvoranschlag annehmen")).to_have_count(0)

    with step("the employee's page now shows the decision"):
        employee.reload()
        expect(employee.locator("#quote-state")).to_contain_text("Marta Kowalski")

    with live_server.app.app_context():
        quote = db.session.scalars(select(Quote).where(Quote.order_id == order_id)).one()
        assert (quote.state, quote.po_number, quote.decided_by_id) == ("accepted", "4500012345", admin_id)
        assert db.session.get(Order, order_id).status.code == "in_repair"
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Quote")).all()
        assert sorted(actions) == ["quote.accepted", "quote.sent"]
        mails = db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()
        sent = {m.recipient for m in mails if m.kind == "quote_sent"}
        assert sent == {"marta@kowalski.example", "jan@kowalski.example"}
        decided = [m for m in mails if m.kind == "quote_decided"]
        assert len(decided) == 1 and "4500012345" in decided[0].body and rma in decided[0].subject
        assert all(m.sent_at is not None for m in mails)  # delivered after each change

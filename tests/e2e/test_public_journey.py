"""End-to-end: a repair order through the public form, without an account, and its status page.

German browser; the form's fields and buttons are found by id.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order, OutgoingMail
from tests.e2e.journeys import RMA_NUMBER, expect, _fill_article, step, submit, url
from tests.helpers import PDF, PNG

pytestmark = pytest.mark.e2e

EMAIL = "werkstatt@praxis-lang.example"


def test_visitor_sends_a_repair_order_and_looks_up_its_status(live_server, open_page):
    page = open_page("visitor")
    fieldsets = page.locator("#articles fieldset.article")
    with step("the login page leads to the public order form"):
        page.goto("/login/")
        page.locator('a[href="/repair/"]').click()
        expect(page).to_have_url(url(r"/repair/"))
        expect(fieldsets).to_have_count(1)
    with step("fill in the customer data"):
        page.locator("#customer_name").fill("Praxis Dr. Lang")
        page.get_by_label("Ansprechpartner").fill("Dr. Lena Lang")
        page.get_by_label("Straße").fill("Lindenweg 3")
        page.get_by_label("PLZ").fill("04109")
        page.get_by_label("Ort").fill("Leipzig")
        page.get_by_label("Land").fill("Deutschland")
        page.get_by_label("E-Mail").fill(EMAIL)
    with step("two articles, the second added in the page, with files"):
        _fill_article(fieldsets.nth(0), dict(article_number="ECG-200", description="EKG-Gerät",
                                              serial_number="SN-77", quantity=1, fault_description="Startet nicht",
                                              files=[("foto.png", PNG, "image/png")]))
        page.get_by_role("button", name="Artikel hinzufügen").click()
        expect(fieldsets).to_have_count(2)
        _fill_article(fieldsets.nth(1), dict(article_number="", description="Kabel", serial_number="",
                                              quantity=2, fault_description="Bruch"))
        page.locator("#files").set_input_files([{"name": "Lieferschein.pdf", "mimeType": "application/pdf",
                                                 "buffer": PDF}])
        page.locator("#privacy").check()
    with step("send it (after the minimum fill time) and see the RMA number"):
        page.wait_for_timeout(live_server.app.config["PUBLIC_FORM_MIN_SECONDS"] * 1000 + 200)
        submit(page, page.locator("#send-order"))
        expect(page).to_have_url(url(r"/repair/sent"))
        expect(page.locator("#rma-number")).to_have_text(RMA_NUMBER)
    rma = page.locator("#rma-number").inner_text().strip()
    with live_server.app.app_context():
        order = db.session.scalars(select(Order).where(Order.rma_number == rma)).one()
        assert (order.source, order.company_id, order.item_count, len(order.attachments)) == ("frontend", None, 2, 2)
        kinds = sorted(m.kind for m in db.session.scalars(select(OutgoingMail).where(OutgoingMail.order_id == order.id)))
        assert kinds == ["order_created", "public_order_received"]
        db.session.remove()

    with step("the status page, reached from the confirmation, has the RMA number filled in"):
        page.locator(f'a[href="/repair/status/?rma={rma}"]').click()
        expect(page.locator("#rma_number")).to_have_value(rma)
        page.get_by_label("E-Mail").fill(EMAIL.upper())
        submit(page, page.locator("#status-form button[type=submit]"))
        expect(page.locator("#current-status")).to_have_text("Eingegangen")
        expect(page.locator("#status-history .history-row")).to_have_count(1)
        expect(page.locator("#order-articles")).to_contain_text("EKG-Gerät")
        expect(page.locator("body")).not_to_contain_text("foto.png")

    stranger = open_page("stranger")
    with step("someone with the RMA number but another email address learns nothing"):
        stranger.goto("/repair/status/")
        stranger.locator("#rma_number").fill(rma)
        stranger.get_by_label("E-Mail").fill("guess@example.org")
        submit(stranger, stranger.locator("#status-form button[type=submit]"))
        expect(stranger.locator("#not-found")).to_be_visible()
        expect(stranger.locator("body")).not_to_contain_text("EKG-Gerät")

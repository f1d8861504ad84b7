"""A company's register from a spreadsheet, in the browser: the company admin uploads 20 devices as
XLSX with two bad rows, sees each error by row and column with nothing saved, uploads the fixed file,
confirms; an order of one of the devices then shows its warranty and the device's service history."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Device
from app.security import roles
from tests import factories
from tests.e2e.journeys import expect, log_in, step, submit

pytestmark = pytest.mark.e2e

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def register_file(bad: bool) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Seriennummer", "Artikelnummer", "Bezeichnung", "Lieferdatum", "Garantie bis"])
    for i in range(20):
        warranty = "31.12.2099" if i % 2 == 0 else "30.06.2020"
        sheet.append([f"LAB-{i:03d}", "ZF-9", f"Zentrifuge {i}", "15.01.2020", warranty])
    if bad:
        sheet["E4"] = "32.13.2026"  # row 4: no such date
        sheet["A6"] = "LAB-000"  # row 6: the serial number of row 2 again
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(page, content: bytes) -> None:
    page.goto("/cc/devices/import")
    page.locator("#import-form input[type=file]").set_input_files(
        {"name": "geraete.xlsx", "mimeType": XLSX, "buffer": content})
    submit(page, page.locator("#import-form").get_by_role("button", name="Hochladen"))


def test_a_company_admin_imports_the_register_and_sees_warranty_and_history(live_server, open_page):
    with live_server.app.app_context():
        company = factories.make_company("Kowalski Labortechnik GmbH")
        admin = factories.make_user(company, roles.COMPANY_ADMIN, email="marta@kowalski.example",
                                    first_name="Marta", last_name="Kowalski")
        company_id, admin_id = company.id, admin.id

    page = open_page("admin")
    log_in(page, "marta@kowalski.example", factories.PASSWORD)
    with step("a file with two bad rows: each error by row and column, no way to confirm"):
        _upload(page, register_file(bad=True))
        errors = page.locator("#error-list")
        expect(errors).to_contain_text("Garantie bis")
        expect(errors).to_contain_text("Seriennummer")
        expect(errors.locator("tbody tr")).to_have_count(2)
        expect(page.locator("#confirm-import")).to_have_count(0)
    with live_server.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Device)) == 0

    with step("the fixed file: a preview of 20 devices, confirmed"):
        _upload(page, register_file(bad=False))
        expect(page.locator("#import-ready")).to_contain_text("20")
        submit(page, page.locator("#confirm-import"))
        expect(page.locator(".alert-success")).to_contain_text("20")
    with live_server.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Device).where(Device.company_id == company_id)) == 20
        from app.models import Company, PortalUser
        from app.services.orders import create_portal_order

        # an order of one of the devices, made as the order form makes it
        new = create_portal_order(db.session.get(Company, company_id), db.session.get(PortalUser, admin_id),
                                  reference="PO-ZF", items=[dict(description="Zentrifuge 2", serial_number="LAB-002",
                                                                 quantity=1, fault_description="unwucht")])
        db.session.commit()
        new_id, new_rma = new.id, new.rma_number
        assert new.items[0].in_warranty is True and new.items[0].warranty_until == dt.date(2099, 12, 31)

    with step("the order shows the warranty; the serial number leads to the service history"):
        page.goto(f"/cc/orders/{new_id}")
        expect(page.locator("#articles")).to_contain_text("In Garantie (bis 31.12.2099)")
        page.locator("#articles a.serial-history").first.click()
        expect(page.locator("#history-serial")).to_have_text("LAB-002")
        expect(page.locator("#history")).to_contain_text(new_rma)
        expect(page.locator(".register-device")).to_contain_text("Zentrifuge 2")

"""Data export ("Datenauskunft"): a ZIP of one's own data, or a company admin's of the company's."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

from sqlalchemy import func, select

from app.extensions import db
from app.models import DataExport, Device, OrderMessage, utcnow
from app.services import data_export, retention, worker
from tests.conftest import _client_for
from tests.factories import make_order
from tests.helpers import text


def _request(client, scope="user"):
    response = client.post("/cc/my-data/exports", data={"scope": scope})
    response.close()  # as the server does once it is sent: the export is built then (MAIL_DELIVERY=request)
    return response


def _zip(client, export_id) -> zipfile.ZipFile:
    response = client.get(f"/cc/my-data/exports/{export_id}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.data))


def _latest():
    return db.session.scalars(select(DataExport).order_by(DataExport.id.desc())).first()


def test_a_user_gets_their_own_data_and_orders_as_zip_after_the_response(app, customer_client, customer_a,
                                                                        company_a, company_admin_a):
    mine = make_order(company_a, customer_a, reference="=HYPERLINK(\"x\")")
    db.session.add(OrderMessage(order_id=mine.id, company_id=company_a.id, author_id=customer_a.id,
                                body="Bitte bis Freitag"))
    db.session.add(OrderMessage(order_id=mine.id, company_id=company_a.id, from_staff=True, internal=True,
                                body="INTERNAL-NOTE"))
    colleague = make_order(company_a, company_admin_a, reference="PO-COLLEAGUE")
    db.session.commit()
    response = _request(customer_client)
    assert response.status_code == 302
    export = _latest()
    # built once the response went out (MAIL_DELIVERY=request), offered on the tab
    db.session.expire_all()
    assert db.session.get(DataExport, export.id).state == "ready"
    page = customer_client.get("/cc/my-data/?tab=export")
    assert "ZIP herunterladen" in text(page) and "Bereit bis" in text(page)
    archive = _zip(customer_client, export.id)
    assert {"README.txt", "personal_data.json", "orders.json", "articles.csv"} <= set(archive.namelist())
    personal = json.loads(archive.read("personal_data.json"))
    assert personal["user"]["email"] == customer_a.email
    assert personal["user"]["two_factor_login_since"] is None
    assert "totp" not in archive.read("personal_data.json").decode()  # never the key of a second factor
    orders = json.loads(archive.read("orders.json"))
    assert [o["rma_number"] for o in orders] == [mine.rma_number]  # not the colleague's order
    assert colleague.rma_number not in archive.read("articles.csv").decode("utf-8-sig")
    assert [m["text"] for m in orders[0]["messages"]] == ["Bitte bis Freitag"]  # never an internal note
    rows = list(csv.reader(io.StringIO(archive.read("articles.csv").decode("utf-8-sig")), delimiter=";"))
    assert rows[1][1] == "'=HYPERLINK(\"x\")"  # a formula is written as text


def test_the_company_export_is_for_its_admins_and_holds_employees_devices_and_every_order(
        app, customer_client, customer_a, company_a, company_admin_a):
    db.session.add(Device(company_id=company_a.id, serial_number="SN-EXPORT-1", description="Waage"))
    make_order(company_a, customer_a)
    make_order(company_a, company_admin_a)
    db.session.commit()
    assert _request(customer_client, "company").status_code == 403  # an employee may not
    assert db.session.scalar(select(func.count()).select_from(DataExport)) == 0
    admin = _client_for(app, company_admin_a)
    assert _request(admin, "company").status_code == 302
    export = _latest()
    archive = _zip(admin, export.id)
    assert len(json.loads(archive.read("orders.json"))) == 2
    assert customer_a.email in archive.read("employees.csv").decode("utf-8-sig")
    assert "SN-EXPORT-1" in archive.read("devices.csv").decode("utf-8-sig")
    assert json.loads(archive.read("company.json"))["company"]["customer_number"] == company_a.customer_number
    # the employee never downloads the company's export
    assert customer_client.get(f"/cc/my-data/exports/{export.id}").status_code == 404


def test_no_one_downloads_another_users_or_companys_export(app, customer_client, customer_a, company_admin_b,
                                                           customer_b, company_a):
    make_order(company_a, customer_a)
    assert _request(customer_client).status_code == 302
    export = _latest()
    for other in (_client_for(app, customer_b), _client_for(app, company_admin_b)):
        assert other.get(f"/cc/my-data/exports/{export.id}").status_code == 404
        assert "export-download" not in other.get("/cc/my-data/?tab=export").get_data(as_text=True)


def test_with_workers_the_request_only_queues_and_one_worker_builds_it_once(app, customer_client, customer_a):
    app.config["MAIL_DELIVERY"] = "worker"
    try:
        assert _request(customer_client).status_code == 302
        assert _request(customer_client).status_code == 302  # asked twice while it waits: still one
        export = _latest()
        assert db.session.scalar(select(func.count()).select_from(DataExport)) == 1
        assert "Wird vorbereitet" in text(customer_client.get("/cc/my-data/?tab=export"))
        assert customer_client.get(f"/cc/my-data/exports/{export.id}").status_code == 404  # not ready yet
        worker.deliver_due()
        assert data_export.build(export.id) is False  # already built: nobody builds it again
        db.session.expire_all()
        assert db.session.get(DataExport, export.id).state == "ready"
        _zip(customer_client, export.id)
    finally:
        app.config["MAIL_DELIVERY"] = "request"


def test_an_export_is_offered_for_seven_days_then_retention_deletes_it_and_its_file(
        app, customer_client, customer_a):
    assert _request(customer_client).status_code == 302
    export = _latest()
    db.session.expire_all()
    export = db.session.get(DataExport, export.id)
    assert export.expires_at - export.ready_at == dt.timedelta(days=7)
    name, export_id = export.stored_name, export.id
    from app.services.storage import get_storage

    assert get_storage().info(name) is not None
    export.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    assert customer_client.get(f"/cc/my-data/exports/{export.id}").status_code == 404
    assert retention.plan().exports == 1
    assert retention.run().exports == 1
    db.session.expire_all()
    assert db.session.get(DataExport, export_id) is None and get_storage().info(name) is None


def test_a_request_without_a_valid_scope_or_csrf_token_is_refused(app, customer_client, customer_a):
    assert customer_client.post("/cc/my-data/exports", data={"scope": "everything"}).status_code == 400
    assert customer_client.get("/cc/my-data/exports").status_code == 405
    assert db.session.scalar(select(func.count()).select_from(DataExport)) == 0

"""Import previews are kept in the database: a preview made through one app server is confirmed
through another (each with its own disk), once — a double click or two servers at once never save
twice — and expired or foreign previews read as none."""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import Device, ImportPreview, Order, utcnow
from tests.conftest import IsolatedClient, _app_config, login
from tests.test_device_orders import HEADER_DE, csv_file, preview, token_of
from tests.test_devices_portal import _csv


def _server(tmp_path, database_url, name, isolated=True):
    """An app server of its own (own instance folder and uploads) on the shared database.
    ``isolated=False``: Flask's plain test client, usable from another thread."""
    app = create_app(_app_config(tmp_path / name, database_url))
    if isolated:
        app.test_client_class = IsolatedClient
    return app


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_device_preview_of_one_server_is_confirmed_on_the_other(app, tmp_path, database_url, company_a,
                                                                 company_admin_a):
    one, two = _server(tmp_path, database_url, "one"), _server(tmp_path, database_url, "two")
    c1, c2 = one.test_client(), two.test_client()
    assert login(c1, company_admin_a.email).status_code == 302
    assert login(c2, company_admin_a.email).status_code == 302
    data = _csv([["Seriennummer", "Bezeichnung"], ["S-1", "Pumpe"], ["S-2", "Waage"]])
    response = c1.post("/cc/devices/import", content_type="multipart/form-data",
                       data={"file": (__import__("io").BytesIO(data.encode()), "geraete.csv")})
    assert response.status_code == 200
    token = token_of(response)
    stored = db.session.scalars(select(ImportPreview)).one()
    assert stored.token_hash != token and token not in stored.rows  # only a hash of the token is kept
    assert not list((tmp_path / "one" / "instance").glob("imports/*"))  # nothing on the server's disk
    assert c2.post("/cc/devices/import/confirm", data={"token": token}).status_code == 302
    assert sorted(d.serial_number for d in db.session.scalars(select(Device))) == ["S-1", "S-2"]
    assert _count(ImportPreview) == 0
    c1.post("/cc/devices/import/confirm", data={"token": token})  # the same token on the first server
    assert _count(Device) == 2


def test_an_order_preview_confirmed_twice_at_the_same_moment_makes_one_order(app, tmp_path, database_url,
                                                                            company_a, customer_a):
    one, two = _server(tmp_path, database_url, "one", False), _server(tmp_path, database_url, "two", False)
    clients = [one.test_client(), two.test_client()]
    for c in clients:
        assert login(c, customer_a.email).status_code == 302
    response = preview(clients[0], csv_file([HEADER_DE, "A-1;Pumpe;SN-77;1;leckt"]))
    token = token_of(response)
    start = threading.Barrier(2)
    answers = []

    errors = []

    def confirm(client):
        start.wait()
        try:
            answers.append(client.post("/cc/orders/from-file/confirm", data={"token": token}).status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=confirm, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and sorted(answers) == [302, 302]
    assert _count(Order) == 1 and _count(ImportPreview) == 0


def test_an_expired_preview_reads_as_none_and_is_purged(app, company_admin_client, company_a):
    data = _csv([["Seriennummer", "Bezeichnung"], ["S-9", "Pumpe"]])
    response = company_admin_client.post("/cc/devices/import", content_type="multipart/form-data",
                                         data={"file": (__import__("io").BytesIO(data.encode()), "g.csv")})
    token = token_of(response)
    stored = db.session.scalars(select(ImportPreview)).one()
    stored.created_at = utcnow() - dt.timedelta(hours=2)
    db.session.commit()
    response = company_admin_client.post("/cc/devices/import/confirm", data={"token": token})
    assert response.status_code == 302 and _count(Device) == 0
    company_admin_client.post("/cc/devices/import", content_type="multipart/form-data",
                              data={"file": (__import__("io").BytesIO(data.encode()), "g.csv")})
    assert _count(ImportPreview) == 1  # the expired one was removed when the next was made

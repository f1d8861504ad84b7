"""The REST API (/api/v1/): company API keys, JWT login, scoping per company and role."""
from __future__ import annotations

import io
import json
import re

import pytest
from flask_appbuilder.security.sqla.models import ApiKey
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, AuditEvent, Order, OrderItem, OrderStatus, OutgoingMail, StatusChange
from app.services.orders import change_status
from tests.conftest import _client_for
from tests.factories import PASSWORD, make_order
from tests.helpers import PDF, stored_files, text

API = "/api/v1/orders"


def create_key(app, admin, name="ERP") -> str:
    """An API key made the way a company admin makes one: in My data."""
    client = _client_for(app, admin)
    response = client.post("/cc/my-data/api-keys/", data={"name": name})
    assert response.status_code == 200, text(response)
    key = re.search(r'id="api-key-value"[^>]*>([^<]+)<', response.get_data(as_text=True)).group(1)
    assert key.startswith("gkp_")
    return key


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def jwt_for(client, email, password=PASSWORD) -> str:
    response = client.post("/api/v1/security/login",
                           json={"username": email, "password": password, "provider": "db"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def order_count() -> int:
    return db.session.scalar(select(func.count(Order.id)))


@pytest.fixture
def key_a(app, company_admin_a):
    return create_key(app, company_admin_a, "ERP Alpha")


@pytest.fixture
def key_b(app, company_admin_b):
    return create_key(app, company_admin_b, "ERP Beta")


@pytest.fixture
def order_a(app, company_a, customer_a, staff_user):
    """Company A's order with a file on the order and one on its article, and a status history."""
    order = make_order(company_a, customer_a, items=2, reference="A-SECRET-REF")
    client = _client_for(app, customer_a)
    for target in ("order", str(order.items[0].id)):
        response = client.post(f"/cc/orders/{order.id}/files", content_type="multipart/form-data",
                               data={"target": target, "files": [(io.BytesIO(PDF), f"a-{target}.pdf")]})
        assert response.status_code == 302
    status = db.session.scalars(select(OrderStatus).where(OrderStatus.code == "in_review")).one()
    change_status(order, status, staff_user, note="A-NOTE")
    db.session.commit()
    assert len(order.attachments) == 2
    return order


# -- API keys in My data ----------------------------------------------------------

def test_company_admin_creates_a_key_that_is_shown_once_and_stored_hashed(app, company_admin_a):
    client = _client_for(app, company_admin_a)
    page = client.get("/cc/my-data/api-keys/")
    assert page.status_code == 200 and "Ihre Firma hat noch keine API-Schlüssel." in text(page)

    response = client.post("/cc/my-data/api-keys/", data={"name": "ERP"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    key = re.search(r'id="api-key-value"[^>]*>([^<]+)<', response.get_data(as_text=True)).group(1)
    assert "nur dieses eine Mal angezeigt" in text(response)

    row = db.session.scalars(select(ApiKey)).one()
    assert row.name == "ERP" and row.user_id == company_admin_a.id
    stored = " ".join(str(getattr(row, c.key)) for c in ApiKey.__table__.columns)
    assert key not in stored and key[4:] not in stored  # only hashes are kept
    listing = client.get("/cc/my-data/api-keys/")
    assert "ERP" in text(listing) and key not in listing.get_data(as_text=True)
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_key.created")).one()
    # the key works
    assert client.get(API + "/", headers=auth(key)).status_code == 200


def test_a_key_without_a_name_is_refused_next_to_the_field(app, company_admin_a):
    client = _client_for(app, company_admin_a)
    response = client.post("/cc/my-data/api-keys/", data={"name": "   "})
    assert response.status_code == 422
    assert "Bitte füllen Sie dieses Feld aus." in text(response)  # the admin's language is German
    assert db.session.scalar(select(func.count(ApiKey.id))) == 0


def test_employees_cannot_manage_api_keys(app, customer_a):
    client = _client_for(app, customer_a)
    assert client.get("/cc/my-data/api-keys/").status_code == 403
    assert client.post("/cc/my-data/api-keys/", data={"name": "x"}).status_code == 403
    assert db.session.scalar(select(func.count(ApiKey.id))) == 0


def test_revoked_key_stops_working_and_only_own_company_keys_can_be_revoked(app, company_admin_a,
                                                                             company_admin_b, key_a, key_b):
    row_a = db.session.scalars(select(ApiKey).where(ApiKey.name == "ERP Alpha")).one()
    client_b = _client_for(app, company_admin_b)
    assert "ERP Alpha" not in text(client_b.get("/cc/my-data/api-keys/"))
    assert client_b.post(f"/cc/my-data/api-keys/{row_a.uuid}/revoke").status_code == 404
    db.session.expire_all()
    assert row_a.revoked_on is None
    assert client_b.get(API + "/", headers=auth(key_a)).status_code == 200

    client_a = _client_for(app, company_admin_a)
    response = client_a.post(f"/cc/my-data/api-keys/{row_a.uuid}/revoke", follow_redirects=True)
    assert "wurde widerrufen" in text(response)
    assert client_a.get(API + "/", headers=auth(key_a)).status_code == 401
    assert client_a.get(API + "/", headers=auth(key_b)).status_code == 200


def test_key_stops_working_when_its_admin_or_company_is_deactivated(app, company_a, company_admin_a, key_a):
    client = app.test_client()
    assert client.get(API + "/", headers=auth(key_a)).status_code == 200
    company_admin_a.active = False
    db.session.commit()
    assert client.get(API + "/", headers=auth(key_a)).status_code == 401
    company_admin_a.active = True
    company_a.active = False
    db.session.commit()
    assert client.get(API + "/", headers=auth(key_a)).status_code == 401


def test_wrong_missing_or_session_credentials_get_401(app, customer_a, key_a):
    client = app.test_client()
    assert client.get(API + "/").status_code == 401
    assert client.get(API + "/", headers=auth("gkp_" + "x" * 43)).status_code == 401
    assert client.get(API + "/", headers=auth(key_a[:-1] + ("A" if key_a[-1] != "A" else "B"))).status_code == 401
    # a browser session never authenticates the API (its POSTs are not CSRF-protected)
    browser = _client_for(app, customer_a)
    assert browser.get(API + "/").status_code == 401


# -- scoping ---------------------------------------------------------------------------

def test_key_lists_only_its_own_companys_orders(app, company_a, company_b, customer_a, customer_b, key_b):
    own = [make_order(company_b, customer_b) for _ in range(3)]
    foreign = [make_order(company_a, customer_a) for _ in range(2)]
    make_order(None, reference="FRONTEND-1", source="frontend")
    response = app.test_client().get(API + "/", headers=auth(key_b))
    assert response.status_code == 200
    body = response.get_json()
    assert body["count"] == 3
    assert sorted(o["rma_number"] for o in body["result"]) == sorted(o.rma_number for o in own)
    raw = response.get_data(as_text=True)
    assert not any(o.rma_number in raw for o in foreign) and "FRONTEND-1" not in raw
    # a filter naming A's order finds nothing
    q = "(filters:!((col:rma_number,opr:eq,value:'%s')))" % foreign[0].rma_number
    assert app.test_client().get(API + "/?q=" + q, headers=auth(key_b)).get_json()["count"] == 0


def test_key_of_company_b_gets_404_for_everything_of_company_a(app, order_a, key_b, company_a):
    client = app.test_client()
    attachment = order_a.attachments[0]
    files_before = stored_files(app)
    for url in (f"{API}/{order_a.id}", f"{API}/{order_a.id}/history", f"{API}/{order_a.id}/files",
                f"{API}/{order_a.id}/files/{attachment.id}"):
        response = client.get(url, headers=auth(key_b))
        assert response.status_code == 404, url
        assert "A-SECRET-REF" not in response.get_data(as_text=True)
    response = client.post(f"{API}/{order_a.id}/files", headers=auth(key_b), content_type="multipart/form-data",
                           data={"file": [(io.BytesIO(PDF), "evil.pdf")]})
    assert response.status_code == 404
    assert stored_files(app) == files_before
    assert db.session.scalar(select(func.count(Attachment.id))) == 2
    # and the methods the API does not offer are not there at all
    assert client.put(f"{API}/{order_a.id}", headers=auth(key_b), json={"reference": "x"}).status_code in (404, 405)
    assert client.delete(f"{API}/{order_a.id}", headers=auth(key_b)).status_code in (404, 405)
    db.session.expire_all()
    assert order_a.reference == "A-SECRET-REF"


def test_relation_values_in_a_new_order_are_refused_and_nothing_is_saved(app, order_a, company_a, key_b):
    client = app.test_client()
    item = {"description": "Device", "fault_description": "broken"}
    before = order_count()
    for extra, field in (({"company_id": company_a.id}, "company_id"), ({"company": company_a.id}, "company"),
                         ({"status_id": 5}, "status_id"), ({"source": "backend"}, "source"),
                         ({"id": order_a.id}, "id"), ({"rma_number": "RMA-1"}, "rma_number")):
        response = client.post(API + "/", headers=auth(key_b), json={"reference": "B-1", "items": [item], **extra})
        assert response.status_code == 422, extra
        assert field in response.get_json()["message"]
    for bad_item in ({**item, "order_id": order_a.id}, {**item, "company_id": company_a.id},
                     {**item, "id": order_a.items[0].id}):
        response = client.post(API + "/", headers=auth(key_b), json={"reference": "B-1", "items": [bad_item]})
        assert response.status_code == 422
    assert order_count() == before
    db.session.expire_all()
    assert [i.order_id for i in db.session.scalars(select(OrderItem).where(OrderItem.id == order_a.items[0].id))] \
        == [order_a.id]


def test_a_file_cannot_be_attached_to_an_article_of_another_company(app, order_a, company_b, customer_b, key_b):
    own = make_order(company_b, customer_b)
    files_before = stored_files(app)
    response = app.test_client().post(
        f"{API}/{own.id}/files", headers=auth(key_b), content_type="multipart/form-data",
        data={"item_id": str(order_a.items[0].id), "file": [(io.BytesIO(PDF), "x.pdf")]})
    assert response.status_code == 400
    assert "item_id" in response.get_json()["message"]
    assert stored_files(app) == files_before
    assert db.session.scalar(select(func.count(Attachment.id))) == 2


def test_info_of_company_b_shows_nothing_of_company_a(app, order_a, company_a, customer_a, key_b):
    response = app.test_client().get(API + "/_info", headers=auth(key_b))
    assert response.status_code == 200
    body = response.get_json()
    assert [c["name"] for c in body["add_columns"]] == ["reference"]
    assert body["edit_columns"] == []
    raw = response.get_data(as_text=True)
    for secret in (company_a.name, company_a.customer_number, customer_a.email, "A-SECRET-REF",
                   order_a.rma_number):
        assert secret not in raw
    assert sorted(body["permissions"]) == ["can_get", "can_info", "can_post"]


# -- creating and following orders -----------------------------------------------

def test_erp_creates_an_order_with_articles_through_its_key(app, company_b, company_admin_b, key_b):
    client = app.test_client()
    response = client.post(API + "/", headers=auth(key_b), json={
        "reference": "  ERP-4711 ",
        "items": [{"article_number": "X-1", "description": "Druckmessumformer", "serial_number": "SN-1",
                   "quantity": 2, "fault_description": "Anzeige flackert"},
                  {"description": "Netzteil", "fault_description": "kein Ausgang"}],
    })
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    order = db.session.get(Order, body["id"])
    assert order.company_id == company_b.id and order.source == "portal" and order.reference == "ERP-4711"
    assert order.created_by_id == company_admin_b.id
    assert [(i.description, i.quantity) for i in order.items] == [("Druckmessumformer", 2), ("Netzteil", 1)]
    assert order.customer_name == company_b.name  # the company's data, as for portal orders
    assert body["result"]["rma_number"] == order.rma_number and re.match(r"RMA-\d{4}-\d{6}$", order.rma_number)
    assert body["result"]["status"]["code"] == order.status.code
    assert [i["serial_number"] for i in body["result"]["items"]] == ["SN-1", None]
    assert db.session.scalar(select(func.count(OutgoingMail.id)).where(OutgoingMail.subject.contains(order.rma_number))) >= 1
    # it shows in the portal like any other order of the company
    portal = _client_for(app, company_admin_b).get("/cc/orders/")
    assert order.rma_number in text(portal)


@pytest.mark.parametrize("payload, field", [
    ({"items": [{"description": "D", "fault_description": "F"}]}, "reference"),
    ({"reference": "   ", "items": [{"description": "D", "fault_description": "F"}]}, "reference"),
    ({"reference": "R", "items": []}, "items"),
    ({"reference": "R"}, "items"),
    ({"reference": "R", "items": [{"description": "D", "fault_description": "F", "quantity": 0}]}, "items"),
    ({"reference": "R", "items": [{"description": "D", "fault_description": "F", "quantity": "3"}]}, "items"),
    ({"reference": "R", "items": [{"description": "", "fault_description": "F"}]}, "items"),
    ({"reference": "R", "items": [{"description": "D" * 201, "fault_description": "F"}]}, "items"),
    ({"reference": "R" * 101, "items": [{"description": "D", "fault_description": "F"}]}, "reference"),
    ({"reference": "R\x00", "items": [{"description": "D", "fault_description": "F"}]}, "reference"),
    ({"reference": "R", "items": [{"description": "D", "fault_description": "F"}] * 51}, "items"),
])
def test_bad_orders_get_a_message_per_field_and_save_nothing(app, key_b, payload, field):
    before = order_count()
    response = app.test_client().post(API + "/", headers=auth(key_b), json=payload)
    assert response.status_code == 422
    assert field in response.get_json()["message"]
    assert order_count() == before


def test_a_body_that_is_not_json_is_refused(app, key_b):
    client = app.test_client()
    response = client.post(API + "/", headers=auth(key_b), data="reference=x")
    assert response.status_code == 400 and "JSON" in response.get_json()["message"]
    response = client.post(API + "/", headers=auth(key_b), data="[1, 2", content_type="application/json")
    assert response.status_code == 422
    response = client.post(API + "/", headers=auth(key_b), json=[1, 2])
    assert response.status_code == 422


def test_history_files_and_download_of_own_order(app, order_a, key_a):
    client = app.test_client()
    history = client.get(f"{API}/{order_a.id}/history", headers=auth(key_a)).get_json()
    assert [h["status"]["code"] for h in history["result"]][0] == "in_review"
    assert history["result"][0]["note"] == "A-NOTE" and history["result"][-1]["previous_status"] is None

    listing = client.get(f"{API}/{order_a.id}/files", headers=auth(key_a)).get_json()["result"]
    assert sorted(f["name"] for f in listing) == sorted(["a-order.pdf", f"a-{order_a.items[0].id}.pdf"])
    article_file = next(f for f in listing if f["item_id"])
    assert article_file["item_id"] == order_a.items[0].id
    download = client.get(f"{API}/{order_a.id}/files/{article_file['id']}", headers=auth(key_a))
    assert download.status_code == 200 and download.data == PDF
    assert "attachment" in download.headers["Content-Disposition"]

    response = client.post(f"{API}/{order_a.id}/files", headers=auth(key_a), content_type="multipart/form-data",
                           data={"item_id": str(order_a.items[1].id),
                                 "file": [(io.BytesIO(PDF), "report.pdf"), (io.BytesIO(b"serial;fault\n"), "list.csv")]})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert [f["name"] for f in response.get_json()["result"]] == ["report.pdf", "list.csv"]
    db.session.expire_all()
    assert sorted(a.original_name for a in order_a.items[1].attachments) == ["list.csv", "report.pdf"]


def test_detail_of_own_order_with_its_articles_labels_and_chosen_columns(app, order_a, key_a, key_b, staff_user):
    client = app.test_client()
    body = client.get(f"{API}/{order_a.id}", headers=auth(key_a)).get_json()
    result = body["result"]
    assert body["id"] == order_a.id and result["reference"] == "A-SECRET-REF"
    assert result["company"]["name"] == order_a.company.name and result["status"]["code"] == "in_review"
    assert [i["serial_number"] for i in result["items"]] == [i.serial_number for i in order_a.items]
    assert result["created_at"].endswith("Z")  # in UTC, marked as such
    assert body["label_columns"]["items.serial_number"] == "Seriennummer" and body["show_title"] == "Auftrag"
    english = client.get(f"{API}/{order_a.id}?_l_=en", headers=auth(key_a)).get_json()
    assert english["label_columns"]["items.serial_number"] == "Serial number"
    # columns of the caller's choice, and only the keys asked for
    chosen = client.get(f"{API}/{order_a.id}?q=(columns:!(rma_number,status.code),keys:!(none))",
                        headers=auth(key_a)).get_json()
    assert chosen == {"id": order_a.id, "result": {"rma_number": order_a.rma_number, "status": {"code": "in_review"}}}
    labels = client.get(f"{API}/{order_a.id}?q=(keys:!(show_title))", headers=auth(key_a)).get_json()
    assert labels["show_title"] == "Auftrag" and "label_columns" not in labels and labels["result"] == result
    # another company's key: as if it did not exist; staff: every order
    assert client.get(f"{API}/{order_a.id}", headers=auth(key_b)).status_code == 404
    assert client.get(f"{API}/999999", headers=auth(key_a)).status_code == 404
    token = jwt_for(client, staff_user.email)
    assert client.get(f"{API}/{order_a.id}", headers=auth(token)).get_json()["result"] == result


def test_a_refused_file_stores_nothing(app, order_a, key_a):
    files_before = stored_files(app)
    response = app.test_client().post(
        f"{API}/{order_a.id}/files", headers=auth(key_a), content_type="multipart/form-data",
        data={"file": [(io.BytesIO(PDF), "ok.pdf"), (io.BytesIO(b"MZ\x90\x00"), "tool.exe")]})
    assert response.status_code == 400
    assert "exe" in json.dumps(response.get_json()["message"])
    assert stored_files(app) == files_before
    assert db.session.scalar(select(func.count(Attachment.id))) == 2


def test_page_size_is_capped(app, company_b, customer_b, key_b):
    for _ in range(3):
        make_order(company_b, customer_b)
    body = app.test_client().get(API + "/?q=(page:0,page_size:100000)", headers=auth(key_b)).get_json()
    assert body["count"] == 3 and len(body["result"]) == 3


# -- JWT and roles -------------------------------------------------------------------

def test_employee_uses_fabs_jwt_login_and_sees_own_company(app, order_a, customer_a, customer_b, company_b):
    make_order(company_b, customer_b, reference="B-REF")
    client = app.test_client()
    token = jwt_for(client, "EMPLOYEE@alpha.example")
    body = client.get(API + "/", headers=auth(token)).get_json()
    assert [o["reference"] for o in body["result"]] == ["A-SECRET-REF"]
    created = client.post(API + "/", headers=auth(token),
                          json={"reference": "JWT-1", "items": [{"description": "D", "fault_description": "F"}]})
    assert created.status_code == 201
    assert db.session.get(Order, created.get_json()["id"]).company_id == order_a.company_id


def test_deactivated_user_gets_no_token_and_a_live_token_stops(app, customer_a):
    client = app.test_client()
    token = jwt_for(client, customer_a.email)
    customer_a.active = False
    db.session.commit()
    assert client.get(API + "/", headers=auth(token)).status_code == 401
    response = client.post("/api/v1/security/login",
                           json={"username": customer_a.email, "password": PASSWORD, "provider": "db"})
    assert response.status_code == 401


def test_staff_see_every_order_read_only(app, order_a, company_b, customer_b, staff_user):
    b = make_order(company_b, customer_b)
    frontend = make_order(None, reference="FRONTEND-1", source="frontend")
    client = app.test_client()
    token = jwt_for(client, staff_user.email)
    body = client.get(API + "/", headers=auth(token)).get_json()
    assert sorted(o["id"] for o in body["result"]) == sorted([order_a.id, b.id, frontend.id])
    assert client.get(f"{API}/{order_a.id}/files", headers=auth(token)).status_code == 200
    before = order_count()
    response = client.post(API + "/", headers=auth(token),
                           json={"reference": "S", "items": [{"description": "D", "fault_description": "F"}]})
    assert response.status_code == 403
    assert order_count() == before


def test_openapi_description_and_swagger_ui(app, customer_a):
    anonymous = app.test_client()
    assert anonymous.get("/swagger/v1").status_code == 302
    client = _client_for(app, customer_a)
    page = client.get("/swagger/v1")
    assert page.status_code == 200 and "swagger-ui" in page.get_data(as_text=True)
    spec = client.get("/api/v1/_openapi")
    assert spec.status_code == 200
    paths = spec.get_json()["paths"]
    for path in ("/orders/", "/orders/{pk}", "/orders/{pk}/history", "/orders/{pk}/files",
                 "/orders/{pk}/files/{file_id}", "/orders/_info"):
        assert "/api/v1" + path in paths, (path, sorted(paths))
    assert "post" in paths["/api/v1/orders/"]
    body = paths["/api/v1/orders/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/OrderApi.post"}
    assert set(spec.get_json()["components"]["schemas"]["OrderApi.post"]["properties"]) == {"reference", "items"}


def test_list_is_newest_first_counts_filters_and_refuses_bad_arguments(app, company_b, customer_b, key_b):
    orders = [make_order(company_b, customer_b, reference=f"B-{n}") for n in range(3)]
    status = db.session.scalars(select(OrderStatus).where(OrderStatus.code == "in_review")).one()
    change_status(orders[1], status, None)
    db.session.commit()
    client = app.test_client()
    body = client.get(API + "/", headers=auth(key_b)).get_json()
    assert [o["reference"] for o in body["result"]] == ["B-2", "B-1", "B-0"] and body["count"] == 3
    q = f"(filters:!((col:status,opr:rel_o_m,value:{status.id})))"
    body = client.get(API + "/?q=" + q, headers=auth(key_b)).get_json()
    assert (body["count"], [o["reference"] for o in body["result"]]) == (1, ["B-1"])
    for bad in ("(page_size:'many')", "(filters:!((col:company_id,opr:eq,value:1)))", "(order_column:email)",
                "not-rison(("):
        response = client.get(API + "/?q=" + bad, headers=auth(key_b))
        assert response.status_code == 400, bad


def test_keys_are_checked_with_a_fast_salted_hash_and_older_scrypt_keys_still_work(app, client, company_admin_a,
                                                                                   order_a):
    from werkzeug.security import generate_password_hash

    key = create_key(app, company_admin_a)
    stored = db.session.scalars(select(ApiKey)).one()
    assert stored.key_hash.startswith("pbkdf2:sha256:1000$") and key not in stored.key_hash
    assert client.get(API + "/", headers=auth(key)).status_code == 200
    stored.key_hash = generate_password_hash(key, method="scrypt")  # a key made before
    db.session.commit()
    assert client.get(API + "/", headers=auth(key)).status_code == 200
    assert client.get(API + "/", headers=auth(key[:-1] + ("A" if key[-1] != "A" else "B"))).status_code == 401

"""The REST API keeps its OpenAPI description: one test per answer a fuzzer found wrong."""
from __future__ import annotations

import io

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import _app_config
from tests.factories import make_order
from tests.test_api import API, auth, create_key, key_a, order_a  # noqa: F401 (fixtures)

LOGIN = "/api/v1/security/login"


def spec(app, key):
    response = app.test_client().get("/api/v1/_openapi", headers=auth(key))
    assert response.status_code == 200
    return response.get_json()


def schema_of(spec_json, ref):
    return spec_json["components"]["schemas"][ref.rsplit("/", 1)[1]]


@pytest.fixture
def limited_app(tmp_path, database_url):
    app = create_app({**_app_config(tmp_path, database_url), "RATELIMIT_ENABLED": True})
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


# -- no 5xx for any input -------------------------------------------------------

@pytest.mark.parametrize("body", [[], ["admin"], [{"username": "x"}], "text", 5, None])
def test_login_with_a_body_that_is_no_object_is_a_400_not_a_500(limited_app, body):
    response = limited_app.test_client().post(LOGIN, json=body)
    assert response.status_code == 400
    assert response.is_json and "message" in response.get_json()


@pytest.mark.parametrize("extra", [{}, {"refresh": False}])
def test_login_without_a_provider_is_a_400_naming_it_not_a_500(client, customer_a, extra):
    response = client.post(LOGIN, json={"username": customer_a.email, "password": "x", **extra})
    assert response.status_code == 400 and "provider" in response.get_json()["message"]


def test_login_with_the_ldap_provider_is_refused_not_a_500(client, customer_a):
    response = client.post(LOGIN, json={"username": customer_a.email, "password": "x", "provider": "ldap"})
    assert response.status_code == 400 and "provider" in response.get_json()["message"]


@pytest.mark.parametrize("q", ["1e%2B5", "(page:1e%2B5)", "(filters:!((col:reference,opr:eq,value:1e%2B5)))",
                               "(((((", "!(", "1e"])
def test_a_query_argument_that_rison_cannot_read_is_a_400_on_list_detail_and_info(app, order_a, key_a, q):
    client = app.test_client()
    for url in (f"{API}/?q={q}", f"{API}/{order_a.id}?q={q}", f"{API}/_info?q={q}"):
        response = client.get(url, headers=auth(key_a))
        assert response.status_code == 400, url
        assert response.is_json and response.get_json()["message"], url


def test_a_plus_sign_in_a_json_filter_value_finds_the_order(app, company_a, customer_a, key_a):
    make_order(company_a, customer_a, reference="RMA+2026/1")
    make_order(company_a, customer_a, reference="RMA 2026/1")
    client = app.test_client()
    as_json = '{"filters":[{"col":"reference","opr":"eq","value":"RMA%2B2026/1"}]}'
    as_rison = "(filters:!((col:reference,opr:eq,value:'RMA%2B2026/1')))"
    for q in (as_json, as_rison):
        body = client.get(f"{API}/?q={q}", headers=auth(key_a)).get_json()
        assert [o["reference"] for o in body["result"]] == ["RMA+2026/1"], q


# -- 401 for every bad credential, in the one error shape ------------------------

BAD_TOKENS = ["abc", "a.b", "a.b.c", "gkp_", "eyJhbGciOiJIUzI1NiJ9.e30.x", ""]


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_a_malformed_bearer_token_is_a_401_on_every_operation(app, order_a, token):
    client = app.test_client()
    calls = [("get", f"{API}/"), ("get", f"{API}/_info"), ("get", f"{API}/{order_a.id}"),
             ("get", f"{API}/{order_a.id}/history"), ("get", f"{API}/{order_a.id}/files"),
             ("post", f"{API}/{order_a.id}/files"), ("get", f"{API}/{order_a.id}/files/1"),
             ("post", f"{API}/"), ("get", f"{API}/{order_a.id}/quote"), ("post", f"{API}/{order_a.id}/quote/accept"),
             ("post", f"{API}/{order_a.id}/quote/reject"), ("post", "/api/v1/security/refresh"), ("get", "/api/v1/menu/"),
             ("get", "/api/v1/_openapi")]
    for method, url in calls:
        response = getattr(client, method)(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (url, response.get_data(as_text=True))
        assert set(response.get_json()) == {"message"}, url


def test_an_access_token_is_no_refresh_token(app, customer_a):
    client = app.test_client()
    token = client.post(LOGIN, json={"username": customer_a.email, "password": "Test-Password-1234",
                                     "provider": "db"}).get_json()["access_token"]
    response = client.post("/api/v1/security/refresh", headers=auth(token))
    assert response.status_code == 401 and set(response.get_json()) == {"message"}


def test_an_expired_token_is_a_401_in_the_error_shape(app, customer_a, order_a):
    from datetime import timedelta

    from flask_jwt_extended import create_access_token

    token = create_access_token(identity=str(customer_a.id), expires_delta=timedelta(seconds=-1))
    response = app.test_client().get(f"{API}/{order_a.id}", headers=auth(token))
    assert response.status_code == 401 and response.get_json() == {"message": "Token has expired"}


def test_a_method_the_api_does_not_offer_is_a_json_405(app, order_a, key_a):
    response = app.test_client().put(f"{API}/{order_a.id}", headers=auth(key_a), json={"reference": "X"})
    assert response.status_code == 405
    assert response.get_json() == {"message": "Method not allowed"} and "GET" in response.headers["Allow"]
    db.session.expire_all()
    assert order_a.reference == "A-SECRET-REF"


def test_a_too_large_request_to_the_api_is_answered_in_json(app, order_a, key_a):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = app.test_client().post(f"{API}/{order_a.id}/files", headers=auth(key_a),
                                      content_type="multipart/form-data",
                                      data={"file": [(io.BytesIO(b"%PDF-1.4" + b"x" * 4096), "big.pdf")]})
    assert response.status_code == 413
    assert response.is_json and "larger than" in response.get_json()["message"]
    response = app.test_client().post(f"{API}/", headers=auth(key_a), json={"reference": "R" * 2000, "items": []})
    assert response.status_code == 413 and "larger than" in response.get_json()["message"]


def test_a_list_or_detail_with_picked_columns_keeps_the_description(app, order_a, key_a):
    client = app.test_client()
    row = client.get(f"{API}/?q=(columns:!(updated_at))", headers=auth(key_a)).get_json()["result"][0]
    assert set(row) == {"updated_at"}
    s = spec(app, key_a)
    assert "required" not in s["components"]["schemas"]["OrderApi.get_list"]
    assert "required" not in s["components"]["schemas"]["OrderApi.get"]


# -- what the answers say ---------------------------------------------------------

def test_info_describes_the_reference_and_not_the_catalogue_header(app, key_a):
    body = app.test_client().get(f"{API}/_info", headers=auth(key_a)).get_json()
    (reference,) = body["add_columns"]
    assert "Project-Id-Version" not in reference["description"]
    assert reference["description"] == "Ihre Referenznummer (z. B. die Rücksendenummer aus Ihrem ERP-System)"
    assert isinstance(body["add_columns"], list) and body["edit_columns"] == []


def test_labels_are_in_one_language_the_callers(app, order_a, key_a):
    client = app.test_client()
    german = client.get(f"{API}/{order_a.id}", headers=auth(key_a)).get_json()["label_columns"]
    assert german["street"] == "Straße" and german["company.customer_number"] == "Kundennummer"
    assert german["items.fault_description"] == "Fehlerbeschreibung" and german["updated_at"] == "Zuletzt geändert"
    body = client.get(f"{API}/{order_a.id}?_l_=en", headers=auth(key_a)).get_json()
    english = body["label_columns"]
    assert body["show_title"] == "Order"
    assert english["street"] == "Street" and english["company.customer_number"] == "Customer number"
    assert english["city"] == "City" and english["updated_at"] == "Last changed"
    assert not set(german.values()) & {"Company Customer Number", "Rma Number", "Items Quantity", "Updated At"}
    listing = client.get(f"{API}/?_l_=en", headers=auth(key_a)).get_json()
    assert listing["label_columns"]["source"] == "Source" and listing["list_title"] == "Orders"


def test_every_api_time_is_utc_with_z(app, order_a, key_a):
    client = app.test_client()
    row = client.get(f"{API}/", headers=auth(key_a)).get_json()["result"][0]
    detail = client.get(f"{API}/{order_a.id}", headers=auth(key_a)).get_json()["result"]
    created = client.post(f"{API}/", headers=auth(key_a), json={
        "reference": "UTC", "items": [{"description": "D", "fault_description": "F"}]}).get_json()["result"]
    history = client.get(f"{API}/{order_a.id}/history", headers=auth(key_a)).get_json()["result"]
    files = client.get(f"{API}/{order_a.id}/files", headers=auth(key_a)).get_json()["result"]
    times = [row["created_at"], row["updated_at"], detail["created_at"], detail["updated_at"],
             created["created_at"], created["updated_at"], history[0]["changed_at"], files[0]["uploaded_at"]]
    assert all(t.endswith("Z") and t.count("Z") == 1 for t in times), times
    assert detail["created_at"][:19] == order_a.created_at.isoformat()[:19]  # stored in UTC


def test_the_reference_length_is_checked_before_trimming(app, key_a):
    client = app.test_client()
    item = [{"description": "D", "fault_description": "F"}]
    response = client.post(f"{API}/", headers=auth(key_a), json={"reference": "R" * 100 + " ", "items": item})
    assert response.status_code == 422
    assert response.get_json()["message"] == {"reference": ["Longer than maximum length 100."]}
    assert client.post(f"{API}/", headers=auth(key_a), json={"reference": "R" * 100, "items": item}).status_code == 201
    response = client.post(f"{API}/", headers=auth(key_a), json={
        "reference": "R", "items": [{"description": "D" * 200 + " ", "fault_description": "F"}]})
    assert response.status_code == 422 and "items" in response.get_json()["message"]


# -- the OpenAPI description tells the truth --------------------------------------

def test_openapi_documents_one_error_shape_and_every_error_answer(app, key_a):
    s = spec(app, key_a)
    error = s["components"]["schemas"]["Error"]
    assert error["required"] == ["message"]
    assert {t["type"] for t in error["properties"]["message"]["anyOf"]} == {"string", "object", "array"}
    for code in ("400", "401", "403", "404", "413", "422", "429"):
        assert s["components"]["responses"][code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}
    assert "500" not in s["components"]["responses"]
    for path, operations in s["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert "500" not in codes, (method, path)
            if operation.get("security"):
                assert {"400", "401", "403"} <= codes, (method, path)
            if method == "post":
                assert "413" in codes, (method, path)
    assert "429" in s["paths"]["/api/v1/security/login"]["post"]["responses"]


def test_openapi_documents_integers_utc_arrays_and_nullable_notes(app, key_a):
    s = spec(app, key_a)
    detail = s["paths"]["/api/v1/orders/{pk}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert detail["properties"]["id"]["type"] == "integer"
    listing = s["paths"]["/api/v1/orders/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing["properties"]["ids"]["items"]["type"] == "integer"
    for name in ("OrderApi.get", "OrderApi.get_list"):
        for column in ("created_at", "updated_at"):
            prop = s["components"]["schemas"][name]["properties"][column]
            assert prop["pattern"] == "Z$" and "UTC" in prop["description"]
    info = s["paths"]["/api/v1/orders/_info"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert info["properties"]["add_columns"]["type"] == "array"
    assert info["properties"]["edit_columns"]["type"] == "array"
    change = s["components"]["schemas"]["StatusChange"]["properties"]
    assert change["note"]["nullable"] is True and change["previous_status"]["nullable"] is True


def test_openapi_upload_requires_files_and_names_the_accepted_types(app, key_a):
    s = spec(app, key_a)
    form = s["paths"]["/api/v1/orders/{pk}/files"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert form["schema"]["required"] == ["file"]
    description = form["schema"]["properties"]["file"]["description"]
    assert "pdf, png, jpg" in description and "25 MB" in description


def test_openapi_links_lead_from_a_new_order_to_its_details(app, key_a):
    s = spec(app, key_a)
    links = s["paths"]["/api/v1/orders/"]["post"]["responses"]["201"]["links"]
    operation_ids = {op["operationId"] for ops in s["paths"].values() for op in ops.values()}
    assert {link["operationId"] for link in links.values()} <= operation_ids
    assert links["GetOrder"]["parameters"] == {"pk": "$response.body#/id"}


# -- text that cannot be stored -----------------------------------------------------

LONE_SURROGATE = '"R\\ud800"'  # valid JSON, but no Unicode text


def test_a_lone_surrogate_in_a_new_order_is_refused_next_to_the_field(app, key_a):
    client = app.test_client()
    body = ('{"reference": "R", "items": [{"description": "D", "fault_description": %s}]}' % LONE_SURROGATE)
    response = client.post(f"{API}/", headers={**auth(key_a), "Content-Type": "application/json"}, data=body)
    assert response.status_code == 422
    assert "lone surrogate" in str(response.get_json()["message"]["items"])
    body = '{"reference": %s, "items": [{"description": "D", "fault_description": "F"}]}' % LONE_SURROGATE
    response = client.post(f"{API}/", headers={**auth(key_a), "Content-Type": "application/json"}, data=body)
    assert response.status_code == 422 and "reference" in response.get_json()["message"]


def test_a_lone_surrogate_in_a_login_or_a_filter_is_no_server_error(app, key_a):
    client = app.test_client()
    response = client.post(LOGIN, headers={"Content-Type": "application/json"},
                           data='{"username": %s, "password": %s, "provider": "db"}' % (LONE_SURROGATE, LONE_SURROGATE))
    assert response.status_code in (400, 401) and response.is_json
    q = '{"filters":[{"col":"reference","opr":"eq","value":%s}]}' % LONE_SURROGATE
    response = client.get(f"{API}/?q={q}", headers=auth(key_a))
    assert response.status_code in (200, 400) and response.is_json


@pytest.mark.parametrize("q", ["(page:-29588937)", '{"select_columns": [], "page": -1}', "(page:1000001)",
                               "(page:9223372036854775807)", "(page:1.5)", "(page:!t)"])
def test_a_page_that_no_list_has_is_a_400_not_a_database_error(app, order_a, key_a, q):
    # PostgreSQL refuses a negative OFFSET, and a page this high overflows a 64-bit offset
    response = app.test_client().get(API + "/", query_string={"q": q}, headers=auth(key_a))
    assert response.status_code == 400 and "page" in response.get_json()["message"], response.get_data(as_text=True)


def test_the_description_says_which_pages_there_are(app, key_a):
    spec = app.test_client().get("/api/v1/_openapi", headers=auth(key_a)).get_json()
    page = spec["components"]["schemas"]["get_list_schema"]["properties"]["page"]
    assert (page["minimum"], page["maximum"]) == (0, 1_000_000)
    assert app.test_client().get(API + "/", query_string={"q": "(page:1000000)"},
                                 headers=auth(key_a)).get_json()["result"] == []


def test_devices_are_described_as_they_answer(app, key_a):
    """The devices' operations, their 400/404/409 answers and the device's fields as the API sends them."""
    described = spec(app, key_a)
    paths = described["paths"]
    for method in ("put", "patch"):
        responses = paths["/api/v1/devices/{pk}"][method]["responses"]
        assert {"200", "400", "401", "403", "404", "409", "413"} <= set(responses), method
    assert "409" in paths["/api/v1/devices/"]["post"]["responses"]
    page = next(p for p in paths["/api/v1/devices/"]["get"]["parameters"] if p["name"] == "page")
    assert (page["schema"]["minimum"], page["schema"]["maximum"]) == (0, 1_000_000)
    client = app.test_client()
    created = client.post("/api/v1/devices/", headers=auth(key_a),
                          json={"serial_number": "C-1", "description": "Contract", "warranty_until": "2031-01-01"})
    assert created.status_code == 201
    device = created.get_json()["result"]
    assert set(device) == set(described["components"]["schemas"]["Device"]["required"])
    assert device["created_at"].endswith("Z") and device["warranty"] == "in"
    duplicate = client.post("/api/v1/devices/", headers=auth(key_a), json={"serial_number": "C-1", "description": "x"})
    assert duplicate.status_code == 409 and set(duplicate.get_json()) == {"message"}
    history = client.get("/api/v1/devices/history?serial=C-1", headers=auth(key_a)).get_json()
    assert set(history) == set(described["components"]["schemas"]["DeviceHistory"]["required"])

"""A new order sent again never makes a second order: the API's Idempotency-Key, and the one-time
token of the portal's and the public order form.

A server killed after committing an order but before answering makes the client send it again,
maybe to another server; a double click sends a form twice. Each gets the first order back.
"""
from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Attachment, IdempotencyKey, Order, OutgoingMail, utcnow
from app.security import roles
from app.security.bots import started_token
from app.services import idempotency
from tests.conftest import _client_for
from tests.factories import make_user
from tests.helpers import PDF, new_order_data, stored_files, text, upload
from tests.test_api import auth, create_key, jwt_for

API = "/api/v1/orders/"
BODY = {"reference": "ERP-4711", "items": [{"description": "Messgerät", "serial_number": "SN-1",
                                             "fault_description": "Display bleibt dunkel"}]}
ALREADY = {"de": "Dieser Auftrag wurde bereits angelegt.", "en": "This order was already created."}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def post(client, key, body=BODY, idempotency_key=None, **kw):
    headers = auth(key)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return client.post(API, headers=headers, json=body, **kw)


@pytest.fixture
def key_a(app, company_admin_a):
    return create_key(app, company_admin_a, "ERP Alpha")


# -- the API: Idempotency-Key --------------------------------------------------------

def test_a_retry_with_the_same_key_gets_the_first_order_and_creates_nothing(app, client, key_a, company_a):
    first = post(client, key_a, idempotency_key="erp-return-0815")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    mails = count(OutgoingMail)
    assert count(Order) == 1 and mails > 0  # staff heard of the order once

    retry = post(client, key_a, idempotency_key="erp-return-0815")
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert retry.get_data() == first.get_data()
    order = db.session.get(Order, first.get_json()["id"])
    assert retry.get_json()["result"]["rma_number"] == order.rma_number and order.company_id == company_a.id
    assert count(Order) == 1 and count(OutgoingMail) == mails
    # the key field order and spacing of the JSON do not make it another request
    same = client.post(API, headers={**auth(key_a), "Idempotency-Key": "erp-return-0815",
                                     "Content-Type": "application/json"},
                       data='{ "items": [{"fault_description": "Display bleibt dunkel", "serial_number": "SN-1",'
                            ' "description": "Messgerät"}], "reference": "ERP-4711" }')
    assert same.status_code == 201 and same.headers["Idempotent-Replayed"] == "true"
    assert same.get_json()["id"] == order.id and count(Order) == 1


def test_without_a_key_every_request_is_a_new_order(client, key_a):
    assert post(client, key_a).status_code == 201
    assert post(client, key_a).status_code == 201
    assert count(Order) == 2 and count(IdempotencyKey) == 0


def test_the_same_key_with_another_body_is_refused(client, key_a):
    assert post(client, key_a, idempotency_key="k-1").status_code == 201
    other = post(client, key_a, body={**BODY, "reference": "ERP-4712"}, idempotency_key="k-1")
    assert other.status_code == 422
    assert "Idempotency-Key" in other.get_json()["message"]
    assert "already used" in other.get_json()["message"]["Idempotency-Key"][0]
    assert count(Order) == 1
    assert db.session.scalars(select(Order.reference)).all() == ["ERP-4711"]


@pytest.mark.parametrize("bad", ["", "x" * 256, "schlüssel", "tab\there"])
def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_refused(client, key_a, bad):
    response = client.post(API, headers={**auth(key_a), "Idempotency-Key": bad.encode("utf-8").decode("latin-1")},
                           json=BODY)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["message"]
    assert count(Order) == 0 and count(IdempotencyKey) == 0


def test_a_key_of_255_characters_is_taken(client, key_a):
    key = "~ " + "k" * 253
    assert post(client, key_a, idempotency_key=key).status_code == 201
    assert post(client, key_a, idempotency_key=key).headers["Idempotent-Replayed"] == "true"
    assert count(Order) == 1


def test_keys_are_each_users_own(app, client, key_a, company_a, company_b, company_admin_b):
    """Another user's same key is another order: of another company, never revealing the first one."""
    first = post(client, key_a, idempotency_key="shared-key").get_json()
    key_b = create_key(app, company_admin_b, "ERP Beta")
    theirs = post(client, key_b, idempotency_key="shared-key")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["id"] != first["id"]
    assert first["result"]["rma_number"] not in theirs.get_data(as_text=True)
    assert theirs.get_json()["result"]["company"]["name"] == company_b.name
    # a colleague in the same company, same key and body: their own order too
    colleague = make_user(company_a, roles.COMPANY_ADMIN, email="admin2@alpha.example")
    mine = post(client, create_key(app, colleague, "ERP 2"), idempotency_key="shared-key")
    assert mine.status_code == 201 and "Idempotent-Replayed" not in mine.headers
    assert count(Order) == 3
    assert {o.company_id for o in db.session.scalars(select(Order))} == {company_a.id, company_b.id}
    # and another body from them with the key is theirs to decide, not a conflict with company A's use
    assert post(client, key_b, body={**BODY, "reference": "B"}, idempotency_key="shared-key").status_code == 422


def test_an_expired_key_may_be_used_again(app, client, key_a):
    first = post(client, key_a, idempotency_key="daily-run").get_json()
    hours = app.config["IDEMPOTENCY_TTL_HOURS"]
    assert hours == 24
    db.session.execute(update(IdempotencyKey).values(created_at=utcnow() - dt.timedelta(hours=hours, minutes=1)))
    db.session.commit()
    again = post(client, key_a, body={**BODY, "reference": "ERP-NEXT-DAY"}, idempotency_key="daily-run")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.get_json()["id"] != first["id"] and count(Order) == 2
    # the new use is the key's only one now, and it is replayed
    retry = post(client, key_a, body={**BODY, "reference": "ERP-NEXT-DAY"}, idempotency_key="daily-run")
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.get_json()["id"] == again.get_json()["id"]
    assert count(IdempotencyKey) == 1


def test_a_key_within_its_hours_is_kept(app, client, key_a):
    post(client, key_a, idempotency_key="k")
    db.session.execute(update(IdempotencyKey).values(created_at=utcnow() - dt.timedelta(hours=23)))
    db.session.commit()
    assert post(client, key_a, idempotency_key="k").headers["Idempotent-Replayed"] == "true"
    assert count(Order) == 1


def test_expire_keys_deletes_only_expired_keys(app, client, key_a):
    post(client, key_a, idempotency_key="old")
    post(client, key_a, idempotency_key="new")
    db.session.execute(update(IdempotencyKey).where(IdempotencyKey.key == "old")
                       .values(created_at=utcnow() - dt.timedelta(hours=25)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["portal", "expire-keys"])
    assert result.exit_code == 0 and "1 expired keys deleted" in result.output
    db.session.expire_all()
    assert db.session.scalars(select(IdempotencyKey.key)).all() == ["new"]
    assert count(Order) == 2  # the orders stay


def test_a_replay_never_shows_an_order_the_user_may_no_longer_see(app, client, key_a, company_admin_a, company_b):
    first = post(client, key_a, idempotency_key="moved").get_json()
    company_admin_a.company_id = company_b.id  # the user now works for another company
    db.session.commit()
    retry = post(client, key_a, idempotency_key="moved")
    assert retry.status_code == 422 and "Idempotency-Key" in retry.get_json()["message"]
    assert first["result"]["rma_number"] not in retry.get_data(as_text=True)
    assert count(Order) == 1


def _race(app, monkeypatch, module, send, n=2):
    """Run ``send(i)`` in ``n`` threads (each with its own app context) so that every request has
    looked for the key and found none before the first one commits its order."""
    entered, all_in = [0], threading.Event()
    lock = threading.Lock()
    real_claim, real_create = idempotency.claim, module.create_portal_order

    def claim(*args, **kwargs):
        with lock:
            entered[0] += 1
            if entered[0] == n:
                all_in.set()
        return real_claim(*args, **kwargs)

    def create(*args, **kwargs):
        # the first request to take the key holds its order back until every other one tries too
        assert all_in.wait(60), "the other requests never tried to take the key"
        return real_create(*args, **kwargs)

    monkeypatch.setattr(idempotency, "claim", claim)
    monkeypatch.setattr(module, "create_portal_order", create)
    start = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            with app.app_context():
                start.wait()
                results[i] = send(i)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and all(r is not None for r in results), errors
    assert entered[0] == n
    return results


def test_two_requests_with_the_same_key_at_the_same_moment_make_one_order(app, client, company_admin_a, monkeypatch):
    import app.api.orders as module

    # a JWT, not an API key: FAB writes an API key's last use on every request, and on SQLite that
    # write would queue behind the first request's open transaction before the second reaches the key
    token = jwt_for(client, company_admin_a.email)

    def send(_i):
        response = client.post(API, headers={**auth(token), "Idempotency-Key": "at-once"}, json=BODY)
        return response.status_code, response.headers.get("Idempotent-Replayed"), response.get_json()

    results = _race(app, monkeypatch, module, send)
    assert sorted(code for code, _r, _b in results) == [201, 201]
    assert sorted(str(replayed) for _c, replayed, _b in results) == ["None", "true"]
    assert results[0][2] == results[1][2]
    assert count(Order) == 1 and count(IdempotencyKey) == 1


# -- the portal's new-order form ---------------------------------------------------------

def _token(page) -> str:
    html = page.get_data(as_text=True)
    found = re.search(r'<input id="form_token" name="form_token" type="hidden" value="([^"]+)"', html)
    assert found, "the form has no token"
    return found.group(1)


def test_the_new_order_form_sent_twice_makes_one_order(app, company_admin_client):
    page = company_admin_client.get("/cc/orders/new")
    token = _token(page)
    assert _token(company_admin_client.get("/cc/orders/new")) != token  # each form shown its own

    def data():
        return new_order_data("PO-ONCE", [dict(description="Pumpe", quantity="1", fault_description="leckt",
                                               files=[upload("foto.pdf", PDF)])], form_token=token)

    first = company_admin_client.post("/cc/orders/new", data=data(), content_type="multipart/form-data")
    assert first.status_code == 302
    order = db.session.scalars(select(Order)).one()
    assert first.headers["Location"].endswith(f"/cc/orders/{order.id}")
    files_after_first = stored_files(app)
    assert len(files_after_first) == 1

    second = company_admin_client.post("/cc/orders/new", data=data(), content_type="multipart/form-data",
                                       follow_redirects=True)
    assert second.status_code == 200
    assert ALREADY["de"] in text(second) and order.rma_number in text(second)
    assert count(Order) == 1 and count(Attachment) == 1 and stored_files(app) == files_after_first


def test_a_form_shown_again_with_errors_keeps_its_token(app, company_admin_client):
    token = _token(company_admin_client.get("/cc/orders/new"))
    wrong = company_admin_client.post("/cc/orders/new", data=new_order_data("", form_token=token))
    assert wrong.status_code == 200 and count(Order) == 0
    assert _token(wrong) == token
    assert company_admin_client.post("/cc/orders/new", data=new_order_data("PO-1", form_token=token)).status_code == 302
    again = company_admin_client.post("/cc/orders/new", data=new_order_data("PO-1", form_token=token))
    assert again.status_code == 302 and count(Order) == 1


def test_a_new_form_is_a_new_order(company_admin_client):
    for reference in ("PO-1", "PO-2"):
        token = _token(company_admin_client.get("/cc/orders/new"))
        response = company_admin_client.post("/cc/orders/new", data=new_order_data(reference, form_token=token))
        assert response.status_code == 302
    assert count(Order) == 2


def test_a_colleagues_form_token_finds_nothing(app, company_admin_client, customer_a):
    token = _token(company_admin_client.get("/cc/orders/new"))
    assert company_admin_client.post("/cc/orders/new", data=new_order_data("PO-1", form_token=token)).status_code == 302
    colleague = _client_for(app, customer_a)
    response = colleague.post("/cc/orders/new", data=new_order_data("PO-2", form_token=token),
                              follow_redirects=True)
    assert response.status_code == 200 and ALREADY["de"] not in text(response)
    assert count(Order) == 2


def test_the_form_sent_twice_at_the_same_moment_makes_one_order(app, company_admin_a, monkeypatch):
    import app.views.portal as module

    clients = [_client_for(app, company_admin_a) for _ in range(2)]
    token = _token(clients[0].get("/cc/orders/new"))

    def send(i):
        data = new_order_data("PO-AT-ONCE", [dict(description="Pumpe", quantity="1", fault_description="leckt",
                                                  files=[upload(f"foto{i}.pdf", PDF)])], form_token=token)
        response = clients[i].post("/cc/orders/new", data=data, content_type="multipart/form-data")
        return response.status_code, response.headers.get("Location")

    results = _race(app, monkeypatch, module, send)
    order = db.session.scalars(select(Order)).one()
    assert results == [(302, f"/cc/orders/{order.id}")] * 2
    assert count(Attachment) == 1 and len(stored_files(app)) == 1  # the second request's file is gone
    page = clients[0].get(f"/cc/orders/{order.id}")
    assert page.status_code == 200 and order.rma_number in text(page)


# -- the public order form -----------------------------------------------------------------

CUSTOMER = {"customer_name": "Praxis Dr. Lang", "street": "Lindenweg 3", "postcode": "04109", "city": "Leipzig",
            "country": "Deutschland", "email": "lena.lang@praxis-lang.example"}


def _public_form(token, **extra):
    data = new_order_data("", [dict(description="EKG", quantity="1", fault_description="startet nicht")])
    data.update(CUSTOMER, privacy="y", started=started_token(time.time() - 10), form_token=token)
    data.update(extra)
    return data


def test_the_public_form_sent_twice_makes_one_order(app, client):
    page = client.get("/repair/")
    assert page.headers["Cache-Control"] == "no-store"  # no cache hands the token to another visitor
    token = _token(page)
    assert client.post("/repair/", data=_public_form(token)).status_code == 302
    order = db.session.scalars(select(Order)).one()
    mails = count(OutgoingMail)

    again = client.post("/repair/", data=_public_form(token), follow_redirects=True)
    assert again.status_code == 200
    assert ALREADY["de"] in text(again) and order.rma_number in text(again)
    assert count(Order) == 1 and count(OutgoingMail) == mails

    # another visitor who sends the same form: the same order only with the order's email address
    other = app.test_client()
    answer = other.post("/repair/", data=_public_form(token), follow_redirects=True)
    assert ALREADY["de"] in text(answer) and count(Order) == 1
    stranger = app.test_client()
    refused = stranger.post("/repair/", data=_public_form(token, email="someone@else.example"))
    assert refused.status_code == 200 and order.rma_number not in text(refused)
    assert "Bitte senden Sie es erneut." in text(refused) and _token(refused) != token
    assert count(Order) == 1

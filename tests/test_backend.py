"""The staff backend: every order, status history, portal customer data kept, companies, statuses."""
from __future__ import annotations

import re

import pytest

from sqlalchemy import select

from app.extensions import db
from app.models import Order, OrderItem, OrderStatus, StatusChange
from tests.factories import make_order
from tests.helpers import text


def _status(code):
    return db.session.scalars(select(OrderStatus).where(OrderStatus.code == code)).one()


def test_staff_see_orders_of_every_company_and_source(staff_client, company_a, company_b, customer_a, customer_b):
    a = make_order(company_a, customer_a)
    b = make_order(company_b, customer_b)
    walk_in = make_order(None, source="frontend", customer_name="Praxis Dr. Lang")
    page = staff_client.get("/backend/orders/list/").get_data(as_text=True)
    for order in (a, b, walk_in):
        assert order.rma_number in page
    assert "Alpha Antriebe GmbH" in page and "Beta Instruments Ltd" in page and "Praxis Dr. Lang" in page


def test_staff_search_by_rma_reference_and_serial_number(staff_client, company_a, customer_a):
    first = make_order(company_a, customer_a, reference="PO-FIRST")
    second = make_order(company_a, customer_a, reference="PO-SECOND")
    page = staff_client.get(f"/backend/orders/list/?_flt_0_rma_number={first.rma_number}").get_data(as_text=True)
    assert first.rma_number in page and second.rma_number not in page
    page = staff_client.get("/backend/orders/list/?_flt_2_reference=PO-SEC").get_data(as_text=True)
    assert second.rma_number in page and first.rma_number not in page
    serial = second.items[0].serial_number
    page = staff_client.get(f"/backend/orders/list/?_flt_0_items={serial}").get_data(as_text=True)
    assert second.rma_number in page and first.rma_number not in page


def test_staff_filter_by_status_and_source(staff_client, company_a, customer_a, staff_user):
    from app.services.orders import change_status

    moved = make_order(company_a, customer_a)
    stays = make_order(None, source="frontend")
    change_status(moved, _status("in_repair"), staff_user)
    db.session.commit()
    page = staff_client.get(f"/backend/orders/list/?_flt_0_status={_status('in_repair').id}").get_data(as_text=True)
    assert moved.rma_number in page and stays.rma_number not in page
    page = staff_client.get("/backend/orders/list/?_flt_0_source=frontend").get_data(as_text=True)
    assert stays.rma_number in page and moved.rma_number not in page


def test_staff_create_a_backend_order_with_customer_data(staff_client, staff_user):
    response = staff_client.post("/backend/orders/add", data={
        "reference": "TEL-0815", "customer_name": "Stadtwerke Ulm", "contact_person": "Petra Schmidt",
        "street": "Lindenweg 3", "postcode": "89073", "city": "Ulm", "country": "Deutschland",
        "email": "p.schmidt@example.org", "phone": "0731 1234",
    })
    assert response.status_code == 302
    order = db.session.scalars(select(Order).where(Order.reference == "TEL-0815")).one()
    assert order.source == "backend" and order.company_id is None
    assert re.fullmatch(r"RMA-\d{4}-\d{6}", order.rma_number)
    assert order.status.is_initial and order.created_by_id == staff_user.id
    assert [(c.from_status_id, c.to_status_id) for c in order.status_changes] == [(None, order.status_id)]
    # articles are added on the order's page
    response = staff_client.post(f"/backend/orders/{order.id}/items", data={
        "article_number": "P-1", "description": "Pumpe", "serial_number": "SN-77", "quantity": "2",
        "fault_description": "leckt"})
    assert response.status_code == 302
    page = staff_client.get(f"/backend/orders/show/{order.id}").get_data(as_text=True)
    assert order.rma_number in page and "Pumpe" in page and "SN-77" in page and "Stadtwerke Ulm" in page


def test_article_with_quantity_zero_or_no_description_is_refused(staff_client):
    order = make_order(None, items=0)
    response = staff_client.post(f"/backend/orders/{order.id}/items",
                                 data={"description": "", "quantity": "0"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Quantity" in page or "Menge" in page
    assert db.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).all() == []


def test_status_change_writes_history_with_note_shown_newest_first(staff_client, staff_user, company_a, customer_a):
    order = make_order(company_a, customer_a)
    for code, note in (("in_review", "Gerät eingetroffen"), ("estimate_sent", "KVA per Post")):
        response = staff_client.post(f"/backend/orders/{order.id}/status",
                                     data={"status_id": _status(code).id, "note": note})
        assert response.status_code == 302
    db.session.refresh(order)
    assert order.status.code == "estimate_sent"
    history = db.session.scalars(
        select(StatusChange).where(StatusChange.order_id == order.id).order_by(StatusChange.id)).all()
    assert [h.to_status.code for h in history] == ["received", "in_review", "estimate_sent"]
    assert history[-1].from_status.code == "in_review" and history[-1].note == "KVA per Post"
    assert history[-1].changed_by_id == staff_user.id and history[-1].company_id == company_a.id
    page = staff_client.get(f"/backend/orders/show/{order.id}").get_data(as_text=True)
    table = page[page.index('id="status-history"'):]
    assert table.index("KVA per Post") < table.index("Gerät eingetroffen")


def test_setting_the_same_status_without_note_writes_no_history(staff_client, company_a, customer_a):
    order = make_order(company_a, customer_a)
    staff_client.post(f"/backend/orders/{order.id}/status", data={"status_id": order.status_id, "note": ""})
    assert len(db.session.scalars(select(StatusChange).where(StatusChange.order_id == order.id)).all()) == 1


def test_portal_order_edit_form_shows_customer_data_read_only(staff_client, company_a, customer_a):
    order = make_order(company_a, customer_a)
    page = staff_client.get(f"/backend/orders/edit/{order.id}").get_data(as_text=True)
    assert 'id="customer-data-readonly"' in page and company_a.name in page
    assert 'name="customer_name"' not in page and 'name="street"' not in page
    assert 'name="reference"' in page


def test_crafted_post_cannot_change_customer_data_of_a_portal_order(staff_client, company_a, customer_a):
    order = make_order(company_a, customer_a)
    before = {f: getattr(order, f) for f in ("customer_name", "street", "city", "email", "contact_person")}
    response = staff_client.post(f"/backend/orders/edit/{order.id}", data={
        "reference": "NEW-REF", "customer_name": "Evil Corp", "street": "Elsewhere 1", "city": "Nowhere",
        "email": "evil@example.org", "contact_person": "Mallory",
    })
    assert response.status_code == 302
    db.session.refresh(order)
    assert {f: getattr(order, f) for f in before} == before
    assert order.reference == "NEW-REF"  # the rest of the edit is kept
    # leaving the customer fields out (as the real form does) keeps them too
    staff_client.post(f"/backend/orders/edit/{order.id}", data={"reference": "NEWER"})
    db.session.refresh(order)
    assert order.reference == "NEWER" and {f: getattr(order, f) for f in before} == before


def test_staff_may_edit_customer_data_of_non_portal_orders(staff_client):
    order = make_order(None, source="frontend", customer_name="Old Name")
    page = staff_client.get(f"/backend/orders/edit/{order.id}").get_data(as_text=True)
    assert 'name="customer_name"' in page
    staff_client.post(f"/backend/orders/edit/{order.id}", data={"reference": "R", "customer_name": "New Name"})
    db.session.refresh(order)
    assert order.customer_name == "New Name"


def test_staff_edit_and_remove_an_article(staff_client, company_a, customer_a):
    order = make_order(company_a, customer_a, items=2)
    first, second = order.items
    second_id = second.id
    response = staff_client.post(f"/backend/articles/edit/{first.id}", data={
        "article_number": "X-1", "description": "Neu", "serial_number": "S", "quantity": "3",
        "fault_description": "f"})
    assert response.status_code == 302 and f"/backend/orders/show/{order.id}" in response.headers["Location"]
    db.session.refresh(first)
    assert (first.description, first.quantity, first.company_id) == ("Neu", 3, company_a.id)
    assert staff_client.get(f"/backend/articles/delete/{second_id}").status_code == 405  # no deleting by GET
    staff_client.post(f"/backend/articles/delete/{second_id}")
    assert db.session.scalar(select(OrderItem).where(OrderItem.id == second_id)) is None


def test_removing_an_article_asks_first_and_is_audited(staff_client, company_a, customer_a, staff_user):
    from app.models import AuditEvent

    order = make_order(company_a, customer_a, items=2)
    second = order.items[1]
    second.description, second.serial_number = "Pumpe P-7", "SN-4711"
    db.session.commit()
    second_id = second.id
    page = staff_client.get(f"/backend/orders/show/{order.id}").get_data(as_text=True)
    assert f'href="/backend/articles/{second_id}/remove"' in page
    assert f'action="/backend/articles/delete/{second_id}"' not in page  # no removal by one click
    question = staff_client.get(f"/backend/articles/{second_id}/remove")
    assert question.status_code == 200
    shown = text(question)
    assert f"Artikel aus Auftrag {order.rma_number} entfernen?" in shown
    assert "Pumpe P-7" in shown and "SN-4711" in shown and "Abbrechen" in shown
    assert db.session.get(OrderItem, second_id) is not None  # asking removes nothing
    assert staff_client.get("/backend/articles/999999/remove").status_code == 404
    response = staff_client.post(f"/backend/articles/delete/{second_id}", follow_redirects=True)
    assert f"Artikel „Pumpe P-7“ aus Auftrag {order.rma_number} entfernt." in text(response)
    db.session.expire_all()
    assert db.session.get(OrderItem, second_id) is None and db.session.get(Order, order.id).item_count == 1
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "order.item_removed")).one()
    assert (event.actor_id, event.company_id, event.object_label) == (staff_user.id, company_a.id, order.rma_number)
    log = text(staff_client.get("/backend/audit/list/"))
    assert "Artikel entfernt" in log and "Bezeichnung: Pumpe P-7 → –" in log and "Seriennummer: SN-4711 → –" in log


def test_the_audit_log_shows_labelled_old_and_new_values_in_the_readers_language(app, staff_client, company_a,
                                                                                 customer_a, staff_user):
    order = make_order(company_a, customer_a)
    in_review = db.session.scalars(select(OrderStatus).where(OrderStatus.code == "in_review")).one()
    staff_client.post(f"/backend/orders/{order.id}/status", data={"status_id": in_review.id, "note": ""})
    walk_in = make_order(None, source="frontend", customer_name="Alt GmbH")
    staff_client.post(f"/backend/orders/edit/{walk_in.id}", data={"reference": "R", "customer_name": "Neu GmbH"})
    log = text(staff_client.get("/backend/audit/list/"))
    assert "Status: Eingegangen → In Prüfung" in log
    assert "Hinweis" not in log  # no note was written: nothing to show for it
    assert "Kunde: Alt GmbH → Neu GmbH" in log
    assert "in_review" not in log and "{" not in log and "customer_name" not in log
    staff_user.language = "en"
    db.session.commit()
    log = text(staff_client.get("/backend/audit/list/"))
    assert "Status: Received → In review" in log and "Customer: Alt GmbH → Neu GmbH" in log


def test_staff_manage_companies_and_see_their_users(staff_client, company_a, customer_a):
    response = staff_client.post("/backend/companies/add", data={
        "customer_number": "", "name": "Gamma GmbH", "city": "Köln", "active": "y"})
    assert response.status_code == 302
    from app.models import Company
    gamma = db.session.scalars(select(Company).where(Company.name == "Gamma GmbH")).one()
    assert gamma.customer_number.startswith("KD-")
    page = staff_client.get(f"/backend/companies/show/{company_a.id}").get_data(as_text=True)
    assert customer_a.email in page


def test_staff_deactivate_a_company_user(staff_client, customer_a):
    response = staff_client.post(f"/backend/company-users/edit/{customer_a.id}", data={
        "first_name": customer_a.first_name, "last_name": customer_a.last_name, "phone": ""})
    assert response.status_code == 302
    db.session.refresh(customer_a)
    assert customer_a.active is False


def test_company_users_view_never_lists_or_edits_staff(staff_client, staff_user, customer_a):
    page = staff_client.get("/backend/company-users/list/").get_data(as_text=True)
    assert customer_a.email in page and staff_user.email not in page
    assert staff_client.get(f"/backend/company-users/edit/{staff_user.id}").status_code == 404


def test_exactly_one_initial_status_is_kept(staff_client):
    received, in_review = _status("received"), _status("in_review")
    staff_client.post(f"/backend/statuses/edit/{in_review.id}", data={
        "code": "in_review", "label_de": "In Prüfung", "label_en": "In review", "position": "20",
        "is_initial": "y"})
    db.session.refresh(received)
    db.session.refresh(in_review)
    assert in_review.is_initial and not received.is_initial
    # unticking the only initial status is refused
    staff_client.post(f"/backend/statuses/edit/{in_review.id}", data={
        "code": "in_review", "label_de": "In Prüfung", "label_en": "In review", "position": "20"})
    db.session.refresh(in_review)
    assert in_review.is_initial


def test_staff_cannot_delete_orders_or_use_generic_fab_routes(staff_client, company_a, customer_a):
    order = make_order(company_a, customer_a)
    for url in (f"/backend/orders/delete/{order.id}", "/backend/orders/action_post",
                "/backend/orders/download/x_sep_y.pdf"):
        assert staff_client.get(url).status_code in (404, 405), url
        assert staff_client.post(url).status_code in (404, 405), url
    assert db.session.get(Order, order.id) is not None


def test_rma_numbers_are_unique_and_sequential(app, company_a, customer_a):
    orders = [make_order(company_a, customer_a) for _ in range(5)]
    numbers = [int(o.rma_number.rsplit("-", 1)[1]) for o in orders]
    assert numbers == list(range(numbers[0], numbers[0] + 5))
    assert all(o.rma_number.startswith(f"RMA-{o.created_at.year}-") for o in orders)


def test_staff_filter_by_company_id_number_or_name_without_a_list_of_all_companies(staff_client, company_a,
                                                                                    company_b, customer_a,
                                                                                    customer_b):
    a = make_order(company_a, customer_a)
    b = make_order(company_b, customer_b)
    for value in (str(company_a.id), company_a.customer_number, "alpha antr"):
        page = staff_client.get("/backend/orders/list/", query_string={"_flt_0_company": value}).get_data(as_text=True)
        assert a.rma_number in page and b.rma_number not in page, value
    html = staff_client.get("/backend/orders/list/").get_data(as_text=True)
    # the search form offers no <option> per company
    assert f'value="{company_b.id}">{company_b}' not in html and "Beta Instruments Ltd</option>" not in html


def test_page_size_is_capped_and_nonsense_is_refused(staff_client):
    for _ in range(105):
        make_order(None, items=0)
    response = staff_client.get("/backend/orders/list/?psize_StaffOrderView=100000")
    assert response.status_code == 200
    assert len(set(re.findall(r"RMA-\d{4}-\d{6}", response.get_data(as_text=True)))) == 100
    assert staff_client.get("/backend/orders/list/?psize_StaffOrderView=abc").status_code == 400
    assert staff_client.get("/backend/orders/list/?page_StaffOrderView=x").status_code == 400


def test_staff_export_streams_every_matching_order_of_all_companies(staff_client, company_a, company_b,
                                                                   customer_a, customer_b):
    import csv
    import io

    a = make_order(company_a, customer_a, reference="A;1")
    b = make_order(company_b, customer_b, reference="B-1")
    walk_in = make_order(None, source="frontend", reference="W-1", customer_name="Praxis Süd")
    response = staff_client.get("/backend/orders/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    raw = response.get_data(as_text=True)
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw[1:]), delimiter=";"))
    assert rows[0][0] == "RMA-Nummer" and len(rows) == 4
    by_rma = {r[0]: r for r in rows[1:]}
    assert by_rma[a.rma_number][1] == "A;1" and by_rma[a.rma_number][3] == company_a.customer_number
    assert by_rma[walk_in.rma_number][4] == "Praxis Süd" and by_rma[b.rma_number][6] == "Eingegangen"
    # as filtered on the list
    raw = staff_client.get(f"/backend/orders/export.csv?_flt_0_company={company_b.id}").get_data(as_text=True)
    assert b.rma_number in raw and a.rma_number not in raw and walk_in.rma_number not in raw
    page = staff_client.get("/backend/orders/list/?_flt_0_company=1").get_data(as_text=True)
    assert 'id="export-csv"' in page and "_flt_0_company=1" in page


def test_after_saving_staff_read_which_record_was_saved(staff_client, company_a, customer_a):
    order = make_order(None, source="frontend", customer_name="Alt GmbH")
    response = staff_client.post(f"/backend/orders/edit/{order.id}", data={"reference": "R-9", "customer_name": "Neu"},
                                 follow_redirects=True)
    shown = text(response)
    assert f"Auftrag „{order.rma_number}“ gespeichert." in shown and "Zeile geändert" not in shown
    response = staff_client.post(f"/backend/companies/edit/{company_a.id}", follow_redirects=True, data={
        "customer_number": company_a.customer_number, "name": "Alpha Antriebe AG", "active": "y"})
    assert f"Firma „{company_a.customer_number} Alpha Antriebe AG“ gespeichert." in text(response)
    response = staff_client.post("/backend/companies/add", follow_redirects=True, data={
        "customer_number": "", "name": "Gamma GmbH", "active": "y"})
    assert "Firma „KD-10001 Gamma GmbH“ angelegt." in text(response)


@pytest.mark.parametrize("url", ["/backend/audit/list/?_oc_StaffAuditView=changes&_od_StaffAuditView=asc",
                                 "/backend/orders/list/?_oc_StaffOrderView=status_changes&_od_StaffOrderView=desc",
                                 "/backend/companies/list/?_oc_StaffCompanyView=__class__&_od_StaffCompanyView=asc"])
def test_sorting_by_something_that_is_no_sortable_column_shows_the_usual_order(staff_client, company_a, customer_a,
                                                                              url):
    order = make_order(company_a, customer_a)
    response = staff_client.get(url)
    assert response.status_code == 200
    if "/orders/" in url:
        assert order.rma_number in text(response)


def test_unfiltered_staff_list_of_a_large_postgresql_table_shows_an_estimate_filtered_lists_count(
        staff_client, company_a, company_b, customer_a, customer_b, monkeypatch):
    from sqlalchemy import text as sql

    from app.views.backend.filters import OrderInterface

    for _ in range(3):
        make_order(company_a, customer_a)
    make_order(company_b, customer_b)
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    if postgresql:
        db.session.execute(sql("ANALYZE repair_order"))  # what autovacuum keeps current on a live server
        db.session.commit()
    monkeypatch.setattr(OrderInterface, "ESTIMATE_FROM", 2)  # "large" from two orders on

    page = staff_client.get("/backend/orders/list/").get_data(as_text=True)
    assert len(set(re.findall(r"RMA-\d{4}-\d{6}", page))) == 4
    if postgresql:  # the planner's figure, said as one
        assert re.search(r"</strong>\s*etwa 4\b", page), page[page.find("</strong>") - 80:][:200]
    else:  # SQLite counts a million rows in a few milliseconds: always exact
        assert re.search(r"</strong>\s*4\b", page) and "etwa" not in page
    filtered = staff_client.get("/backend/orders/list/", query_string={"_flt_0_company": company_a.customer_number})
    html = filtered.get_data(as_text=True)
    assert re.search(r"</strong>\s*3\b", html) and "etwa 3" not in html


def test_each_list_rows_buttons_open_that_rows_record(app, staff_client, company_a, customer_a):
    """The show and edit buttons of every row (built from one link per page) lead to the row's own
    record, on the orders list filtered or not and on the other staff lists."""
    from flask import url_for

    orders = [make_order(company_a, customer_a, reference=f"PO-ROW-{n}") for n in range(3)]
    for list_url, view, records in (
        ("/backend/orders/list/", "StaffOrderView", orders),
        (f"/backend/orders/list/?_flt_0_company={company_a.id}", "StaffOrderView", orders),
        ("/backend/companies/list/", "StaffCompanyView", [company_a]),
        ("/backend/company-users/list/", "StaffCompanyUserView", [customer_a]),
    ):
        page = staff_client.get(list_url).get_data(as_text=True)
        links = set(re.findall(r'href="([^"]*/(?:show|edit)/[^"]*)"', page))
        with app.test_request_context():
            expected = {url_for(f"{view}.{action}", pk=record.id) for record in records for action in ("show", "edit")}
        assert expected <= links, (list_url, expected - links)
        for link in sorted(expected)[:2]:
            assert staff_client.get(link).status_code == 200
    show = staff_client.get(f"/backend/orders/show/{orders[1].id}").get_data(as_text=True)
    assert orders[1].rma_number in show


def test_a_row_link_of_an_unknown_endpoint_is_left_out_and_one_with_the_key_inside_is_built_per_row(app):
    from app.views.backend.common import RecordLink

    with app.test_request_context():
        assert not RecordLink("NoSuchView.show")
        slip = RecordLink("PortalOrderView.slip")  # /cc/orders/<pk>/slip: the key is not the link's end
        assert slip and slip(42) == "/cc/orders/42/slip"
        assert RecordLink("StaffOrderView.show")(7) == "/backend/orders/show/7"

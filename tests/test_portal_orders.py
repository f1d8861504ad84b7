"""The portal's orders: overview, detail, new order, files."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Order, OrderItem, OrderStatus
from app.services.orders import change_status
from tests.factories import make_order, make_user
from tests.helpers import PDF, PNG, new_order_data, statements_seen, stored_files, text, upload


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def _status(code):
    return db.session.scalars(select(OrderStatus).where(OrderStatus.code == code)).one()


# -- entry -----------------------------------------------------------------------

def test_cc_sends_visitors_to_login_users_to_their_place(client, customer_client, staff_client):
    response = client.get("/cc/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert customer_client.get("/cc/").headers["Location"].endswith("/cc/orders/")
    assert "/backend/orders/list/" in staff_client.get("/cc/").headers["Location"]


def test_login_page_has_a_register_button(client):
    page = client.get("/login/").get_data(as_text=True)
    assert 'href="/cc/register/"' in page


def test_portal_menu_shows_only_portal_entries(customer_client, company_admin_client):
    page = text(customer_client.get("/cc/orders/"))
    assert "New order" in page or "Neuer Auftrag" in page
    assert "Backend" not in page and "Security" not in page and "Employees" not in page and "Mitarbeiter" not in page
    assert "/cc/employees/" in company_admin_client.get("/cc/orders/").get_data(as_text=True)


# -- overview --------------------------------------------------------------------

def test_overview_lists_only_the_company_orders_of_every_employee(customer_client, company_a, company_b,
                                                                  customer_a, company_admin_a, customer_b):
    mine = make_order(company_a, customer_a, reference="MINE-1")
    colleague = make_order(company_a, company_admin_a, reference="COLLEAGUE-1", items=3)
    foreign = make_order(company_b, customer_b, reference="FOREIGN-1")
    page = customer_client.get("/cc/orders/").get_data(as_text=True)
    assert mine.rma_number in page and colleague.rma_number in page
    assert foreign.rma_number not in page and "FOREIGN-1" not in page
    row = re.search(r'<tr class="order-row">(.*?)</tr>', page[page.index(colleague.rma_number) - 200:], re.S).group(1)
    cells = [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[0] == colleague.rma_number and cells[1] == "COLLEAGUE-1"
    assert cells[3] == company_admin_a.full_name and cells[4] == "3"
    assert cells[5] in ("Eingegangen", "Received")


@pytest.mark.parametrize("key", ["rma", "reference", "date", "created_by", "items", "status"])
def test_overview_sorts_by_every_column(customer_client, company_a, customer_a, company_admin_a, staff_user, key):
    a = make_order(company_a, customer_a, reference="B-ref", items=1)
    b = make_order(company_a, company_admin_a, reference="A-ref", items=2)
    change_status(b, _status("in_repair"), staff_user)
    db.session.commit()
    asc = customer_client.get(f"/cc/orders/?sort={key}&dir=asc").get_data(as_text=True)
    desc = customer_client.get(f"/cc/orders/?sort={key}&dir=desc").get_data(as_text=True)
    first_asc = asc.index(a.rma_number) < asc.index(b.rma_number)
    first_desc = desc.index(a.rma_number) < desc.index(b.rma_number)
    assert first_asc != first_desc
    expected_a_first = {"rma": True, "reference": False, "date": True,
                        "created_by": customer_a.last_name < company_admin_a.last_name,
                        "items": True, "status": True}[key]
    assert first_asc == expected_a_first


def test_overview_search_by_rma_reference_and_serial(customer_client, company_a, customer_a):
    a = make_order(company_a, customer_a, reference="ALPHA-77")
    b = make_order(company_a, customer_a, reference="BETA-88")
    for q, hit, miss in ((a.rma_number, a, b), ("beta-8", b, a), (a.items[0].serial_number, a, b)):
        page = customer_client.get("/cc/orders/", query_string={"q": q}).get_data(as_text=True)
        assert hit.rma_number in page and miss.rma_number not in page, q


def test_overview_search_never_finds_other_companies(customer_client, company_b, customer_b):
    foreign = make_order(company_b, customer_b, reference="SECRET-REF")
    for q in (foreign.rma_number, "SECRET", foreign.items[0].serial_number):
        page = customer_client.get("/cc/orders/", query_string={"q": q}).get_data(as_text=True)
        rows = page[page.index("<tbody"):page.index("</tbody>")]
        assert 'class="order-row"' not in rows and foreign.rma_number not in rows, q


def test_overview_filters_by_status(customer_client, company_a, customer_a, staff_user):
    a = make_order(company_a, customer_a)
    b = make_order(company_a, customer_a)
    change_status(b, _status("shipped_back"), staff_user)
    db.session.commit()
    page = customer_client.get(f"/cc/orders/?status={_status('shipped_back').id}").get_data(as_text=True)
    assert b.rma_number in page and a.rma_number not in page


def test_overview_pages_by_the_users_setting(customer_client, company_a, customer_a):
    customer_a.page_size = 10
    db.session.commit()
    orders = [make_order(company_a, customer_a) for _ in range(12)]
    first = customer_client.get("/cc/orders/").get_data(as_text=True)
    assert first.count('class="order-row"') == 10 and 'rel="next"' in first
    second = customer_client.get("/cc/orders/?page=2").get_data(as_text=True)
    assert second.count('class="order-row"') == 2
    assert orders[0].rma_number in second  # oldest last
    # a page number past the end shows the last page; nonsense is ignored
    assert customer_client.get("/cc/orders/?page=999").get_data(as_text=True).count('class="order-row"') == 2
    assert customer_client.get("/cc/orders/?page=abc&sort=evil&dir=x").status_code == 200


# -- detail -------------------------------------------------------------------------

def test_detail_shows_order_articles_customer_data_and_history_newest_first(customer_client, company_a, customer_a,
                                                                           staff_user):
    order = make_order(company_a, customer_a, items=2)
    change_status(order, _status("in_review"), staff_user, note="Gerät ist eingetroffen")
    db.session.commit()
    change_status(order, _status("estimate_sent"), staff_user, note="KVA liegt bei")
    db.session.commit()
    page = text(customer_client.get(f"/cc/orders/{order.id}"))
    assert order.rma_number in page and order.reference in page
    for item in order.items:
        assert item.description in page and item.serial_number in page
    assert company_a.name in page and company_a.street in page
    assert page.index("KVA liegt bei") < page.index("Gerät ist eingetroffen")
    html = customer_client.get(f"/cc/orders/{order.id}").get_data(as_text=True)
    assert html.count('class="history-row"') == 3
    assert 'name="customer_name"' not in html  # read-only


def test_detail_of_another_company_is_not_found(customer_client, company_b, customer_b):
    foreign = make_order(company_b, customer_b, reference="SECRET-REF")
    response = customer_client.get(f"/cc/orders/{foreign.id}")
    assert response.status_code == 404
    assert foreign.rma_number not in response.get_data(as_text=True)


# -- new order -------------------------------------------------------------------

def test_new_order_with_two_articles_and_files(app, customer_client, company_a, customer_a):
    data = new_order_data("PO-2026-1", [
        dict(article_number="A-1", description="Messgerät", serial_number="SN-1", quantity="2",
             fault_description="Display dunkel", files=[upload("foto.png", PNG)]),
        dict(article_number="A-2", description="Sonde", serial_number="SN-2", quantity="1",
             fault_description="Kabel gebrochen"),
    ], files=[upload("Lieferschein Nr. 5.pdf")])
    response = customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    order = db.session.scalars(select(Order).where(Order.reference == "PO-2026-1")).one()
    page = text(customer_client.get(response.headers["Location"]))
    assert order.rma_number in page  # shown right after saving
    assert (order.source, order.company_id, order.created_by_id) == ("portal", company_a.id, customer_a.id)
    assert order.status.is_initial and order.item_count == 2
    assert (order.customer_name, order.street, order.city) == (company_a.name, company_a.street, company_a.city)
    assert [(i.article_number, i.quantity, i.company_id) for i in order.items] == [("A-1", 2, company_a.id),
                                                                                  ("A-2", 1, company_a.id)]
    files = {a.original_name: a for a in order.attachments}
    assert files["foto.png"].item_id == order.items[0].id
    assert files["Lieferschein Nr. 5.pdf"].item_id is None
    assert all(a.company_id == company_a.id and len(a.sha256) == 64 for a in files.values())
    assert len(stored_files(app)) == 2
    assert [h.to_status.code for h in order.status_changes] == ["received"]


def test_new_order_files_download_with_their_names(customer_client, company_a, customer_a):
    customer_client.post("/cc/orders/new", content_type="multipart/form-data",
                         data=new_order_data("PO-DL", files=[upload("Prüfbericht.pdf")]))
    attachment = db.session.scalars(select(Attachment)).one()
    response = customer_client.get(f"/cc/orders/{attachment.order_id}/files/{attachment.id}")
    assert response.status_code == 200 and response.data == PDF
    assert "attachment" in response.headers["Content-Disposition"]
    assert "Pr%C3%BCfbericht.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("case,data,field_id,message", [
    ("empty reference", new_order_data(""), "reference", ("Please fill in", "Bitte")),
    ("no article", {"reference": "PO-1"}, "items-0-description", ("Please fill in", "Bitte")),
    ("quantity 0", new_order_data(articles=[dict(description="X", quantity="0", fault_description="f")]),
     "items-0-quantity", ("at least 1", "mindestens 1")),
    ("no fault description", new_order_data(articles=[dict(description="X", quantity="1")]),
     "items-0-fault_description", ("Please fill in", "Bitte")),
    ("forbidden type", new_order_data(files=[upload("virus.exe", b"MZ...")]), "files", (".exe", "exe")),
    ("forbidden type on article", new_order_data(articles=[dict(description="X", quantity="1", fault_description="f",
                                                                files=[upload("a.html", b"<html>")])]),
     "items-0-files", ("html",)),
])
def test_bad_new_order_is_refused_with_a_message_at_the_field_and_nothing_saved(app, customer_client, case, data,
                                                                               field_id, message):
    data = dict(data)
    typed = case != "no article"
    if typed:  # a second, valid article: what was typed survives the error
        data.update({"items-1-description": "Zweites Gerät", "items-1-quantity": "1",
                     "items-1-fault_description": "klappert"})
    response = customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    block = html[html.index(f'id="{field_id}"'):][:1500]
    assert "field-error" in block and any(m in block for m in message), case
    assert not typed or ("Zweites Gerät" in html and "klappert" in html)
    assert (count(Order), count(OrderItem), count(Attachment)) == (0, 0, 0)
    assert stored_files(app) == []


def test_content_that_does_not_fit_the_type_is_refused(app, customer_client):
    data = new_order_data(files=[upload("rechnung.pdf", b"MZ\x90\x00 not a pdf")])
    response = customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and "PDF" in response.get_data(as_text=True)
    assert count(Order) == 0 and stored_files(app) == []


def test_too_large_file_is_refused_and_nothing_stays_behind(app, customer_client):
    app.config["UPLOAD_MAX_FILE_SIZE"] = 1024
    data = new_order_data(articles=[dict(description="X", quantity="1", fault_description="f",
                                         files=[upload("ok.pdf")])],
                          files=[upload("big.pdf", PDF + b"x" * 4096)])
    response = customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and "big.pdf" in response.get_data(as_text=True)
    assert count(Order) == 0 and stored_files(app) == []  # the article's file written first is gone too


def test_a_request_over_the_limit_gets_a_friendly_413(app, customer_client):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    response = customer_client.post("/cc/orders/new", content_type="multipart/form-data",
                                    data=new_order_data(files=[upload("big.pdf", PDF + b"x" * 8192)]))
    assert response.status_code == 413
    assert "Nothing was saved" in text(response) or "Nichts wurde gespeichert" in text(response)
    assert count(Order) == 0 and stored_files(app) == []


def test_a_database_error_after_the_files_were_written_leaves_no_files(app, customer_client, monkeypatch):
    import app.views.portal as portal

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(portal, "create_portal_order", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    data = new_order_data(files=[upload("a.pdf")])
    response = customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 500
    assert count(Order) == 0 and stored_files(app) == []


def test_add_article_without_javascript_keeps_what_was_typed(customer_client):
    data = new_order_data("PO-KEEP", add_article="1")
    html = customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert 'id="items-1-description"' in html and "PO-KEEP" in html and "Messgerät" in html
    assert count(Order) == 0


def test_removed_article_rows_leave_gaps_that_are_fine(customer_client):
    data = new_order_data("PO-GAP", [dict(description="Eins", quantity="1", fault_description="a")])
    data.update({"items-3-description": "Drei", "items-3-quantity": "4", "items-3-fault_description": "c"})
    assert customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data").status_code == 302
    order = db.session.scalars(select(Order).where(Order.reference == "PO-GAP")).one()
    assert [(i.description, i.quantity) for i in order.items] == [("Eins", 1), ("Drei", 4)]


# -- files on an existing order -------------------------------------------------

def test_upload_more_files_to_the_order_and_to_an_article(app, customer_client, company_a, customer_a):
    order = make_order(company_a, customer_a, items=2)
    second = order.items[1]
    response = customer_client.post(f"/cc/orders/{order.id}/files", content_type="multipart/form-data",
                                    data={"target": "order", "files": [upload("a.pdf"), upload("b.png", PNG)]})
    assert response.status_code == 302
    customer_client.post(f"/cc/orders/{order.id}/files", content_type="multipart/form-data",
                         data={"target": str(second.id), "files": [upload("c.pdf")]})
    rows = db.session.scalars(select(Attachment).where(Attachment.order_id == order.id).order_by(Attachment.id)).all()
    assert [(a.original_name, a.item_id, a.uploaded_by_id) for a in rows] == [
        ("a.pdf", None, customer_a.id), ("b.png", None, customer_a.id), ("c.pdf", second.id, customer_a.id)]
    page = text(customer_client.get(f"/cc/orders/{order.id}"))
    assert "a.pdf" in page and "c.pdf" in page


def test_upload_refuses_forbidden_type_and_articles_of_other_orders(app, customer_client, company_a, customer_a):
    order = make_order(company_a, customer_a)
    other = make_order(company_a, customer_a)
    page = text(customer_client.post(f"/cc/orders/{order.id}/files", content_type="multipart/form-data",
                                     data={"target": "order", "files": [upload("x.exe", b"MZ")]},
                                     follow_redirects=True))
    assert "exe" in page
    response = customer_client.post(f"/cc/orders/{order.id}/files", content_type="multipart/form-data",
                                    data={"target": str(other.items[0].id), "files": [upload("a.pdf")]},
                                    follow_redirects=True)
    assert count(Attachment) == 0 and stored_files(app) == []
    assert response.status_code == 200


# -- export ----------------------------------------------------------------------

def test_export_is_the_filtered_overview_as_csv_for_excel(app, company_admin_client, company_a, customer_a,
                                                          company_admin_a, company_b, customer_b, staff_user):
    import csv
    import io

    first = make_order(company_a, customer_a, reference="Größe-1", items=2)
    second = make_order(company_a, company_admin_a, reference="REF;2")
    change_status(second, _status("in_repair"), staff_user)
    db.session.commit()
    foreign = make_order(company_b, customer_b, reference="FOREIGN")
    response = company_admin_client.get("/cc/orders/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data(as_text=True)
    assert raw.startswith("\ufeff")  # Excel reads UTF-8 with a BOM
    rows = list(csv.reader(io.StringIO(raw[1:]), delimiter=";"))  # German user: ';'
    assert rows[0] == ["RMA-Nummer", "Referenznummer", "Datum", "Erstellt von", "Artikel", "Status"]
    by_rma = {r[0]: r for r in rows[1:]}
    assert set(by_rma) == {first.rma_number, second.rma_number}  # never another company's
    assert by_rma[first.rma_number][1] == "Größe-1" and by_rma[first.rma_number][4] == "2"
    assert by_rma[second.rma_number][1] == "REF;2" and by_rma[second.rma_number][5] == "In Reparatur"
    assert foreign.rma_number not in raw
    # as filtered: only the status chosen
    raw = company_admin_client.get(f"/cc/orders/export.csv?status={_status('in_repair').id}").get_data(as_text=True)
    assert second.rma_number in raw and first.rma_number not in raw
    # English users get commas and English words
    company_admin_a.language = "en"
    db.session.commit()
    raw = company_admin_client.get("/cc/orders/export.csv").get_data(as_text=True)
    assert raw.splitlines()[0] == "\ufeffRMA number,Reference number,Date,Created by,Articles,Status"


def test_order_slip_has_rma_barcode_reference_articles_and_return_address(app, customer_client, staff_client,
                                                                           company_a, customer_a, customer_b):
    order = make_order(company_a, customer_a, reference="PO-SLIP", items=2)
    app.config["SERVICE_ADDRESS"] = "Reparatur-Service GmbH|Werkstraße 7|70173 Stuttgart"
    for client, url in ((customer_client, f"/cc/orders/{order.id}/slip"),
                        (staff_client, f"/backend/orders/{order.id}/slip")):
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        page = text(response)
        assert order.rma_number in page and "PO-SLIP" in page and "Werkstraße 7" in page
        assert all(i.serial_number in page and i.description in page for i in order.items)
        barcode = html[html.index('id="slip-barcode"'):]
        assert "<svg" in barcode and f'aria-label="{order.rma_number}"' in barcode
        assert barcode.count("<rect") > 30  # the bars of a Code 128 symbol
    from tests.conftest import _client_for
    assert _client_for(app, customer_b).get(f"/cc/orders/{order.id}/slip").status_code == 404


def pdf_pages(response) -> list[str]:
    """The text of each page of a PDF response."""
    import io

    from pypdf import PdfReader

    assert response.data.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages]


def test_order_slip_pdf_has_the_slips_content_in_the_users_language(app, customer_client, staff_client, company_a,
                                                                     customer_a, customer_b):
    import io

    from pypdf import PdfReader

    order = make_order(company_a, customer_a, reference="PO-SLIP", items=2)
    app.config["SERVICE_ADDRESS"] = "Reparatur-Service GmbH|Werkstraße 7|70173 Stuttgart"
    for client, url in ((customer_client, f"/cc/orders/{order.id}/slip.pdf"),
                        (staff_client, f"/backend/orders/{order.id}/slip.pdf")):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{order.rma_number}.pdf"'
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        [page] = pdf_pages(response)
        assert order.rma_number in page and "PO-SLIP" in page
        assert all(line in page for line in ("Reparatur-Service GmbH", "Werkstraße 7", "70173 Stuttgart"))
        assert company_a.name in page and customer_a.full_name in page  # the sender
        assert all(i.serial_number in page and i.description in page and i.article_number in page
                   for i in order.items)
        for label in ("Auftragsbegleitschein", "Rücksendeadresse", "Kundendaten", "Referenznummer", "Datum",
                      "Artikelnummer", "Bezeichnung", "Seriennummer", "Menge", "Fehlerbeschreibung",
                      "Seite 1 von 1"):
            assert label in page, label
        content = PdfReader(io.BytesIO(response.data)).pages[0].get_contents().get_data()
        assert content.count(b" re") > 30  # the bars of the Code 128 symbol
    # the printable page and the order offer the PDF
    assert f"/cc/orders/{order.id}/slip.pdf" in customer_client.get(f"/cc/orders/{order.id}/slip").get_data(True)
    assert f"/cc/orders/{order.id}/slip.pdf" in customer_client.get(f"/cc/orders/{order.id}").get_data(True)
    assert f"/backend/orders/{order.id}/slip.pdf" in staff_client.get(
        f"/backend/orders/{order.id}/slip").get_data(True)
    assert f"/backend/orders/{order.id}/slip.pdf" in staff_client.get(
        f"/backend/orders/show/{order.id}").get_data(True)
    # English users get English labels
    customer_a.language = "en"
    db.session.commit()
    [page] = pdf_pages(customer_client.get(f"/cc/orders/{order.id}/slip.pdf"))
    for label in ("Order slip", "Return address", "Customer data", "Reference number", "Serial number",
                  "Fault description", "Page 1 of 1"):
        assert label in page, label
    assert "Seriennummer" not in page
    # another company's user learns nothing
    from tests.conftest import _client_for
    response = _client_for(app, customer_b).get(f"/cc/orders/{order.id}/slip.pdf")
    assert response.status_code == 404 and b"%PDF" not in response.data


def test_order_slip_pdf_of_any_order_for_staff_only(app, staff_client, customer_client, staff_user):
    walk_in = make_order(None, staff_user, reference="WALK-IN")
    [page] = pdf_pages(staff_client.get(f"/backend/orders/{walk_in.id}/slip.pdf"))
    assert walk_in.rma_number in page and "WALK-IN" in page
    assert customer_client.get(f"/cc/orders/{walk_in.id}/slip.pdf").status_code == 404
    assert customer_client.get(f"/backend/orders/{walk_in.id}/slip.pdf").status_code in (302, 403, 404)


def test_order_slip_pdf_flows_many_articles_onto_pages_with_the_header_repeated(app, customer_client, company_a,
                                                                                customer_a):
    order = make_order(company_a, customer_a, items=60)
    for item in order.items:
        item.fault_description = "Display flackert nach dem Einschalten, " * 4 + "\nzweite Zeile"
    db.session.commit()
    response = customer_client.get(f"/cc/orders/{order.id}/slip.pdf")
    assert response.status_code == 200
    pages = pdf_pages(response)
    assert len(pages) > 1
    assert all("Seriennummer" in page and order.rma_number in page for page in pages)  # header, footer
    assert f"Seite {len(pages)} von {len(pages)}" in pages[-1]
    everything = "\n".join(pages)
    assert all(re.search(rf"\b{re.escape(i.serial_number)}\b", everything) for i in order.items)
    assert "Bitte legen Sie diesen Begleitschein" in pages[-1]  # the note, after the last article


@pytest.mark.parametrize("system_fonts", [True, False])
def test_order_slip_pdf_takes_any_text(app, customer_client, company_a, customer_a, monkeypatch, system_fonts):
    from app.services import slip_pdf

    if not system_fonts:
        monkeypatch.setattr(slip_pdf, "FONT_CANDIDATES", ())  # Helvetica, Windows-1252 only
        assert slip_pdf.fonts() == slip_pdf.STANDARD_FONTS
    order = make_order(company_a, customer_a, reference="Größe ÄÖÜ €")
    order.items[0].description = "测试 Gerät <b>&amp;"
    order.items[0].serial_number = "SN" + "9" * 80  # no place to break
    order.items[0].fault_description = "Zeile 1\r\nZeile 2\x1b\x07 😀"  # (NUL bytes never get in: PostgreSQL refuses them, the forms too)
    order.customer_name = "Łódź Ελλάδα Москва"
    db.session.commit()
    response = customer_client.get(f"/cc/orders/{order.id}/slip.pdf")
    assert response.status_code == 200
    [page] = pdf_pages(response)
    assert "Größe ÄÖÜ €" in page and "Gerät <b>&amp;" in page and "Zeile 2" in page
    assert order.rma_number in page


def test_the_order_page_asks_for_messages_and_a_quote_only_when_the_order_has_them(app, customer_client, staff_client,
                                                                                   company_a, customer_a):
    """Most orders have no messages and no quote: their page does not look for them (one query each
    fewer), and shows them as soon as there are some."""
    order = make_order(company_a, customer_a)
    staff_client.post(f"/backend/orders/{order.id}/messages", data={"body": "Nur intern", "internal": "y"})
    with statements_seen() as statements:
        page = text(customer_client.get(f"/cc/orders/{order.id}"))
    assert order.rma_number in page and "Nur intern" not in page
    assert not [s for s in statements if s.startswith(("SELECT order_message.", "SELECT quote."))], statements

    staff_client.post(f"/backend/orders/{order.id}/messages", data={"body": "Das Gerät ist repariert."})
    with statements_seen() as statements:
        page = text(customer_client.get(f"/cc/orders/{order.id}"))
    assert "Das Gerät ist repariert." in page and "Nur intern" not in page
    assert [s for s in statements if s.startswith("SELECT order_message.")], statements


def test_the_order_page_and_export_read_of_the_creator_only_the_name(app, customer_client, company_a, customer_a):
    """The order page and the CSV export show who created an order: they read that person's name and
    e-mail address, not the password hash or the 2FA secret (less read, and less to leak)."""
    colleague = make_user(company_a, email="kollegin@example.com", first_name="Karin", last_name="Kollegin")
    order = make_order(company_a, colleague)
    for url in (f"/cc/orders/{order.id}", "/cc/orders/export.csv"):
        with statements_seen() as statements:
            response = customer_client.get(url)
        assert response.status_code == 200 and "Karin Kollegin" in response.get_data(as_text=True)
        reads = [s for s in statements if "repair_order" in s and "ab_user_1" in s]
        assert reads, statements
        assert not [s for s in reads if "ab_user_1.password" in s or "ab_user_1.totp_secret" in s], reads

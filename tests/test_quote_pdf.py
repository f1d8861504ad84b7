"""The quote as a PDF: totals formatted for the language, lines over several pages, odd text."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from pypdf import PdfReader

from app.extensions import db
from app.models import utcnow
from app.services import quotes
from app.services.quote_pdf import quote_pdf
from tests import factories


def _pdf_text(data: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def _quote(lines, note=None, **kw):
    company = factories.make_company("Alpha Antriebe GmbH")
    order = factories.make_order(company, items=1)
    quote = quotes.save_draft(order, None, lines=lines, vat_rate=Decimal("19"),
                              valid_until=utcnow().date() + dt.timedelta(days=14), note=note, **kw)
    db.session.commit()
    return quote


def test_totals_formatted_for_each_language(app):
    quote = _quote([dict(text="Austausch Display", quantity="3", unit_price="19.99")], note="Bitte prüfen")
    quotes.send(quote, None)
    db.session.commit()
    german, pages = _pdf_text(quote_pdf(quote, "de"))
    assert pages == 1
    assert "Kostenvoranschlag" in german and quote.order.rma_number in german
    assert "59,97" in german and "11,39" in german and "71,36" in german
    assert "Netto" in german and "MwSt." in german and "Brutto" in german and "Gültig bis" in german
    assert "Austausch Display" in german and "Bitte prüfen" in german
    english, _ = _pdf_text(quote_pdf(quote, "en"))
    assert "Quote" in english and "Valid until" in english
    assert "€59.97" in english and "€11.39" in english and "€71.36" in english


def test_decision_is_printed(app):
    quote = _quote([dict(text="Repair", quantity="1", unit_price="10")])
    quote.order.company.approval_limit = Decimal("500")
    quotes.send(quote, None)
    db.session.commit()
    english, _ = _pdf_text(quote_pdf(quote, "en"))
    assert "Approved automatically up to €500.00" in english


def test_thirty_lines_run_over_pages_with_the_header_repeated(app):
    lines = [dict(text=f"Line number {n} " + "with a long description " * 4, quantity="1", unit_price="1.00")
             for n in range(1, 31)]
    quote = _quote(lines)
    text, pages = _pdf_text(quote_pdf(quote, "en"))
    assert pages > 1
    assert text.count("Unit price net") == pages  # the header on every page
    assert "Line number 30" in text and "€30.00" in text


def test_control_characters_and_markup_do_not_break_it(app):
    quote = _quote([dict(text="Bad\x00 <b>text</b> & \x1bmore", quantity="1", unit_price="1")],
                   note="<script>\x07</script> ok")
    text, _ = _pdf_text(quote_pdf(quote, "de"))
    assert "<b>text</b> & more" in text and "ok" in text

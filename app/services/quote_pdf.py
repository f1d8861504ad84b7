"""A quote (Kostenvoranschlag) as a PDF in the order slip's look (reportlab), German or English.

The service address, the customer data, RMA number, reference, version, dates, the lines as a
table whose header repeats on every page, the totals net / VAT / gross formatted for the
language, the note and, once decided, the decision. Fonts, text escaping and the "page n of m"
footer are the slip's (:mod:`app.services.slip_pdf`).
"""
from __future__ import annotations

import io
import re
from typing import Optional

from flask import Response
from flask_babel import force_locale, format_date, format_decimal
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.i18n import format_money, format_percent_rate
from app.models import LANGUAGES, QUOTE_ACCEPTED, QUOTE_DRAFT, QUOTE_REJECTED, REJECT_DISPOSE, REJECT_RETURN
from app.services.slip import service_address_lines
from app.services.slip_pdf import MARGIN, _block, _numbered_canvas, _styles, _text, fonts

# position, text, quantity, unit price net, amount: 180 mm on A4
LINE_COLUMNS = (12 * mm, 86 * mm, 22 * mm, 30 * mm, 30 * mm)


def reject_action_label(action: Optional[str]) -> str:
    """What happens to the devices after a rejected quote, in the current language."""
    return {REJECT_RETURN: _("Return unrepaired"), REJECT_DISPOSE: _("Dispose")}.get(action or "", action or "")


def decision_lines(quote) -> list[str]:
    """The decision on a quote as sentences (empty while undecided), in the current language."""
    when = format_date(quote.decided_at) if quote.decided_at else ""
    if quote.state == QUOTE_ACCEPTED:
        if quote.auto_approved_limit is not None:
            lines = [_("Approved automatically up to %(limit)s (approval limit).",
                       limit=format_money(quote.auto_approved_limit, quote.currency))]
        elif quote.decided_by is not None:
            lines = [_("Accepted by %(name)s on %(date)s.", name=quote.decided_by.full_name, date=when)]
        else:
            lines = [_("Accepted on %(date)s.", date=when)]
        if quote.po_number:
            lines.append(f"{_('Purchase order number')}: {quote.po_number}")
        return lines
    if quote.state == QUOTE_REJECTED:
        who = quote.decided_by.full_name if quote.decided_by else ""
        first = (_("Rejected by %(name)s on %(date)s.", name=who, date=when) if who
                 else _("Rejected on %(date)s.", date=when))
        return [first, f"{_('What happens to the devices')}: {reject_action_label(quote.reject_action)}"]
    return []


def _quote_styles(regular: str, bold: str) -> dict[str, ParagraphStyle]:
    styles = _styles(regular, bold)
    styles["num"] = ParagraphStyle("num", parent=styles["cell"], alignment=2)  # right-aligned
    styles["numhead"] = ParagraphStyle("numhead", parent=styles["head"], alignment=2)
    styles["total"] = ParagraphStyle("total", parent=styles["text"], alignment=2)
    styles["grand"] = ParagraphStyle("grand", parent=styles["text"], fontName=bold, alignment=2)
    return styles


def _line_text(line) -> str:
    text = _text(line.text)
    item = line.item
    if item is not None:
        tied = " · ".join(x for x in (item.article_number, item.description, item.serial_number) if x)
        text += f"<br/><font size=7.5>{_text(_('Article'))}: {_text(tied)}</font>"
    return text


def _story(quote, styles) -> list:
    order = quote.order
    width = A4[0] - 2 * MARGIN
    postcode_city = f"{order.postcode or ''} {order.city or ''}".strip()
    customer = [x for x in (order.customer_name, order.contact_person, order.street, postcode_city, order.country)
                if x]

    def fact(label: str, value: str) -> Paragraph:
        return Paragraph(f"<b>{_text(label)}</b>: {_text(value)}", styles["text"])

    details = [fact(_("RMA number"), order.rma_number or ""), fact(_("Reference number"), order.reference or ""),
               fact(_("Version"), str(quote.version))]
    if quote.sent_at is not None:
        details.append(fact(_("Date sent"), format_date(quote.sent_at)))
    details.append(fact(_("Valid until"), format_date(quote.valid_until)))
    columns = Table([[_block(_("Service address"), service_address_lines(), styles),
                      _block(_("Customer data"), customer, styles), details]],
                    colWidths=[width / 3] * 3, hAlign="LEFT")
    columns.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 4 * mm)]))

    head = [Paragraph(_text(_("Pos.")), styles["head"]), Paragraph(_text(_("Text")), styles["head"]),
            *(Paragraph(_text(label), styles["numhead"])
              for label in (_("Quantity"), _("Unit price net"), _("Amount")))]
    rows = [[Paragraph(str(line.position), styles["cell"]), Paragraph(_line_text(line), styles["cell"]),
             Paragraph(_text(format_decimal(line.quantity)), styles["num"]),
             Paragraph(_text(format_money(line.unit_price, quote.currency)), styles["num"]),
             Paragraph(_text(format_money(line.amount, quote.currency)), styles["num"])]
            for line in quote.lines]
    lines = Table([head, *rows], colWidths=LINE_COLUMNS, repeatRows=1, hAlign="LEFT")
    lines.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))

    total_rows = [
        [Paragraph(_text(_("Net")), styles["total"]),
         Paragraph(_text(format_money(quote.net, quote.currency)), styles["total"])],
        [Paragraph(_text(f"{_('VAT')} {format_percent_rate(quote.vat_rate)}"), styles["total"]),
         Paragraph(_text(format_money(quote.vat, quote.currency)), styles["total"])],
        [Paragraph(_text(_("Gross")), styles["grand"]),
         Paragraph(_text(format_money(quote.gross, quote.currency)), styles["grand"])],
    ]
    sums = Table(total_rows, colWidths=(50 * mm, 30 * mm), hAlign="RIGHT")
    sums.setStyle(TableStyle([("LINEABOVE", (0, 2), (-1, 2), 1, colors.black),
                              ("RIGHTPADDING", (0, 0), (-1, -1), 6)]))

    title = _("Quote") if quote.state != QUOTE_DRAFT else f"{_('Quote')} ({_('Draft')})"
    story = [Paragraph(_text(title), styles["title"]), Paragraph(_text(order.rma_number or ""), styles["rma"]),
             Spacer(1, 4 * mm), columns, Spacer(1, 6 * mm), lines, Spacer(1, 3 * mm), KeepTogether(sums)]
    if quote.note:
        story += [Spacer(1, 6 * mm), *_block(_("Note"), [quote.note], styles)]
    decision = decision_lines(quote)
    if decision:
        box = Table([[[Paragraph(_text(_("Decision")), styles["label"]),
                       *(Paragraph(_text(text), styles["text"]) for text in decision)]]],
                    colWidths=[width], hAlign="LEFT")
        box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.5, colors.black),
                                 ("TOPPADDING", (0, 0), (-1, -1), 3 * mm),
                                 ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 3 * mm)]))
        story += [Spacer(1, 6 * mm), KeepTogether(box)]
    return story


def quote_pdf(quote, language: str) -> bytes:
    """The quote as an A4 PDF in ``language`` ("de" or "en"; anything else reads as German)."""
    language = language if language in LANGUAGES else "de"
    with force_locale(language):
        regular, bold = fonts()
        out = io.BytesIO()
        rma = quote.order.rma_number or ""
        name = f"{_('Quote')} {rma} v{quote.version}"
        doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                                bottomMargin=MARGIN + 5 * mm, title=name, author="", creator="", subject=rma)

        # the footer is drawn by doc.build, still inside force_locale
        def footer(page: int, pages: int) -> str:
            return f"{name} · {_('Page %(page)d of %(pages)d', page=page, pages=pages)}"

        doc.build(_story(quote, _quote_styles(regular, bold)), canvasmaker=_numbered_canvas(footer, regular))
        return out.getvalue()


def quote_pdf_response(quote, language: str, download_name: Optional[str] = None) -> Response:
    """The quote as a PDF download (named after the RMA number and version unless given)."""
    name = download_name or f"{quote.order.rma_number or 'quote'}-v{quote.version}.pdf"
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    if not filename.lower().endswith(".pdf"):
        filename += ".pdf"
    response = Response(quote_pdf(quote, language), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

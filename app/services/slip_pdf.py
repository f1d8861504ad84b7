"""The order slip as a PDF (reportlab, no browser): the same fields as the printable page.

A4, the RMA number in large type and as a Code 128 barcode, the return address, the customer
data, reference and date, the articles as a table whose header repeats on every page, and the
note to put the slip into the parcel. Each page's footer names the RMA number and "page n of m".

Text is set in DejaVu Sans (or Liberation Sans) when the system has it, which covers
Latin, Greek and Cyrillic; otherwise in the PDF standard font Helvetica (Windows-1252:
umlauts, ß and € are fine). A character the font lacks shows as an empty box or "■", never
as an error.
"""
from __future__ import annotations

import functools
import io
import logging
import os
import re
from xml.sax.saxutils import escape

from flask import Response
from flask_babel import gettext as _
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.services.slip import slip_data

log = logging.getLogger(__name__)

# (regular, bold) TrueType files tried in order; Debian's fonts-dejavu-core / fonts-liberation.
FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
)
STANDARD_FONTS = ("Helvetica", "Helvetica-Bold")

MARGIN = 15 * mm
# article number, description, serial number, quantity, fault description: 180 mm on A4, wide
# enough for the German headers in DejaVu Sans Bold ("Artikelnummer", "Seriennummer") unbroken
ARTICLE_COLUMNS = (31 * mm, 40 * mm, 32 * mm, 20 * mm, 57 * mm)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@functools.cache
def _register_fonts(candidates: tuple) -> tuple[str, str]:
    for number, (regular, bold) in enumerate(candidates):
        if not (os.path.isfile(regular) and os.path.isfile(bold)):
            continue
        names = (f"SlipSans{number}", f"SlipSans{number}-Bold")
        try:
            pdfmetrics.registerFont(TTFont(names[0], regular))
            pdfmetrics.registerFont(TTFont(names[1], bold))
        except Exception:  # a broken font file: try the next, at worst the standard font
            log.warning("slip PDF: cannot use the font %s", regular, exc_info=True)
            continue
        return names
    return STANDARD_FONTS


def fonts() -> tuple[str, str]:
    """(regular, bold) font names for the slip, registered once per process."""
    return _register_fonts(FONT_CANDIDATES)


def _text(value) -> str:
    """User text as Paragraph markup: escaped, line breaks kept, control characters dropped."""
    return escape(_CONTROL.sub("", str(value))).replace("\r\n", "\n").replace("\n", "<br/>")


def _styles(regular: str, bold: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("slip", fontName=regular, fontSize=9.5, leading=12)
    return {
        "text": base,
        "label": ParagraphStyle("label", parent=base, fontName=bold),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5),
        "head": ParagraphStyle("head", parent=base, fontName=bold, fontSize=8.5, leading=10.5),
        "title": ParagraphStyle("title", parent=base, fontName=bold, fontSize=16, leading=20, spaceAfter=2 * mm),
        "rma": ParagraphStyle("rma", parent=base, fontName=bold, fontSize=26, leading=30, spaceAfter=2 * mm),
        "hint": ParagraphStyle("hint", parent=base, fontName=bold, fontSize=10.5, leading=14),
    }


def _block(label: str, lines: list[str], styles) -> list:
    return [Paragraph(_text(label), styles["label"]), *(Paragraph(_text(line), styles["text"]) for line in lines)]


def _story(slip: dict, styles) -> list:
    rma = slip["rma_number"]
    width = A4[0] - 2 * MARGIN
    barcode = Code128(rma, barHeight=16 * mm, barWidth=0.33 * mm, humanReadable=False)
    barcode.hAlign = "LEFT"

    details = [Paragraph(f"<b>{_text(_('Reference number'))}</b>: {_text(slip['reference'])}", styles["text"]),
               Paragraph(f"<b>{_text(_('Date'))}</b>: {_text(slip['date'])}", styles["text"])]
    columns = Table([[_block(_("Return address"), slip["service_address"], styles),
                      _block(_("Customer data"), slip["customer"], styles), details]],
                    colWidths=[width / 3] * 3, hAlign="LEFT")
    columns.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 4 * mm)]))

    head = [Paragraph(_text(label), styles["head"]) for label in
            (_("Article number"), _("Description"), _("Serial number"), _("Quantity"), _("Fault description"))]
    rows = [[Paragraph(_text(item[key]), styles["cell"]) for key in
             ("article_number", "description", "serial_number", "quantity", "fault_description")]
            for item in slip["items"]]
    articles = Table([head, *rows], colWidths=ARTICLE_COLUMNS, repeatRows=1, hAlign="LEFT")
    articles.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                                  ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                                  ("VALIGN", (0, 0), (-1, -1), "TOP")]))

    hint = Table([[Paragraph(_text(_("Please put this slip into the parcel and write the RMA number %(rma)s "
                                     "clearly on the outside.", rma=rma)), styles["hint"])]],
                 colWidths=[width], hAlign="LEFT")
    hint.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.5, colors.black),
                              ("TOPPADDING", (0, 0), (-1, -1), 3 * mm), ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm),
                              ("LEFTPADDING", (0, 0), (-1, -1), 3 * mm)]))

    return [Paragraph(_text(_("Order slip")), styles["title"]), Paragraph(_text(rma), styles["rma"]), barcode,
            Spacer(1, 6 * mm), columns, Spacer(1, 6 * mm), articles, Spacer(1, 6 * mm), hint]


def _numbered_canvas(footer, font: str):
    """A canvas that writes "page n of m" once the number of pages is known."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(font, 8)
                self.setFillColor(colors.grey)
                self.drawString(MARGIN, 8 * mm, footer(number, len(self._pages)))
                super().showPage()
            super().save()

    return NumberedCanvas


def build_slip_pdf(slip: dict) -> bytes:
    """The PDF of :func:`app.services.slip.slip_data`'s fields, in the current user's language."""
    regular, bold = fonts()
    out = io.BytesIO()
    rma = slip["rma_number"]
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN + 5 * mm, title=f"{_('Order slip')} {rma}", author="",
                            creator="", subject=rma)

    def footer(page: int, pages: int) -> str:
        return f"{_('Order slip')} {rma} · {_('Page %(page)d of %(pages)d', page=page, pages=pages)}"

    doc.build(_story(slip, _styles(regular, bold)), canvasmaker=_numbered_canvas(footer, regular))
    return out.getvalue()


def slip_pdf_response(order) -> Response:
    """The order's slip as a PDF download named after its RMA number."""
    slip = slip_data(order)
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", slip["rma_number"] or "slip") + ".pdf"
    response = Response(build_slip_pdf(slip), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

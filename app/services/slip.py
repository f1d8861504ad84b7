"""The order slip for the parcel: what it says (:func:`slip_data`), as a printable page with the
RMA number as a Code 128 barcode (python-barcode, inline SVG) and, in :mod:`app.services.slip_pdf`,
as a PDF."""
from __future__ import annotations

import io
import re

import barcode
from barcode.writer import SVGWriter
from markupsafe import Markup


def service_address_lines() -> list[str]:
    """The return address from ``SERVICE_ADDRESS``, its lines separated by "|"."""
    from flask import current_app

    return [line.strip() for line in current_app.config.get("SERVICE_ADDRESS", "").split("|") if line.strip()]


def slip_data(order) -> dict:
    """Everything the slip shows, in one place for the page and the PDF (labels are theirs)."""
    from flask_babel import format_datetime, format_number

    postcode_city = f"{order.postcode or ''} {order.city or ''}".strip()
    customer = [order.customer_name, order.contact_person, order.street, postcode_city, order.country]
    return {
        "rma_number": order.rma_number,
        "reference": order.reference or "",
        "date": format_datetime(order.created_at, "short") if order.created_at else "",
        "customer": [line for line in customer if line],
        "service_address": service_address_lines(),
        "items": [{"article_number": item.article_number or "", "description": item.description or "",
                   "serial_number": item.serial_number or "", "quantity": format_number(item.quantity),
                   "fault_description": item.fault_description or ""} for item in order.items],
    }


def render_slip(order, back_url: str, pdf_url: str):
    from flask import render_template

    slip = slip_data(order)
    return render_template("shared/slip.html", slip=slip, barcode=barcode_svg(slip["rma_number"]),
                           back_url=back_url, pdf_url=pdf_url)


def barcode_svg(value: str) -> Markup:
    """Inline SVG of ``value`` as Code 128 (scanners at the goods receipt read it)."""
    code = barcode.get("code128", value, writer=SVGWriter())
    out = io.BytesIO()
    code.write(out, options={"write_text": False, "module_height": 14, "module_width": 0.3, "quiet_zone": 4})
    svg = out.getvalue().decode("utf-8")
    svg = svg[svg.index("<svg"):]  # no XML declaration or doctype inside HTML
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="' + value + '" ', 1))

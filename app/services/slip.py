"""The order slip: RMA number as a Code 128 barcode (python-barcode), rendered as inline SVG."""
from __future__ import annotations

import io
import re

import barcode
from barcode.writer import SVGWriter
from markupsafe import Markup


def render_slip(order, back_url: str):
    from flask import current_app, render_template

    lines = [line.strip() for line in current_app.config.get("SERVICE_ADDRESS", "").split("|") if line.strip()]
    return render_template("shared/slip.html", order=order, barcode=barcode_svg(order.rma_number),
                           service_address=lines, back_url=back_url)


def barcode_svg(value: str) -> Markup:
    """Inline SVG of ``value`` as Code 128 (scanners at the goods receipt read it)."""
    code = barcode.get("code128", value, writer=SVGWriter())
    out = io.BytesIO()
    code.write(out, options={"write_text": False, "module_height": 14, "module_width": 0.3, "quiet_zone": 4})
    svg = out.getvalue().decode("utf-8")
    svg = svg[svg.index("<svg"):]  # no XML declaration or doctype inside HTML
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="' + value + '" ', 1))

"""CSV export of order lists, for Excel.

UTF-8 with a byte order mark (Excel then reads umlauts right) and the list
separator Excel expects in the user's language: ";" for German (where "," is the
decimal comma), "," for English.

Every text cell that a spreadsheet would read as a formula (it starts with
= + - @, a tab or a carriage return) is written with a leading apostrophe
(OWASP "CSV injection"): references, names and article texts come from
customers and from the public order form, and staff open the files in Excel.
"""
from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator

from flask import Response, stream_with_context
from flask_babel import format_datetime, get_locale

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> object:
    """A value as a spreadsheet shows it as text, never as a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def delimiter() -> str:
    return ";" if str(get_locale() or "de").startswith("de") else ","


def _lines(header: list[str], rows: Iterable[list], sep: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow([cell(v) for v in header])
    yield BOM + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([cell(v) for v in row])
        yield buffer.getvalue()


def streamed_csv_response(filename: str, header: list[str], rows: Iterable[list]) -> Response:
    """Rows produced while the response is sent (they must not need the request's ORM session)."""
    response = Response(stream_with_context(_lines(header, rows, delimiter())), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def csv_response(filename: str, header: list[str], rows: Iterable[list]) -> Response:
    """The whole file, built before the response (the rows come from the request's session)."""
    response = Response("".join(_lines(header, rows, delimiter())), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def when(value) -> str:
    """Local date and time with a four-digit year, in the ISO 8601 order every spreadsheet reads."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def xlsx_response(filename: str, header: list[str], rows: Iterable[list], sheet_title: str = "Sheet1") -> Response:
    """The same rows as an Excel workbook; text cells go through :func:`cell` like the CSV's."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    sheet.append([cell(v) for v in header])
    for row in rows:
        sheet.append([cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = Response(buffer.getvalue(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response

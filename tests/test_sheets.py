"""Uploaded tables: CSV in German and English Excel dialects, XLSX, and files that must be refused."""
from __future__ import annotations

import datetime as dt
import io
import time
import zipfile

import openpyxl
import pytest

from app.services.sheets import parse_date, read_table

COLUMNS = {
    "serial_number": {"Seriennummer", "Serial number", "serial_number"},
    "description": {"Bezeichnung", "Description"},
    "warranty_until": {"Garantie bis", "Warranty until"},
}


@pytest.fixture(autouse=True)
def english(app):
    """The messages as an English reader sees them."""
    with app.test_request_context("/?_l_=en"):
        yield


def _xlsx(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _values(table):
    return [(row.number, dict(row)) for row in table.rows]


def test_german_csv_with_bom(app):
    data = "\ufeffSeriennummer;Bezeichnung;Garantie bis\r\nSN-1;Messgerät;31.12.2026\r\n;;\r\nSN-2;Waage, groß;\r\n"
    table = read_table(data.encode("utf-8"), COLUMNS, 10)
    assert table.errors == [] and table.kind == "csv"
    assert _values(table) == [
        (2, {"serial_number": "SN-1", "description": "Messgerät", "warranty_until": "31.12.2026"}),
        (4, {"serial_number": "SN-2", "description": "Waage, groß", "warranty_until": ""}),
    ]
    assert table.headers["serial_number"] == "Seriennummer"


def test_english_csv_without_bom_and_any_case(app):
    data = b'SERIAL NUMBER,description\nSN-1,"Scale; big"\n'
    table = read_table(data, COLUMNS, 10)
    assert table.errors == []
    assert _values(table) == [(2, {"serial_number": "SN-1", "description": "Scale; big"})]


def test_windows_1252_csv(app):
    data = "Seriennummer;Bezeichnung\nSN-1;Prüfgerät für Öl\n".encode("cp1252")
    table = read_table(io.BytesIO(data), COLUMNS, 10)
    assert table.errors == []
    assert table.rows[0]["description"] == "Prüfgerät für Öl"


def test_xlsx_reads_formulas_as_text_and_dates(app):
    data = _xlsx([["Serial number", "Description", "Warranty until"],
                  ["SN-1", "=1+1", dt.datetime(2026, 12, 31)],
                  [12345, "Scale", "2026-01-02"]])
    table = read_table(data, COLUMNS, 10)
    assert table.errors == [] and table.kind == "xlsx"
    assert _values(table) == [
        (2, {"serial_number": "SN-1", "description": "=1+1", "warranty_until": "2026-12-31"}),
        (3, {"serial_number": "12345", "description": "Scale", "warranty_until": "2026-01-02"}),
    ]


def test_unknown_and_missing_headers_are_errors(app):
    table = read_table(b"Seriennummer;Farbe\nSN-1;rot\n", COLUMNS, 10, required={"serial_number", "description"})
    assert [(e.row, e.column, e.message) for e in table.errors] == [
        (1, "Farbe", "Unknown column."), (1, "description", "This column is missing.")]


def test_too_many_rows_is_one_error(app):
    data = "Seriennummer\n" + "".join(f"SN-{i}\n" for i in range(11))
    table = read_table(data.encode(), COLUMNS, 10)
    assert table.rows == []
    assert [e.message for e in table.errors] == ["The file has more than 10 rows; at most 10 can be read."]
    ten = read_table(("Seriennummer\n" + "".join(f"SN-{i}\n" for i in range(10))).encode(), COLUMNS, 10)
    assert ten.errors == [] and len(ten.rows) == 10


def test_a_pdf_named_xlsx_is_not_a_table(app):
    from werkzeug.datastructures import FileStorage

    pdf = b"%PDF-1.4\n\x00\x01\x02binary\xff\xfe"
    table = read_table(FileStorage(io.BytesIO(pdf), filename="devices.xlsx"), COLUMNS, 10)
    assert table.rows == []
    assert [e.message for e in table.errors] == ["The file could not be read as a CSV or XLSX table."]
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("word/document.xml", "<x/>")
    table = read_table(other_zip.getvalue(), COLUMNS, 10)
    assert table.errors and table.rows == []


def test_xlsx_zip_bomb_is_refused_quickly(app):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (60 * 1024 * 1024) + b"/>")
    started = time.perf_counter()
    table = read_table(bomb.getvalue(), COLUMNS, 10)
    assert time.perf_counter() - started < 2
    assert [e.message for e in table.errors] == ["The workbook is refused: it unpacks to too much data."]


def test_xlsx_declared_huge_dimension_is_ignored(app):
    data = _xlsx([["Seriennummer"], ["SN-1"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    patched = io.BytesIO()
    with zipfile.ZipFile(patched, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b'<dimension ref="A1:A2" />', b'<dimension ref="A1:XFD1048576" />')
                assert b"XFD1048576" in content
            target.writestr(info.filename, content)
    table = read_table(patched.getvalue(), COLUMNS, 10)
    assert table.errors == [] and _values(table) == [(2, {"serial_number": "SN-1"})]


@pytest.mark.parametrize("text, expected", [
    ("31.12.2026", dt.date(2026, 12, 31)), ("1.2.2026", dt.date(2026, 2, 1)),
    ("2026-12-31", dt.date(2026, 12, 31)), ("2026-12-31 00:00:00", dt.date(2026, 12, 31)),
    ("", None), (None, None), (dt.datetime(2026, 5, 4, 0, 0), dt.date(2026, 5, 4)),
])
def test_dates(app, text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31.02.2026", "12/31/2026", "morgen", "2026-13-01"])
def test_bad_dates_say_what_is_expected(app, text):
    with pytest.raises(ValueError) as error:
        parse_date(text)
    assert "is not a date (e.g. 31.12.2026 or 2026-12-31)" in str(error.value)

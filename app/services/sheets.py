"""Uploaded tables (CSV or XLSX) read into rows of text, safely, one interface for both.

The type is decided by the content, never by the file name: an XLSX is a zip holding
``xl/workbook.xml``; anything else must be text (UTF-8 with or without BOM, else
Windows-1252) separated by ";" (German Excel) or ",". Formula cells are read as their text
("=1+1"), never evaluated. A zip is measured before openpyxl opens it (entry count, real
uncompressed size, ratio), the sheet's declared dimensions are ignored, and reading stops after
``max_rows`` + 1 data rows and ``MAX_COLUMNS`` columns, so memory stays bounded whatever comes in.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

from flask_babel import lazy_gettext as _l

MAX_COLUMNS = 50
MAX_ZIP_ENTRIES = 1000
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_RATIO = 100
# rows read in all, blank ones included (Excel keeps formatted empty rows), per allowed data row
BLANK_ROWS_FACTOR = 10


class Row(dict):
    """One data row: field name -> text (stripped, "" when empty), with the file's row number."""

    def __init__(self, number: int, values: dict[str, str]):
        super().__init__(values)
        self.number = number


@dataclass
class SheetError:
    """A problem at a row (None: the whole file) and column (the header as in the file, or None)."""

    row: Optional[int]
    column: Optional[str]
    message: str


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)
    errors: list[SheetError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # field -> header as written in the file
    kind: str = ""  # "csv" or "xlsx"

    def add_error(self, row: Optional[int], column: Optional[str], message) -> None:
        self.errors.append(SheetError(row, column, str(message)))

    def column(self, name: str) -> str:
        """The header the file uses for a field (for messages)."""
        return self.headers.get(name, name)


class NotATable(ValueError):
    """The file is neither a CSV text nor an XLSX workbook, or is refused as unsafe."""


def read_table(file_storage, columns: dict[str, set[str]], max_rows: int,
               required: Iterable[str] = ()) -> Table:
    """Read an uploaded file (a Werkzeug FileStorage, a binary stream or bytes) into a Table.

    ``columns`` maps each field to the header spellings accepted (compared case-insensitively);
    ``required`` fields must have a column. Problems are reported in ``Table.errors``; this never
    raises for bad input.
    """
    data = _read_bytes(file_storage)
    table = Table()
    if not data.strip():
        table.add_error(None, None, _l("The file is empty."))
        return table
    try:
        if _is_xlsx(data):
            table.kind = "xlsx"
            raw_rows = _xlsx_rows(data)
        else:
            table.kind = "csv"
            raw_rows = _csv_rows(data)
        _fill(table, raw_rows, columns, max_rows, set(required))
    except NotATable as exc:
        table.rows = []
        table.add_error(None, None, exc.args[0])
    return table


def parse_date(text) -> Optional[dt.date]:
    """A date written as German "31.12.2026", ISO "2026-12-31" (a time after it is ignored) or an
    Excel date cell; None when empty.

    :raises ValueError: with a message for the user when it is not a date.
    """
    if text is None:
        return None
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    text = str(text).strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return dt.date(year, month, day)
        match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?", text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return dt.date(year, month, day)
    except ValueError:
        pass
    raise ValueError(str(_l("“%(value)s” is not a date (e.g. 31.12.2026 or 2026-12-31).", value=text[:40])))


# -- reading -------------------------------------------------------------------------------

def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    stream = getattr(source, "stream", source)
    if hasattr(stream, "seek"):
        stream.seek(0)
    return stream.read()  # the request's MAX_CONTENT_LENGTH bounds the size


def _is_xlsx(data: bytes) -> bool:
    if not data.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def _check_zip(data: bytes) -> None:
    """Refuse zip bombs before openpyxl sees the file: too many entries, too much real
    (decompressed, not declared) content, or too high a compression ratio."""
    refused = NotATable(_l("The workbook is refused: it unpacks to too much data."))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise refused
        declared = sum(i.file_size for i in infos)
        if declared > MAX_UNCOMPRESSED or declared > MAX_RATIO * max(len(data), 1):
            raise refused
        total = 0
        for info in infos:  # the declared sizes may lie: count what really comes out
            with archive.open(info) as member:
                while chunk := member.read(1 << 16):
                    total += len(chunk)
                    if total > MAX_UNCOMPRESSED or total > MAX_RATIO * max(len(data), 1):
                        raise refused


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    try:
        _check_zip(data)
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except NotATable:
        raise
    except Exception:  # openpyxl raises many kinds for broken workbooks
        raise NotATable(_l("The file could not be read as a CSV or XLSX table."))
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            return
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # a declared A1:XFD1048576 must not make us pad rows
        for number, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]
    except NotATable:
        raise
    except Exception:
        raise NotATable(_l("The file could not be read as a CSV or XLSX table."))
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value).strip()


def _decode(data: bytes) -> str:
    if b"\x00" in data[:65536]:
        raise NotATable(_l("The file could not be read as a CSV or XLSX table."))
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise NotATable(_l("The file could not be read as a CSV or XLSX table."))


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    sep = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    number = 0
    try:
        for values in reader:
            number += 1
            yield number, [v.strip() for v in values[:MAX_COLUMNS]]
    except csv.Error:
        raise NotATable(_l("Row %(row)s could not be read (a quote is not closed or a cell is too long).",
                           row=number + 1))


def _normal(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").split()).lower()


def _too_many(table: Table, max_rows: int) -> None:
    table.rows = []  # a preview of a file that cannot be taken would only be long
    table.add_error(None, None, _l("The file has more than %(max)s rows; at most %(max)s can be read.",
                                   max=max_rows))


def _fill(table: Table, raw_rows: Iterator[tuple[int, list[str]]], columns: dict[str, set[str]],
          max_rows: int, required: set[str]) -> None:
    lookup = {_normal(spelling): name for name, spellings in columns.items() for spelling in spellings}
    mapping: dict[int, str] = {}
    header_seen = False
    read = 0
    for number, values in raw_rows:
        read += 1
        if read > BLANK_ROWS_FACTOR * (max_rows + 1):
            _too_many(table, max_rows)
            return
        if not any(values):
            continue
        if not header_seen:
            header_seen = True
            for index, header in enumerate(values):
                if not header:
                    continue
                name = lookup.get(_normal(header))
                if name is None:
                    table.add_error(number, header, _l("Unknown column."))
                elif name in table.headers:
                    table.add_error(number, header, _l("This column appears twice."))
                else:
                    mapping[index] = name
                    table.headers[name] = header
            for name in columns:
                if name in required and name not in table.headers:
                    table.add_error(number, name, _l("This column is missing."))
            continue
        row = Row(number, {name: "" for name in table.headers})
        for index, name in mapping.items():
            if index < len(values):
                row[name] = values[index]
        table.rows.append(row)
        if len(table.rows) > max_rows:  # stop reading at the first row too many
            _too_many(table, max_rows)
            return
    if not header_seen:
        table.add_error(None, None, _l("The file is empty."))

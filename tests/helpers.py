"""Small helpers for the tests: files, page text."""
from __future__ import annotations

import datetime as dt
import io
import re
from contextlib import contextmanager
from html import unescape
from pathlib import Path

PDF = b"%PDF-1.4\n% test document\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def today() -> dt.date:
    """Today as the services see it (UTC), read when the test runs: a run that passes midnight must
    not compare against the day a module was imported."""
    from app.models import utcnow

    return utcnow().date()


def upload(name: str, content: bytes = PDF):
    return (io.BytesIO(content), name)


def text(response) -> str:
    """The visible text of a page (tags removed, entities decoded, spaces folded)."""
    return html_text(response.get_data(as_text=True))


def html_text(html: str) -> str:
    """The visible text of a page or a piece of one."""
    html = re.sub(r"<(script|style|template)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


@contextmanager
def statements_seen():
    """The SQL statements sent while the block runs, each on one line."""
    from sqlalchemy import event

    from app.extensions import db

    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def stored_files(app) -> list[Path]:
    return sorted(p for p in Path(app.config["UPLOAD_FOLDER"]).iterdir() if p.is_file())


def new_order_data(reference="PO-4711", articles=None, **extra):
    """Form data for a new portal order: article dicts become items-N-field keys."""
    articles = articles if articles is not None else [dict(description="Messgerät", quantity="1",
                                                           fault_description="Display bleibt dunkel")]
    data = {"reference": reference}
    for n, article in enumerate(articles):
        for key, value in article.items():
            data[f"items-{n}-{key}"] = value
    data.update(extra)
    return data

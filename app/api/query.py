"""The ``q`` argument of FAB's list, detail and ``_info`` endpoints, read once and safely.

FAB 5.3 reads it as Rison, else as JSON, but (1) a Rison number such as ``1e+5``
raises an error it does not expect (a 500), and (2) the JSON form is URL-decoded a
second time, so a ``+`` in a filter value became a blank and found nothing. Here it
is parsed once — Rison, else JSON exactly as received — and handed on to FAB in
Rison, which FAB then reads as meant. Can go when FAB parses ``q`` this way itself.
"""
from __future__ import annotations

import json

import prison
from flask import jsonify, request
from werkzeug.datastructures import ImmutableMultiDict

from app.models import storable_text

QUERY_ARGUMENT = "q"
# The highest list page anyone can ask for: a million pages of 100 are far more orders than a company has,
# and a negative page (or one whose offset overflows a 64-bit integer) is an error in PostgreSQL.
MAX_PAGE = 1_000_000


def _parse(value: str):
    try:
        return prison.loads(value)
    except Exception:  # prison raises ParserException, ValueError, IndexError … on bad input
        return json.loads(value)


def normalise_query_argument():
    """Before each request of an API: 400 for a ``q`` that is neither Rison nor JSON."""
    value = request.args.get(QUERY_ARGUMENT)
    if not value:
        return None
    try:
        parsed = _parse(value)
        canonical = prison.dumps(parsed)
    except Exception:
        return jsonify(message="Not a valid rison/json argument"), 400
    page = parsed.get("page") if isinstance(parsed, dict) else None
    if page is not None and (type(page) is not int or not 0 <= page <= MAX_PAGE):
        return jsonify(message=f"page must be a whole number from 0 to {MAX_PAGE}"), 400
    if not storable_text(canonical):  # e.g. "\ud800" in the JSON form: no database can compare it
        return jsonify(message="Not a valid rison/json argument: no Unicode text"), 400
    args = request.args.copy()
    args[QUERY_ARGUMENT] = canonical
    request.args = ImmutableMultiDict(args)
    return None

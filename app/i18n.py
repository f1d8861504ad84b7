"""Language: a logged-in user's setting wins; before login the session's choice
(the language switch), then the browser's Accept-Language; German otherwise."""
from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import get_locale

from app.models import LANGUAGES

DEFAULT = "de"


def select_locale() -> str:
    if not has_request_context():
        return current_app.config.get("BABEL_DEFAULT_LOCALE", DEFAULT)
    if request.args.get("_l_") in LANGUAGES:  # FAB's API clients ask this way
        return request.args["_l_"]
    user = getattr(g, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        language = getattr(user, "language", None)
        if language in LANGUAGES:
            return language
    chosen = session.get("locale")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def format_file_size(size) -> str:
    """A file size in KB or MB with the reader's decimal separator ("0,1 KB" in German)."""
    from flask_babel import format_decimal, gettext

    size = size or 0
    if size < 1024 * 1024:
        return gettext("%(size)s KB", size=format_decimal(size / 1024, "#,##0.#"))
    return gettext("%(size)s MB", size=format_decimal(size / (1024 * 1024), "#,##0.#"))


def format_money(amount, currency: str = "EUR") -> str:
    """An amount of money in the reader's locale ("1.234,50 €" in German, "€1,234.50" in English)."""
    from flask_babel import format_currency

    return format_currency(amount if amount is not None else 0, currency or "EUR")


def format_percent_rate(rate) -> str:
    """A rate given in percent (19 → "19 %" in German, "19%" in English)."""
    import re
    from decimal import Decimal

    from flask_babel import format_percent

    # the locale's own pattern ("#,##0 %" in German), with up to two decimals (7.5 %)
    pattern = get_locale().percent_formats[None].pattern
    pattern = re.sub(r"0(?=[^0#.]*%)", "0.##", pattern, count=1) if "." not in pattern else pattern
    return format_percent(Decimal(rate or 0) / 100, pattern)


def init_i18n(app: Flask) -> None:
    app.extensions["babel"].locale_selector = select_locale
    app.jinja_env.globals["get_current_locale"] = get_locale
    from app.security.roles import role_label

    app.jinja_env.filters["role_label"] = role_label
    from flask_babel import format_decimal, format_number

    app.jinja_env.filters["format_number"] = format_number
    app.jinja_env.filters["format_decimal"] = format_decimal
    app.jinja_env.filters["file_size"] = format_file_size
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["vat_rate"] = format_percent_rate
    app.jinja_env.filters["zip"] = lambda a, b: zip(a, b)

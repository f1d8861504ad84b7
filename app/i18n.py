"""Language: a logged-in user's setting wins; before login the session's choice
(the language switch), then the browser's Accept-Language; German otherwise."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

import flask_babel
from babel import Locale, dates, numbers
from flask import Flask, current_app, g, has_request_context, request, session
from flask.globals import _cv_app
from flask_babel import get_locale as _babel_locale

from app.models import LANGUAGES

DEFAULT = "de"


def _babel_state(name: str):
    """What Flask-Babel has settled for this app context (``babel_locale``, ``babel_tzinfo``), or None
    before it has. Flask-Babel keeps it in ``g._flask_babel``, and ``force_locale`` (a mail in the
    recipient's language) changes it there; reading it through its getters walks four context lookups
    each time, and a list page formats a hundred values."""
    ctx = _cv_app.get(None)
    return None if ctx is None else getattr(ctx.g.__dict__.get("_flask_babel"), name, None)


def get_locale() -> Locale | None:
    """The reader's locale: Flask-Babel's ``get_locale``, without its lookups once it has chosen."""
    return _babel_state("babel_locale") or _babel_locale()


def get_timezone():
    """The reader's time zone: Flask-Babel's ``get_timezone``, likewise."""
    return _babel_state("babel_tzinfo") or flask_babel.get_timezone()


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
    from flask_babel import gettext

    size = size or 0
    if size < 1024 * 1024:
        return gettext("%(size)s KB", size=format_decimal(size / 1024, "#,##0.#"))
    return gettext("%(size)s MB", size=format_decimal(size / (1024 * 1024), "#,##0.#"))


def format_money(amount, currency: str = "EUR") -> str:
    """An amount of money in the reader's locale ("1.234,50 €" in German, "€1,234.50" in English),
    as Babel's ``format_currency`` writes it (a 30-line quote shows 63 amounts)."""
    locale = get_locale()
    currency = currency or "EUR"
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount if amount is not None else 0))
    compiled = _money_format(locale, currency)
    if compiled is None:
        return locale.currency_formats["standard"].apply(value, locale, currency=currency)
    return _apply_money(compiled, value)


# Babel reads the locale's symbols and the currency's digits again for every amount, and walks
# the digits in Python. For a pattern that only groups by threes, the same text comes from
# Python's own decimal formatting with Babel's symbols put in: compiled once per locale and
# currency, and only used when it writes the probes below exactly as Babel does (Babel otherwise).
_MONEY_PROBES = (Decimal("1234567.891"), Decimal("-1234567.895"), Decimal("0.5"), Decimal("-0"), Decimal("0"))


@lru_cache(maxsize=32)
def _money_format(locale: Locale, currency: str):
    pattern = locale.currency_formats["standard"]
    affixes = (*pattern.prefix, *pattern.suffix)
    if (pattern.scale or pattern.exp_prec or "@" in pattern.pattern or pattern.grouping != (3, 3)
            or pattern.int_prec[0] != 1 or any("'" in affix or "¤¤¤" in affix for affix in affixes)):
        return None
    symbol = numbers.get_currency_symbol(currency, locale)

    def affix(text: str) -> str:
        return text.replace("¤¤", currency.upper()).replace("¤", symbol)

    compiled = (
        f",.{numbers.get_currency_precision(currency)}f",
        str.maketrans({",": numbers.get_group_symbol(locale), ".": numbers.get_decimal_symbol(locale)}),
        (affix(pattern.prefix[0]), affix(pattern.suffix[0])),
        (affix(pattern.prefix[1]), affix(pattern.suffix[1])),
    )
    if any(_apply_money(compiled, probe) != pattern.apply(probe, locale, currency=currency)
           for probe in _MONEY_PROBES):
        return None
    return compiled


def _apply_money(compiled, value: Decimal) -> str:
    spec, separators, positive, negative = compiled
    prefix, suffix = negative if value.is_signed() else positive
    return prefix + format(abs(value), spec).translate(separators) + suffix


def format_percent_rate(rate) -> str:
    """A rate given in percent (19 → "19 %" in German, "19%" in English)."""
    from flask_babel import format_percent

    # the locale's own pattern (German puts a space before %), with up to two decimals (7.5 %)
    pattern = get_locale().percent_formats[None].pattern.replace("#,##0", "#,##0.##", 1)
    return format_percent(Decimal(rate or 0) / 100, pattern)


# Dates and numbers through Babel as Flask-Babel's filters give them, with two differences in cost:
# the reader's locale and time zone are looked up once per value (Flask-Babel looks them up three
# times), and a named pattern ("short", "medium") is parsed once per process. The order lists format
# two dates and a number on every row.
_NAMED = ("full", "long", "medium", "short")


@lru_cache(maxsize=64)
def _datetime_patterns(locale: Locale, format: str):
    """How a named date-and-time format joins its date and time, and the two patterns."""
    return (dates.get_datetime_format(format, locale=locale).replace("'", ""),
            dates.parse_pattern(dates.get_date_format(format, locale=locale)),
            dates.parse_pattern(dates.get_time_format(format, locale=locale)))


@lru_cache(maxsize=64)
def _date_pattern(locale: Locale, format: str):
    return dates.parse_pattern(dates.get_date_format(format, locale=locale) if format in _NAMED else format)


def _in_reader_zone(value: dt.datetime) -> dt.datetime:
    """A datetime (naive ones are UTC, as the database keeps them) in the reader's time zone."""
    zone = get_timezone()
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    value = value.astimezone(zone)
    return zone.normalize(value) if hasattr(zone, "normalize") else value  # pytz needs it at a DST change


def format_datetime(value: dt.datetime | None, format: str = "medium") -> str:
    """A point in time in the reader's locale and time zone ("02.12.26, 09:30"); "" for none."""
    if value is None:
        return ""
    locale = get_locale()
    value = _in_reader_zone(value)
    if format in _NAMED:
        joined, date_pattern, time_pattern = _datetime_patterns(locale, format)
        return (joined.replace("{0}", time_pattern.apply(value.timetz(), locale, reference_date=value.date()))
                .replace("{1}", date_pattern.apply(value.date(), locale)))
    return dates.parse_pattern(format).apply(value, locale)


def format_date(value: dt.date | None, format: str = "medium") -> str:
    """A day in the reader's locale ("02.12.2026"); a datetime counts in the reader's time zone."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _in_reader_zone(value).date()
    locale = get_locale()
    key = (value, format, _locale_key(locale))
    text = _FORMATTED.get(key)
    if text is None:
        text = _remember(key, _date_pattern(locale, format).apply(value, locale))
    return text


def format_number(value) -> str:
    """A number with the reader's grouping and decimal signs ("1.234" in German)."""
    locale = get_locale()
    if type(value) is not int:
        return numbers.format_decimal(value, locale=locale)
    key = (value, "n", _locale_key(locale))
    text = _FORMATTED.get(key)
    if text is None:
        text = _remember(key, numbers.format_decimal(value, locale=locale))
    return text


# Days and whole numbers recur on a page (due dates, quantities, counts): Babel's text for each is
# kept per locale, up to a bound. Points in time are formatted each time (they hardly recur).
_FORMATTED: dict = {}
_FORMATTED_MAX = 20_000


def _locale_key(locale: Locale | None):
    return None if locale is None else (locale.language, locale.territory, locale.script, locale.variant)


def _remember(key, text: str) -> str:
    if len(_FORMATTED) >= _FORMATTED_MAX:
        _FORMATTED.clear()
    _FORMATTED[key] = text
    return text


@lru_cache(maxsize=64)
def _number_pattern(format: str):
    """A number pattern ("#,##0.##") parsed once; Babel parses it again on every call."""
    return numbers.parse_pattern(format)


def format_decimal(value, format: str | None = None) -> str:
    """A decimal number after ``format`` ("#,##0.##"), in the reader's locale. Whole numbers and
    decimals recur (a quote's quantities): their text is kept, as Babel writes equal values alike."""
    locale = get_locale()
    kind = type(value)
    key = None
    if kind is int or (kind is Decimal and value.is_finite()):
        # -0 equals 0 but is written "-0"
        key = (value, kind is Decimal and value.is_signed(), format or "d", _locale_key(locale))
        text = _FORMATTED.get(key)
        if text is not None:
            return text
    text = numbers.format_decimal(value, format=_number_pattern(format) if format else None, locale=locale)
    return text if key is None else _remember(key, text)


def _catalogue():
    """The reader's translations for the templates' ``_()``: Flask-Babel's, asked again only when the
    locale is another (``force_locale`` for a mail in the recipient's language). Flask-Babel finds the
    catalogue anew for every text, and a page has 50-100 of them."""
    locale = get_locale()
    cached = g.get("_portal_catalogue")
    if cached is None or cached[0] is not locale:
        cached = g._portal_catalogue = (locale, flask_babel.get_translations())
    return cached[1]


def init_i18n(app: Flask) -> None:
    app.extensions["babel"].locale_selector = select_locale
    app.jinja_env.globals["get_current_locale"] = get_locale
    from app.security.roles import role_label

    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.install_gettext_callables(
        gettext=lambda text: _catalogue().ugettext(text),
        ngettext=lambda singular, plural, n: _catalogue().ungettext(singular, plural, n),
        pgettext=lambda context, text: _catalogue().upgettext(context, text),
        npgettext=lambda context, singular, plural, n: _catalogue().unpgettext(context, singular, plural, n),
        newstyle=True,
    )
    app.jinja_env.filters["datetimeformat"] = format_datetime
    app.jinja_env.filters["dateformat"] = format_date
    app.jinja_env.filters["format_number"] = format_number
    app.jinja_env.filters["format_decimal"] = format_decimal
    app.jinja_env.filters["file_size"] = format_file_size
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["vat_rate"] = format_percent_rate
    app.jinja_env.filters["zip"] = lambda a, b: zip(a, b)

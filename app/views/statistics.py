"""The key account's own figures (Statistik): the company admin's page, and the same for staff
for any company. The figures come from :mod:`app.services.statistics`."""
from __future__ import annotations

from flask import abort, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import format_date, format_decimal, format_percent, get_locale
from flask_babel import gettext as _

from app.extensions import db
from app.models import Company, utcnow
from app.security.scoping import current_company_id, require_company
from app.services import export
from app.services.statistics import Figures, company_figures

TEMPLATE = "shared/statistics.html"


def percent(share) -> str:
    """A share (0..1) as a percentage in the reader's language ("87,5 %" / "87.5%")."""
    if share is None:
        return "–"
    # the language's own pattern (its space before "%" or not) with one decimal place
    pattern = get_locale().percent_formats[None].pattern.replace("#,##0", "#,##0.#", 1)
    return format_percent(share, pattern)


def decision_time(hours) -> str:
    """An average time to decide, in hours below two days, else in days."""
    if hours is None:
        return "–"
    if hours < 48:
        return _("%(hours)s hours", hours=format_decimal(hours, "#,##0.#"))
    return _("%(days)s days", days=format_decimal(hours / 24, "#,##0.#"))


def month_label(month) -> str:
    return format_date(month, "MMM y")


def render_page(view: BaseView, company: Company, csv_url: str, back_url: str):
    figures = company_figures(company.id)
    return view.render_template(
        TEMPLATE, company=company, figures=figures, csv_url=csv_url, back_url=back_url,
        chart=[(month_label(month), count) for month, count in figures.per_month],
        percent=percent, decision_time=decision_time,
    )


def csv_rows(company: Company, figures: Figures) -> list[list]:
    """The page's figures as rows: label, value (numbers in the reader's language)."""
    def dec(value):
        return format_decimal(value, "#,##0.0") if value is not None else ""

    return [
        [_("Company"), company.name],
        [_("Since"), f"{figures.since:%Y-%m-%d}"],
        [],
        [_("Orders per month"), _("Orders")],
        *[[f"{month:%Y-%m}", count] for month, count in figures.per_month],
        [],
        [_("Orders"), figures.orders],
        [_("Completed orders"), figures.completed],
        [_("Average turnaround (working days)"), dec(figures.turnaround)],
        [_("Completed on time (%)"), dec(figures.on_time_share * 100 if figures.on_time_share is not None else None)],
        [_("Quotes decided"), figures.quotes_decided],
        [_("Quotes accepted"), figures.quotes_accepted],
        [_("Quotes accepted (%)"), dec(figures.accepted_share * 100 if figures.accepted_share is not None else None)],
        [_("Average time to decide (hours)"), dec(figures.decision_hours)],
        [],
        [_("Article number"), _("Description"), _("Quantity")],
        *[[number, description, count] for number, description, count in figures.top_articles],
    ]


def csv_download(company: Company):
    figures = company_figures(company.id)
    rows = csv_rows(company, figures)
    return export.csv_response(f"{_('statistics')}-{utcnow():%Y-%m-%d}.csv", rows[0], rows[1:])


class PortalStatisticsView(BaseView):
    """``/cc/statistics/``: the company admin's own company, nobody else's (no id in the address)."""

    route_base = "/cc/statistics"
    class_permission_name = "PortalStatistics"
    method_permission_name = {"index": "show", "csv": "show"}
    default_view = "index"

    @staticmethod
    def _company() -> Company:
        require_company()
        company = db.session.get(Company, current_company_id())
        if company is None:
            abort(403)
        return company

    @expose("/")
    @has_access
    def index(self):
        return render_page(self, self._company(), url_for(".csv"), url_for("PortalOrderView.list"))

    @expose("/csv")
    @has_access
    def csv(self):
        return csv_download(self._company())


class StaffStatisticsView(BaseView):
    """The same figures for staff, for any company (reached from the company's page)."""

    route_base = "/backend/companies"
    class_permission_name = "StaffStatistics"
    method_permission_name = {"show": "show", "csv": "show"}

    @staticmethod
    def _company(pk: int) -> Company:
        company = db.session.get(Company, pk)
        if company is None:
            abort(404)
        return company

    @expose("/<int:pk>/statistics")
    @has_access
    def show(self, pk):
        company = self._company(pk)
        return render_page(self, company, url_for(".csv", pk=company.id),
                           url_for("StaffCompanyView.show", pk=company.id))

    @expose("/<int:pk>/statistics/csv")
    @has_access
    def csv(self, pk):
        return csv_download(self._company(pk))

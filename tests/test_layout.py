"""The page layout every page shares (FAB's base layout, overridden): language, landmarks,
favicon, stylesheet; and the order pages' layout details. The browser checks with axe-core
and at a phone's width are in tests/e2e/test_a11y.py."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.extensions import db
from app.models import OrderMessage
from app.security import roles
from tests import factories
from tests.conftest import _client_for


def _html(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("role", [None, roles.CUSTOMER, roles.COMPANY_ADMIN, roles.STAFF])
def test_every_layout_page_says_its_language_and_has_landmarks(app, company_a, role, language):
    if role is None:
        client = app.test_client()
        paths = ["/login/", "/cc/register/", "/repair/", "/repair/status/", "/no-such-page"]
        headers = {"Accept-Language": language}
    else:
        user = factories.make_user(company_a if role != roles.STAFF else None, role, language=language)
        order = factories.make_order(company_a)
        client = _client_for(app, user)
        paths = (["/backend/dashboard/", "/backend/orders/list/", f"/backend/orders/show/{order.id}",
                  "/backend/statuses/list/"] if role == roles.STAFF
                 else ["/cc/orders/", f"/cc/orders/{order.id}", "/cc/my-data/"])
        headers = {}
    for path in paths:
        html = _html(client.get(path, headers=headers))
        assert f'<html lang="{language}">' in html, path
        assert 'role="header"' not in html, path  # not an ARIA role (FAB's layout wrote it)
        assert len(re.findall(r"<main\b", html)) == 1 and re.search(r"<header\b", html), path
        assert re.search(r"<h1\b", html), path
        assert '/static/portal.css"' in html and 'rel="icon" href="/static/favicon.svg"' in html, path


def test_favicon_answers_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_fab_list_names_its_button_column(staff_client, company_a):
    factories.make_order(company_a)
    html = _html(staff_client.get("/backend/orders/list/"))
    assert '<th class="col-md-1 col-lg-1 col-sm-1"><span class="sr-only">Aktionen</span></th>' in html
    assert not re.search(r"<th[^>]*>\s*</th>", html)


def test_backend_order_list_keeps_rma_numbers_on_one_line(app, staff_client, company_a):
    order = factories.make_order(company_a)
    html = _html(staff_client.get("/backend/orders/list/"))
    assert f'<span class="rma-number">{order.rma_number}</span>' in html
    css = (Path(app.static_folder) / "portal.css").read_text()
    assert re.search(r"\.rma-number[^{]*\{[^}]*white-space: nowrap", css)


def test_customer_order_page_shows_the_processing_status_before_articles_and_messages(
        customer_client, company_a, customer_a):
    order = factories.make_order(company_a, customer_a)
    db.session.add(OrderMessage(order_id=order.id, company_id=company_a.id, author_id=customer_a.id, body="Hallo"))
    db.session.commit()
    html = _html(customer_client.get(f"/cc/orders/{order.id}"))
    positions = [html.index(f'id="{anchor}"') for anchor in ("order", "status-history", "articles", "messages")]
    assert positions == sorted(positions), positions


def test_dashboard_charts_have_a_name_with_their_figures(staff_client, company_a):
    factories.make_order(company_a)
    html = _html(staff_client.get("/backend/dashboard/"))
    chart = re.search(r'<svg id="chart-status" role="img" aria-label="([^"]*)"', html)
    assert chart and chart.group(1).startswith("Aufträge je Status: Eingegangen 1; In Prüfung 0; "), chart


def test_api_documentation_has_a_heading_and_its_contrast_styles(company_admin_client):
    html = _html(company_admin_client.get("/swagger/v1"))
    assert '<h1 class="h3" id="api-docs-title">API-Dokumentation</h1>' in html
    assert html.index("swagger-ui.css") < html.index('/static/swagger.css"')  # ours wins
    assert 'data-server-label="Server"' in html

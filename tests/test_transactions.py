"""How a request's transaction ends: a request that only read commits (PostgreSQL keeps the statements
psycopg prepared), one that wrote without committing, failed or left changes is rolled back."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from app.extensions import db
from app.models import Company, Order
from tests.conftest import BACKEND
from tests.factories import make_company
from tests.helpers import new_order_data
from tests.helpers import text as page_text


@pytest.fixture
def probe_app(app):
    """The app with a few routes that change a company's name and then do not commit."""
    company = make_company("Unchanged GmbH")
    db.session.commit()
    company_id = company.id

    def flushed():
        db.session.get(Company, company_id).name = "Flushed"
        db.session.flush()
        return "done"

    def statement():
        db.session.execute(update(Company).where(Company.id == company_id).values(name="By statement"))
        return "done"

    def pending():
        db.session.get(Company, company_id).name = "Pending"
        return "done"

    def failing():
        db.session.get(Company, company_id).name = "Failed"
        db.session.flush()
        raise RuntimeError("after the change")

    def reads():
        return db.session.get(Company, company_id).name

    for view in (flushed, statement, pending, failing, reads):
        app.add_url_rule(f"/probe/{view.__name__}", view.__name__, view)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.probe_company_id = company_id
    return app


def _name(app) -> str:
    db.session.expire_all()
    return db.session.scalar(select(Company.name).where(Company.id == app.probe_company_id))


@pytest.mark.parametrize("route", ["flushed", "statement", "pending"])
def test_a_request_that_changed_data_without_committing_leaves_nothing_behind(probe_app, route):
    client = probe_app.test_client()
    assert client.get(f"/probe/{route}").status_code == 200
    assert _name(probe_app) == "Unchanged GmbH"
    # and the next request does not find the change either
    assert client.get("/probe/reads").get_data(as_text=True) == "Unchanged GmbH"


def test_a_request_that_fails_after_a_change_leaves_nothing_behind(probe_app):
    client = probe_app.test_client()
    assert client.get("/probe/failing").status_code == 500
    assert _name(probe_app) == "Unchanged GmbH"


def test_committed_work_of_a_request_is_kept(customer_client):
    """Saving still works: a new order is there for the next request and in the database."""
    data = new_order_data("KEPT-1", [dict(article_number="A-1", description="Messgerät", serial_number="SN-K1",
                                          quantity="1", fault_description="Display dunkel")])
    response = customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    assert "KEPT-1" in page_text(customer_client.get("/cc/orders/"))
    db.session.expire_all()
    assert db.session.scalar(select(Order.reference).where(Order.reference == "KEPT-1")) == "KEPT-1"


@pytest.mark.skipif(BACKEND != "postgresql", reason="prepared statements are PostgreSQL's (runs in the PostgreSQL pass)")
def test_statements_stay_prepared_across_read_only_requests_on_postgresql(app, customer_client):
    for _ in range(8):  # psycopg prepares a statement on its fifth execution on a connection
        assert customer_client.get("/cc/orders/").status_code == 200
    with db.engine.connect() as conn:  # the pool's one connection, as the requests left it
        prepared = conn.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    assert any("FROM ab_user" in s for s in prepared), prepared
    assert any("FROM repair_order" in s for s in prepared), prepared

"""How a request's transaction ends: a request that only read commits (PostgreSQL keeps the statements
psycopg prepared), one that wrote without committing, failed or left changes is rolled back."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select, text, update

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


def test_what_needs_a_transaction():
    from app.transactions import needs_transaction

    assert not needs_transaction("SELECT repair_order.id FROM repair_order WHERE company_id = %(c)s")
    assert not needs_transaction("  select count(*) from repair_order")
    for statement in ("INSERT INTO company (name) VALUES (%(name)s)", "UPDATE company SET name = 'x'",
                      "DELETE FROM company", "SAVEPOINT sa_savepoint_1", "WITH x AS (DELETE FROM t) SELECT 1",
                      "SELECT company.id FROM company WHERE company.id = 1 FOR UPDATE",
                      "SELECT company.id FROM company FOR NO KEY UPDATE SKIP LOCKED",
                      "SELECT id FROM company FOR SHARE", "SELECT pg_advisory_xact_lock(42)"):
        assert needs_transaction(statement), statement


@pytest.fixture
def transaction_states(app):
    """(statement, PostgreSQL's transaction status right after it) of every statement the app sends,
    and ("COMMIT", None) where a transaction is committed."""
    seen = []

    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append((" ".join(statement.split()), cursor.connection.info.transaction_status.name))

    def commit(conn):
        seen.append(("COMMIT", None))

    event.listen(db.engine, "after_cursor_execute", after)
    event.listen(db.engine, "commit", commit)
    yield seen
    event.remove(db.engine, "after_cursor_execute", after)
    event.remove(db.engine, "commit", commit)


@pytest.mark.skipif(BACKEND != "postgresql", reason="psycopg's transactions (runs in the PostgreSQL pass)")
def test_a_read_only_request_opens_no_transaction_and_a_write_runs_in_one(app, customer_client, transaction_states):
    assert customer_client.get("/cc/orders/").status_code == 200
    assert transaction_states and {state for _, state in transaction_states} <= {"IDLE", None}, transaction_states

    transaction_states.clear()
    data = new_order_data("TX-1", [dict(article_number="A-1", description="Messgerät", serial_number="SN-TX1",
                                        quantity="1", fault_description="Display dunkel")])
    assert customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data").status_code == 302
    log = "\n".join(map(str, transaction_states))
    first_write = next(i for i, (statement, _) in enumerate(transaction_states) if statement.startswith("UPDATE"))
    commit = transaction_states.index(("COMMIT", None))
    # the order's reads ran without a transaction; from its first write up to the commit it is one
    assert {state for _, state in transaction_states[:first_write]} == {"IDLE"}, log
    assert first_write < commit - 3 and {state for _, state in transaction_states[first_write:commit]} == {"INTRANS"}, log
    assert any(statement.startswith("INSERT INTO repair_order") for statement, _ in transaction_states[first_write:commit]), log
    db.session.expire_all()
    assert db.session.scalar(select(Order.reference).where(Order.reference == "TX-1")) == "TX-1"

    # the pool's connection is back to reading without a transaction for the next request
    transaction_states.clear()
    assert "TX-1" in page_text(customer_client.get("/cc/orders/"))
    assert {state for _, state in transaction_states} <= {"IDLE", None}, transaction_states


@pytest.mark.skipif(BACKEND != "postgresql", reason="psycopg's transactions (runs in the PostgreSQL pass)")
def test_a_locking_read_in_a_request_holds_its_lock_until_the_request_ends(probe_app, transaction_states):
    company_id = probe_app.probe_company_id

    def locks():
        db.session.execute(select(Company.id).where(Company.id == company_id).with_for_update())
        with db.engine.connect() as other:  # another connection cannot take the same lock meanwhile
            other.execute(text("SET lock_timeout = '100ms'"))
            try:
                other.execute(select(Company.id).where(Company.id == company_id).with_for_update())
            except Exception as exc:  # noqa: BLE001 - the lock is held
                return type(exc.orig).__name__
        return "not locked"

    probe_app.add_url_rule("/probe/locks", "locks", locks)
    response = probe_app.test_client().get("/probe/locks")
    assert response.get_data(as_text=True) == "LockNotAvailable"
    assert [state for statement, state in transaction_states if "FOR UPDATE" in statement][0] == "INTRANS"


@pytest.mark.skipif(BACKEND != "postgresql", reason="psycopg's transactions (runs in the PostgreSQL pass)")
def test_a_connection_asked_for_in_autocommit_keeps_it(app, probe_app):
    """A VACUUM needs autocommit: a connection asked for that way is never moved into a transaction,
    in a request or outside one (the commands, the benchmark's reset)."""
    def vacuum():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE) company")
            return conn.connection.dbapi_connection.info.transaction_status.name

    assert vacuum() == "IDLE"
    probe_app.add_url_rule("/probe/vacuum", "vacuum", vacuum)
    response = probe_app.test_client().get("/probe/vacuum")
    assert response.status_code == 200 and response.get_data(as_text=True) == "IDLE"

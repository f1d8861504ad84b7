"""The device register's rules below the views: search, warranty of new articles, history, repeat repairs."""
from __future__ import annotations

import datetime as dt

from app.extensions import db
from app.models import Device, OrderStatus, utcnow
from app.services import devices
from app.services.orders import change_status
from tests import factories
from tests.helpers import today


def _device(company, serial, **kw):
    device = Device(company_id=company.id, serial_number=serial, description=kw.pop("description", "Messgerät"),
                    **kw)
    db.session.add(device)
    db.session.commit()
    return device


def _order(company, user, serial):
    from app.services.orders import create_portal_order

    order = create_portal_order(company, user, reference="R", items=[
        dict(description="Messgerät", serial_number=serial, quantity=1, fault_description="dunkel")])
    db.session.commit()
    return order


def test_search_is_scoped_and_starts_first(app, company_a, company_b):
    _device(company_a, "XB-100")
    _device(company_a, "AB-XB-7")
    _device(company_a, "XB-200", active=False)
    _device(company_a, "QQ-XB-9", active=False)
    _device(company_b, "XB-999")
    _device(company_b, "ZZ-XB-2")
    found = [d.serial_number for d in devices.search(company_a.id, "xb")]
    assert found == ["XB-100", "AB-XB-7"]  # prefix first; retired and other companies' never
    assert devices.search(company_a.id, "%") == [] and devices.search(company_a.id, "_") == []
    assert devices.search(company_b.id, "XB-1") == []


def test_new_articles_get_the_warranty_of_the_register(app, company_a, customer_a):
    _device(company_a, "SN-IN", warranty_until=today() + dt.timedelta(days=30))
    _device(company_a, "SN-OUT", warranty_until=today() - dt.timedelta(days=1))
    _device(company_a, "SN-UNKNOWN")
    states = {}
    for serial in ("SN-IN", "SN-OUT", "SN-UNKNOWN", "SN-NOT-REGISTERED"):
        item = _order(company_a, customer_a, serial).items[0]
        states[serial] = (item.in_warranty, item.warranty_until)
    assert states["SN-IN"] == (True, today() + dt.timedelta(days=30))
    assert states["SN-OUT"] == (False, today() - dt.timedelta(days=1))
    assert states["SN-UNKNOWN"] == (None, None) and states["SN-NOT-REGISTERED"] == (None, None)


def test_history_and_repeat_repairs(app, company_a, company_b, customer_a, customer_b, staff_user):
    shipped = db.session.query(OrderStatus).filter_by(code="shipped_back").one()
    first = _order(company_a, customer_a, "SN-42")
    change_status(first, shipped, staff_user)
    db.session.commit()
    other_company = _order(company_b, customer_b, "SN-42")
    again = _order(company_a, customer_a, "SN-42")
    assert again.items[0].repeat_of_order_id == first.id
    assert other_company.items[0].repeat_of_order_id is None  # B's device is another device
    assert [o.id for _, o in devices.history("SN-42", company_a.id)] == [again.id, first.id]
    assert {o.id for _, o in devices.history("SN-42", None)} == {first.id, again.id, other_company.id}

    # shipped back longer ago than REPEAT_REPAIR_DAYS: no repeat repair
    for change in first.status_changes:
        change.changed_at -= dt.timedelta(days=91)
    db.session.commit()
    assert _order(company_a, customer_a, "SN-42").items[0].repeat_of_order_id is None


def test_search_fills_up_with_serial_numbers_containing_the_text(app, company_a):
    for serial in ("ab-77-1", "AB-77-2", "X-AB-77", "Y-ab-77", "AB-78"):
        _device(company_a, serial)
    # those starting with the text, in any case, first; then those containing it, by serial number
    assert [d.serial_number for d in devices.search(company_a.id, "ab-77")] == [
        "AB-77-2", "ab-77-1", "X-AB-77", "Y-ab-77"]
    assert [d.serial_number for d in devices.search(company_a.id, "Ab-77", limit=3)] == [
        "AB-77-2", "ab-77-1", "X-AB-77"]
    assert [d.serial_number for d in devices.search(company_a.id, "7-2")] == ["AB-77-2"]
    # starting none, contained in five in either case ("-7" as typed narrows the walk first)
    assert [d.serial_number for d in devices.search(company_a.id, "b-7")] == [
        "AB-77-2", "AB-78", "X-AB-77", "Y-ab-77", "ab-77-1"]
    assert devices.search(company_a.id, "AB-77\x00") == []
    assert devices.search(company_a.id, "\U0010ffff") == []


def test_the_walk_through_a_large_register_reads_the_index_of_active_serial_numbers(app, company_a, company_b):
    """Serial numbers that contain the text elsewhere come from ix_device_active_serial alone: the
    walk's condition is spelled as the index's, so the database can answer it from the index.
    SQLite's planner takes it here. PostgreSQL's prefers it by cost on a live database, whose
    visibility map autovacuum keeps (the benchmark's register), and here is shown it can: with every
    plan that reads the table switched off, the walk still runs, from the index alone."""
    from sqlalchemy import event, insert

    rows = [dict(company_id=company.id, serial_number=f"SN{n:05d}", description="Messgerät", active=n % 10 != 0,
                 created_at=utcnow(), updated_at=utcnow())
            for company in (company_a, company_b) for n in range(3000)]
    db.session.execute(insert(Device), rows)
    db.session.commit()
    seen = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "JOIN (SELECT device.id" in statement:
            seen.append((statement, parameters))

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", keep)
    try:
        found = devices.search(company_a.id, "999")
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    # "999" starts no serial number: all of them come from the walk, and no retired one (SN00990 …)
    assert [d.serial_number for d in found] == ["SN00999", "SN01999", "SN02999"]
    [(statement, parameters)] = seen
    conn = db.session.connection()
    if engine.dialect.name == "sqlite":
        conn.exec_driver_sql("ANALYZE")
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    else:
        for kind in ("seqscan", "indexscan", "bitmapscan"):
            conn.exec_driver_sql(f"SET LOCAL enable_{kind} = off")
        plan = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    db.session.rollback()
    plan = " ".join(str(row[-1]) for row in plan)
    if engine.dialect.name == "sqlite":
        assert "SEARCH device USING INDEX ix_device_active_serial (company_id=?)" in plan, plan
    else:
        assert "Index Only Scan using ix_device_active_serial" in plan, plan

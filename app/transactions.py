"""How a request's database transaction ends.

A request that only read ends its transaction with COMMIT instead of the ROLLBACK that closing the
session sends. For a transaction that changed nothing both end it the same way, but psycopg forgets
every statement it prepared on the connection at a ROLLBACK (its guard against types dropped in a
rolled-back transaction). With the ROLLBACK at the end of every request no statement ever stayed
prepared, and PostgreSQL planned each one again: the user's statement took 1.7 ms where the
prepared one takes 0.35 ms. A request that wrote, failed or left changes unflushed is rolled back as
before.
"""
from __future__ import annotations

from flask import Flask, g, has_app_context
from sqlalchemy import event

from app.extensions import db

_WROTE = "_sql_wrote"


def _note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    """Anything but a SELECT counts as a write (DML, DDL, a CTE that might write, SAVEPOINT)."""
    if not statement.lstrip()[:6].upper() == "SELECT" and has_app_context():
        setattr(g, _WROTE, True)


def _end_read_only_transaction(exc) -> None:
    if exc is not None or g.get(_WROTE) or not db.session.registry.has():
        return  # the session's close rolls it back
    session = db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    try:
        session.commit()
    except Exception:  # noqa: BLE001 - whatever it was, the close below rolls back
        session.rollback()


def install_transaction_ending(app: Flask) -> None:
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _note_writes)
    # teardown functions run in reverse order: this one before Flask-SQLAlchemy's session close
    app.teardown_appcontext(_end_read_only_transaction)

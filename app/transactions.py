"""How a request's database transaction begins and ends.

**Begin (PostgreSQL): at the first write.** A request reads without a transaction, and one begins
right before its first statement that writes or locks. psycopg outside autocommit sends ``BEGIN`` as
a round trip of its own before the first statement, and the transaction's end is another: two round
trips on top of a page's three to seven statements, each costing up to a millisecond when the
database shares the app's CPUs. Reading outside a transaction sees what PostgreSQL's default
isolation (READ COMMITTED) shows inside one: every statement its own snapshot of what is committed.
Everything that changes data (an INSERT, UPDATE, DELETE, a SAVEPOINT, a ``SELECT … FOR UPDATE``, an
advisory lock) and a streamed read (a server-side cursor) runs in a transaction as before, from the
statement that needs it to the request's commit or rollback. Outside a request (the worker, the
command line, migrations, the work after a response) connections keep an ordinary transaction from
their first statement.

**End: COMMIT for a request that only read.** Closing the session sends ROLLBACK, and psycopg
forgets every statement it prepared on the connection at a ROLLBACK (its guard against types dropped
in a rolled-back transaction). With the ROLLBACK at the end of every request no statement ever
stayed prepared, and PostgreSQL planned each one again: the user's statement took 1.7 ms where the
prepared one takes 0.35 ms. A request that only read therefore ends with a commit (nothing to send
when it never began a transaction). A request that wrote, failed or left changes unflushed is rolled
back as before.
"""
from __future__ import annotations

import re

from flask import Flask, g, has_app_context, has_request_context
from sqlalchemy import event

from app.extensions import db

_WROTE = "_sql_wrote"
# a SELECT that takes locks needs the transaction that holds them
_LOCKING = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b|\bpg_advisory", re.IGNORECASE)


def needs_transaction(statement: str) -> bool:
    """Anything but a plain SELECT: DML, DDL, a CTE that might write, SAVEPOINT, a locking read."""
    return statement.lstrip()[:6].upper() != "SELECT" or _LOCKING.search(statement) is not None


def _note_writes(conn, cursor, statement, parameters, context, executemany) -> bool:
    """Mark the request as one that wrote (it ends with a rollback unless it committed); whether
    the statement needs a transaction."""
    needs = needs_transaction(statement)
    if needs and has_app_context():
        setattr(g, _WROTE, True)
    return needs


def _note_writes_and_begin(conn, cursor, statement, parameters, context, executemany) -> None:
    """psycopg: as ``_note_writes``, and leave autocommit before the first statement that needs a
    transaction; psycopg then sends BEGIN ahead of it, and the session's commit or rollback ends it."""
    needs = _note_writes(conn, cursor, statement, parameters, context, executemany)
    dbapi_connection = cursor.connection
    if dbapi_connection.autocommit and (needs or _is_server_cursor(cursor)) \
            and conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        dbapi_connection.autocommit = False  # (a connection asked for in autocommit, for a VACUUM, keeps it)


def _is_server_cursor(cursor) -> bool:
    """A streamed read (``yield_per``: the exports) runs in a server-side cursor, which PostgreSQL
    keeps only inside a transaction."""
    from psycopg import ServerCursor

    return isinstance(cursor, ServerCursor)


def _read_without_transaction(dbapi_connection, connection_record, connection_proxy) -> None:
    """psycopg, at checkout: a request's connection starts in autocommit; anything else does not."""
    from psycopg.pq import TransactionStatus

    if dbapi_connection.info.transaction_status == TransactionStatus.IDLE:
        dbapi_connection.autocommit = has_request_context()


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


def install_transactions(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "checkout", _read_without_transaction)
        event.listen(engine, "before_cursor_execute", _note_writes_and_begin)
    else:
        event.listen(engine, "before_cursor_execute", _note_writes)
    # teardown functions run in reverse order: this one before Flask-SQLAlchemy's session close
    app.teardown_appcontext(_end_read_only_transaction)

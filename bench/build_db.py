"""Build (or reuse) a benchmark database with bulk inserts.

The schema comes from the app's migrations and the app's own setup (permissions,
roles, statuses), the few accounts the benchmark logs in with are made by
``app.services.accounts.create_user``; everything else (companies, one employee per
company, orders, articles, status history) is bulk-inserted on the raw DBAPI
connection: ``executemany`` on SQLite, ``COPY`` on PostgreSQL, with the secondary
indexes dropped during the load and rebuilt afterwards.

SQLite (default): ``bench/data/bench-<name>-<key>.db``. PostgreSQL: with
``DATABASE_URL`` set, the databases ``<db>_bench_<name>`` are (re)created on that
server; the database named in ``DATABASE_URL`` itself is never touched.

A built database is reused while its key (generator version, sizes, migrations)
is unchanged::

    python -m bench.build_db            # both databases of `make bench`
    python -m bench.build_db --force    # rebuild
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.services.turnaround import add_working_days  # noqa: E402  (a pure function)

# Bump when the generated data changes: a cached database with another version is rebuilt.
VERSION = "7"  # 5: due dates and completion times; 6: orders older than OPEN_DAYS are done; 7: devices
OPEN_DAYS = 90
TURNAROUND_DAYS = 10  # config.py's default promise
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR") or (Path(__file__).resolve().parent / "data"))
PASSWORD = "Bench-Password-1234"
SECRET_KEY = "bench-secret-key"  # the load run's gunicorn workers and its client share it
BATCH = 20_000


@dataclass(frozen=True)
class Shape:
    """The size of a benchmark database."""

    companies: int
    orders: int
    big_orders: int  # orders of company 1, the "10,000-order company"
    login_companies: int = 6  # companies 1..n get a company admin and an employee made by create_user
    span_days: int = 3 * 365  # orders are spread over this many days up to now
    seed: int = 20261126

    def validate(self) -> None:
        if not (self.companies >= self.login_companies >= 1):
            raise ValueError("companies must be >= login_companies >= 1")
        if not (0 < self.big_orders <= self.orders):
            raise ValueError("0 < big_orders <= orders")


# `make bench`: the main database and the one for the growth figures (same generator, 1/100 of the orders)
SHAPES = {
    "1m": Shape(companies=100_000, orders=1_000_000, big_orders=10_000),
    "10k": Shape(companies=1_000, orders=10_000, big_orders=1_000),
}

DEVICES = ["Messgerät MX-200", "Flow meter FL-10", "Pumpe P-778", "Sensor S-4", "Steuerung C-12",
           "Display D-7", "Netzteil N-300", "Ventil V-55", "Waage W-2", "Analyzer A-90"]
FAULTS = ["Display bleibt dunkel", "No reading after power-up", "Rauscht stark", "Leaks at the seal",
          "Fehlercode E17", "Intermittent reset", "Kalibrierung weicht ab", "Broken housing"]
CITIES = [("80331", "München"), ("10115", "Berlin"), ("20095", "Hamburg"), ("50667", "Köln"),
          ("BS1 4DJ", "Bristol"), ("1010", "Wien"), ("8001", "Zürich"), ("70173", "Stuttgart")]
FIRST = ["Anna", "Jonas", "Emma", "Oliver", "Lena", "Paul", "Mia", "Felix", "Sophie", "Lukas"]
LAST = ["Müller", "Weber", "Clark", "Hughes", "Schmidt", "Fischer", "Wagner", "Becker", "Hoffmann", "Koch"]


def log(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


def migrations_hash() -> str:
    h = hashlib.sha256()
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:10]


def cache_key(shape: Shape) -> str:
    return f"v{VERSION}-c{shape.companies}-o{shape.orders}-b{shape.big_orders}-m{migrations_hash()}"


def key_value(key: str) -> int:
    """The key as a number for the ``counter`` table (marks a completed build)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:7], 16)


def app_config(url: str, workdir: Path | None = None, **extra) -> dict:
    workdir = Path(workdir or DATA_DIR)
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_DIR": str(workdir / "instance"),
        "UPLOAD_FOLDER": str(workdir / "uploads"),
        "SECRET_KEY": SECRET_KEY,
        "FAB_UPDATE_PERMS": False,
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
    }
    config.update(extra)
    return config


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def pg_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- 1. schema and the app's setup -------------------------------------------------------------
def setup_schema(app) -> None:
    """What `flask db upgrade` + `flask portal setup` do (as tests/conftest.py)."""
    from flask_migrate import upgrade

    from app.cli import setup_installation
    from app.extensions import db

    with app.app_context():
        upgrade()
        setup_installation()
        db.session.remove()


def make_accounts(app, shape: Shape) -> dict:
    """Companies 1..login_companies and the accounts the benchmark logs in with (ORM, create_user)."""
    import logging

    from sqlalchemy import select

    from app.extensions import db
    from app.models import Company, OrderStatus
    from app.security import roles
    from app.services.accounts import create_user, hash_password

    # FAB's logger is chatty about every user it creates
    logging.getLogger("flask_appbuilder").setLevel(logging.WARNING)
    accounts: dict = {"companies": {}}
    with app.app_context():
        created = dt.datetime(2020, 1, 1)
        for c in range(1, shape.login_companies + 1):
            db.session.add(company_object(Company, c, created))
        db.session.flush()
        staff, _ = create_user(email="staff@bench.example", first_name="Sabine", last_name="Service",
                               role_name=roles.STAFF, password=PASSWORD)
        admin, _ = create_user(email="admin@bench.example", first_name="Ada", last_name="Admin",
                               role_name=roles.ADMIN, password=PASSWORD)
        accounts["staff"] = {"id": staff.id, "email": staff.email}
        accounts["admin"] = {"id": admin.id, "email": admin.email}
        for c in range(1, shape.login_companies + 1):
            company = db.session.get(Company, c)
            pair = {}
            for role, kind in ((roles.COMPANY_ADMIN, "admin"), (roles.CUSTOMER, "employee")):
                n = c * 2 + (kind == "employee")
                user, _ = create_user(email=f"{kind}{c}@company{c}.bench.example",
                                      first_name=FIRST[n % len(FIRST)], last_name=LAST[(n * 3) % len(LAST)],
                                      role_name=role, company=company, password=PASSWORD)
                pair[kind] = {"id": user.id, "email": user.email,
                              "name": f"{user.first_name} {user.last_name}"}
            accounts["companies"][c] = pair
        db.session.commit()
        accounts["roles"] = {r.name: r.id for r in app.appbuilder.sm.get_all_roles()}
        accounts["statuses"] = {s.code: s.id for s in db.session.scalars(select(OrderStatus))}
        accounts["bulk_password_hash"] = hash_password(secrets.token_urlsafe(24))  # nobody logs in
        db.session.remove()
        db.engine.dispose()
    return accounts


def company_values(c: int) -> dict:
    postcode, city = CITIES[c % len(CITIES)]
    return dict(
        customer_number=f"KD-{c:05d}",
        name=f"{LAST[c % len(LAST)]} {['GmbH', 'AG', 'Ltd', 'KG'][c % 4]} {c:06d}",
        street=f"Industriestraße {c % 200 + 1}",
        postcode=postcode,
        city=city,
        country="Deutschland" if c % 5 else "United Kingdom",
        phone=f"+49 30 {c:07d}",
        email=f"service@company{c}.bench.example",
        vat_id=f"DE{c:09d}",
    )


def company_object(Company, c: int, created: dt.datetime):
    return Company(id=c, active=True, created_at=created, **company_values(c))


# -- 2. bulk rows ------------------------------------------------------------------------------
COMPANY_COLS = ("id", "customer_number", "name", "street", "postcode", "city", "country", "phone", "email",
                "vat_id", "active", "created_at")
USER_COLS = ("id", "first_name", "last_name", "username", "password", "active", "email", "login_count",
             "fail_login_count", "created_on", "changed_on", "company_id", "language", "page_size",
             "must_change_password")
USER_ROLE_COLS = ("id", "user_id", "role_id")
ORDER_COLS = ("id", "rma_number", "company_id", "source", "reference", "customer_name", "contact_person",
              "street", "postcode", "city", "country", "email", "phone", "status_id", "item_count",
              "created_by_id", "created_at", "updated_at", "due_date", "completed_at")
ITEM_COLS = ("id", "order_id", "company_id", "article_number", "description", "serial_number", "quantity",
             "fault_description")
DEVICE_COLS = ("id", "company_id", "serial_number", "article_number", "description", "delivered_on",
               "warranty_until", "location", "note", "active", "created_at", "updated_at")
CHANGE_COLS = ("id", "order_id", "company_id", "from_status_id", "to_status_id", "changed_by_id", "changed_at",
               "note")


class Generator:
    """Deterministic rows for one shape. Datetimes go through ``fmt`` (text on SQLite)."""

    def __init__(self, shape: Shape, accounts: dict, now: dt.datetime, fmt: Callable, boolean: Callable):
        self.shape, self.accounts, self.now, self.fmt, self.bool = shape, accounts, now, fmt, boolean
        self.rng = random.Random(shape.seed)
        self.first_bulk_user = max(
            [accounts["staff"]["id"], accounts["admin"]["id"]]
            + [u["id"] for pair in accounts["companies"].values() for u in pair.values()]) + 1
        self.items = 0
        self.changes = 0
        self.counters: dict[int, int] = {}
        self.big_newest: list[tuple[int, int, int]] = []  # (order id, items, changes) of company 1
        self.big_ids: list[int] = []  # every order id of company 1
        self.devices_made = 0

    # company c > login_companies has one employee, bulk user id:
    def bulk_user_id(self, c: int) -> int:
        return self.first_bulk_user + (c - self.shape.login_companies - 1)

    def companies(self) -> Iterator[tuple]:
        created = self.fmt(dt.datetime(2020, 1, 1))
        for c in range(self.shape.login_companies + 1, self.shape.companies + 1):
            v = company_values(c)
            yield (c, v["customer_number"], v["name"], v["street"], v["postcode"], v["city"], v["country"],
                   v["phone"], v["email"], v["vat_id"], self.bool(True), created)

    def users(self) -> Iterator[tuple]:
        pw = self.accounts["bulk_password_hash"]
        created = self.fmt(dt.datetime(2020, 1, 1))
        for c in range(self.shape.login_companies + 1, self.shape.companies + 1):
            email = f"employee{c}@company{c}.bench.example"
            yield (self.bulk_user_id(c), FIRST[c % len(FIRST)], LAST[(c * 7) % len(LAST)], email, pw,
                   self.bool(True), email, 0, 0, created, created, c, "de", 25, self.bool(False))

    def user_roles(self, first_id: int) -> Iterator[tuple]:
        role = self.accounts["roles"]["Customer"]
        for i, c in enumerate(range(self.shape.login_companies + 1, self.shape.companies + 1)):
            yield (first_id + i, self.bulk_user_id(c), role)

    def creator(self, c: int, n: int) -> tuple[int, str]:
        if c <= self.shape.login_companies:
            pair = self.accounts["companies"][c] if c in self.accounts["companies"] \
                else self.accounts["companies"][str(c)]
            u = pair["admin" if n % 2 == 0 else "employee"]
            return u["id"], u["name"]
        return self.bulk_user_id(c), f"{FIRST[c % len(FIRST)]} {LAST[(c * 7) % len(LAST)]}"

    def orders(self, items_out: list, changes_out: list) -> Iterator[tuple]:
        """Order rows in id (= time) order; fills the article and history rows of each order into
        ``items_out``/``changes_out`` (drained by the caller between batches)."""
        shape, rng, fmt = self.shape, self.rng, self.fmt
        st = self.accounts["statuses"]
        received, in_review = st["received"], st["in_review"]
        later = [st[c] for c in ("estimate_sent", "in_repair", "shipped_back", "closed", "rejected")]
        closed, rejected = st["closed"], st["rejected"]
        final = {closed, rejected}
        # dates: text on SQLite (as SQLAlchemy stores them), date objects for PostgreSQL
        day = (lambda d: d.isoformat()) if isinstance(fmt(dt.datetime(2000, 1, 1)), str) else (lambda d: d)
        staff_id = self.accounts["staff"]["id"]
        big = set(rng.sample(range(shape.orders), shape.big_orders))
        self.big_ids = sorted(i + 1 for i in big)
        others = shape.companies - 1
        start = self.now - dt.timedelta(days=shape.span_days)
        step = (self.now - start) / shape.orders
        company_cache: dict[int, dict] = {}
        for i in range(shape.orders):
            oid = i + 1
            created = start + step * i
            c = 1 if i in big else (2 + rng.randrange(others) if others else 1)
            v = company_cache.get(c)
            if v is None:
                v = company_cache[c] = company_values(c)
                if len(company_cache) > 50_000:
                    company_cache.clear()
            creator_id, creator_name = self.creator(c, i)
            year = created.year
            n = self.counters.get(year, 0) + 1
            self.counters[year] = n
            # history: received -> in review -> one later status (1..3 steps); the last one is current.
            # Orders older than OPEN_DAYS are done (closed, some rejected), as in a real installation:
            # open orders are the recent ones, so "overdue" is a working list, not two thirds of all
            if created < self.now - dt.timedelta(days=OPEN_DAYS):
                k = 3
                path = [received, in_review, closed if rng.random() < 0.9 else rejected]
            else:
                k = rng.randint(1, 3)
                path = [received, in_review, rng.choice(later)][:k]
            t = created
            prev = None
            for j, to in enumerate(path):
                self.changes += 1
                if j:
                    t = min(t + dt.timedelta(hours=rng.randint(1, 96)), self.now)
                changes_out.append((self.changes, oid, c, prev, to, creator_id if j == 0 else staff_id, fmt(t), None))
                prev = to
            count = rng.randint(1, 5)
            for j in range(count):
                self.items += 1
                items_out.append((self.items, oid, c, f"A-{rng.randint(1000, 9999)}", DEVICES[rng.randrange(10)],
                                  f"SN{oid:07d}{j}", rng.randint(1, 3), FAULTS[rng.randrange(len(FAULTS))]))
            if c == 1:
                self.big_newest.append((oid, count, k))
                if len(self.big_newest) > 200:
                    del self.big_newest[:100]
            yield (oid, f"RMA-{year}-{n:06d}", c, "portal", f"PO-{c}-{i % 100000:05d}", v["name"], creator_name,
                   v["street"], v["postcode"], v["city"], v["country"], v["email"], v["phone"], path[-1], count,
                   creator_id, fmt(created), fmt(t),
                   # the promise as the services set it: TURNAROUND_DAYS working days; completed when final
                   day(add_working_days(created.date(), TURNAROUND_DAYS)), fmt(t) if path[-1] in final else None)


    def devices(self) -> Iterator[tuple]:
        """As many devices as orders: company 1 one per order, the serial number of the order's first
        article (so its service history has an order); the other companies share the rest evenly."""
        shape, fmt = self.shape, self.fmt
        rng = random.Random(shape.seed + 1)
        day = (lambda d: d.isoformat()) if isinstance(fmt(dt.datetime(2000, 1, 1)), str) else (lambda d: d)
        created = fmt(dt.datetime(2020, 1, 1))
        today = self.now.date()
        others = shape.companies - 1
        rest = shape.orders - len(self.big_ids)
        per, extra = divmod(rest, others) if others else (0, 0)

        def row(c: int, serial: str) -> tuple:
            self.devices_made += 1
            delivered = today - dt.timedelta(days=rng.randint(0, 5 * 365))
            warranty = None if rng.random() < 0.1 else delivered + dt.timedelta(days=2 * 365)
            return (self.devices_made, c, serial, f"A-{rng.randint(1000, 9999)}", DEVICES[rng.randrange(10)],
                    day(delivered), day(warranty) if warranty else None, f"Kostenstelle {rng.randint(100, 999)}",
                    None, self.bool(rng.random() < 0.95), created, created)

        for oid in self.big_ids:
            yield row(1, f"SN{oid:07d}0")
        for k, c in enumerate(range(2, shape.companies + 1)):
            for j in range(per + (1 if k < extra else 0)):
                yield row(c, f"SN{c:06d}-{j:02d}")


# -- 3. loaders ----------------------------------------------------------------------------------
def batched(rows: Iterable[tuple], size: int = BATCH) -> Iterator[list[tuple]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class SqliteLoader:
    def __init__(self, path: Path):
        import sqlite3

        self.conn = sqlite3.connect(str(path), isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-400000",
                       "temp_store=MEMORY", "locking_mode=EXCLUSIVE"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.indexes: list[tuple[str, str]] = []

    fmt = staticmethod(lambda d: d.isoformat(" ", "microseconds"))  # SQLAlchemy's SQLite DateTime format
    boolean = staticmethod(lambda b: 1 if b else 0)

    def begin(self, tables: tuple[str, ...]) -> None:
        marks = ",".join("?" * len(tables))
        self.indexes = self.conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            tables).fetchall()
        for name, _ in self.indexes:
            self.conn.execute(f'DROP INDEX "{name}"')
        self.conn.execute("BEGIN")

    def insert(self, table: str, cols: tuple[str, ...], rows: Iterable[tuple]) -> None:
        sql = f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})"
        for batch in batched(rows):
            self.conn.executemany(sql, batch)

    def execute(self, sql: str, params: tuple = ()) -> list:
        return self.conn.execute(sql.replace("%s", "?"), params).fetchall()

    def finish(self, analyze: bool) -> None:
        self.conn.execute("COMMIT")
        for _, sql in self.indexes:
            self.conn.execute(sql)
        if analyze:
            self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA locking_mode=NORMAL")
        self.conn.execute("SELECT COUNT(*) FROM counter").fetchall()  # releases the exclusive lock
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.close()


class PostgresLoader:
    def __init__(self, url: str):
        import psycopg

        self.conn = psycopg.connect(pg_conninfo(url))
        self.indexes: list[tuple[str, str]] = []
        self.tables: tuple[str, ...] = ()

    fmt = staticmethod(lambda d: d)
    boolean = staticmethod(lambda b: b)

    def begin(self, tables: tuple[str, ...]) -> None:
        self.tables = tables
        with self.conn.cursor() as cur:
            # secondary indexes only: primary keys and unique constraints stay
            cur.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conname = i.indexname)", (list(tables),))
            self.indexes = cur.fetchall()
            for name, _ in self.indexes:
                cur.execute(f'DROP INDEX "{name}"')
            try:  # skip the FK triggers during the load (needs superuser; the data is consistent by construction)
                cur.execute("SAVEPOINT rr")
                cur.execute("SET LOCAL session_replication_role = replica")
                cur.execute("RELEASE SAVEPOINT rr")
            except Exception:
                cur.execute("ROLLBACK TO SAVEPOINT rr")

    def insert(self, table: str, cols: tuple[str, ...], rows: Iterable[tuple]) -> None:
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({','.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def execute(self, sql: str, params: tuple = ()) -> list:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def finish(self, analyze: bool) -> None:
        with self.conn.cursor() as cur:
            for table in self.tables:
                if table == "counter":  # keyed by name, no sequence
                    continue
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
            for _, sql in self.indexes:
                cur.execute(sql)
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE")  # what autovacuum does on a live server
        self.conn.close()


# -- 4. build ------------------------------------------------------------------------------------
BULK_TABLES = ("company", "ab_user", "ab_user_role", "repair_order", "order_item", "status_change", "device",
               "counter")


def build(url: str, shape: Shape, workdir: Path | None = None, analyze: bool | None = None,
          quiet: bool = False) -> dict:
    """Create the schema in the empty database ``url`` and fill it. Returns the meta data."""
    from app import create_app

    shape.validate()
    say = (lambda m: None) if quiet else log
    t0 = time.perf_counter()
    app = create_app(app_config(url, workdir))
    setup_schema(app)
    accounts = make_accounts(app, shape)
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    t_setup = time.perf_counter() - t0
    say(f"schema, setup and {2 + 2 * shape.login_companies} accounts: {t_setup:.1f} s")

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    loader = SqliteLoader(sqlite_path(url)) if is_sqlite(url) else PostgresLoader(url)
    gen = Generator(shape, accounts, now, loader.fmt, loader.boolean)
    loader.begin(BULK_TABLES)
    loader.insert("company", COMPANY_COLS, gen.companies())
    loader.insert("ab_user", USER_COLS, gen.users())
    first_ur = (loader.execute("SELECT COALESCE(MAX(id), 0) FROM ab_user_role")[0][0] or 0) + 1
    loader.insert("ab_user_role", USER_ROLE_COLS, gen.user_roles(first_ur))
    t1 = time.perf_counter()
    items: list[tuple] = []
    changes: list[tuple] = []
    order_sql_rows = gen.orders(items, changes)
    for batch in batched(order_sql_rows):
        loader.insert("repair_order", ORDER_COLS, batch)
        loader.insert("order_item", ITEM_COLS, items)
        loader.insert("status_change", CHANGE_COLS, changes)
        items.clear()
        changes.clear()
    t_rows = time.perf_counter() - t1
    say(f"{shape.orders:,} orders, {gen.items:,} articles, {gen.changes:,} status changes: {t_rows:.1f} s")
    t1 = time.perf_counter()
    loader.insert("device", DEVICE_COLS, gen.devices())
    say(f"{gen.devices_made:,} devices: {time.perf_counter() - t1:.1f} s")
    # RMA counters: new orders continue after the numbers used; customer numbers likewise
    for year, n in gen.counters.items():
        loader.execute("DELETE FROM counter WHERE name = %s", (f"rma-{year}",))
        loader.execute("INSERT INTO counter (name, value) VALUES (%s, %s)", (f"rma-{year}", n))
    loader.execute("DELETE FROM counter WHERE name = %s", ("customer",))
    loader.execute("INSERT INTO counter (name, value) VALUES (%s, %s)", ("customer", shape.companies))
    key = cache_key(shape)
    loader.execute("INSERT INTO counter (name, value) VALUES (%s, %s)", ("bench-build", key_value(key)))
    t2 = time.perf_counter()
    loader.finish(analyze if analyze is not None else not is_sqlite(url))
    say(f"indexes{' + analyze' if not is_sqlite(url) else ''}: {time.perf_counter() - t2:.1f} s")

    # the order the detail page shows: company 1's newest with 3 articles and 3 history entries
    detail = next((o for o, n_items, n_changes in reversed(gen.big_newest) if n_items == 3 and n_changes == 3),
                  gen.big_newest[-1][0])
    current_year = now.year
    meta = {
        "key": key,
        "url": url,
        "shape": asdict(shape),
        "built_at": now.isoformat(),
        "build_seconds": round(time.perf_counter() - t0, 1),
        "password": PASSWORD,
        "accounts": accounts | {"bulk_password_hash": None},
        "big_company_id": 1,
        "detail_order_id": detail,
        # a registered serial number of company 1 with its order (the service history's scenario)
        "device_serial": f"SN{detail:07d}0",
        "counts": {"companies": shape.companies, "orders": shape.orders, "items": gen.items,
                   "status_changes": gen.changes, "devices": gen.devices_made, "users": len(accounts["companies"]) * 2 + 2
                   + shape.companies - shape.login_companies},
        "reset_order": table_maxima(url),
        "rma_prefix": f"RMA-{current_year}-0000",
        "rma_counters": {str(y): n for y, n in gen.counters.items()},
    }
    say(f"built in {meta['build_seconds']:.1f} s")
    return json.loads(json.dumps(meta))  # as stored (string keys), the same for a new and a reused one


def table_maxima(url: str) -> list[tuple[str, int]]:
    """(table, max id) of every app table but FAB's ``ab_*``, dependent tables first: a benchmark run
    deletes the rows above these to leave the database as built."""
    from sqlalchemy import create_engine, inspect, text

    from app.extensions import db

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            out = []
            for table in reversed(db.metadata.sorted_tables):
                if table.name.startswith("ab_") or table.name not in names or "id" not in table.c:
                    continue
                out.append((table.name, conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar()))
            return out
    finally:
        engine.dispose()


# -- 5. cache ------------------------------------------------------------------------------------
def normalize_pg_url(url: str) -> str:
    """``DATABASE_URL`` as the app reads it (psycopg 3 driver), see config.database_url."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def pg_database_url(base_url: str, name: str) -> str:
    """The bench database ``<db>_bench_<name>`` on the server of ``base_url``."""
    from sqlalchemy.engine import make_url

    base = make_url(normalize_pg_url(base_url))
    return base.set(database=f"{base.database or 'postgres'}_bench_{name}").render_as_string(hide_password=False)


def _pg_admin(url: str, sql: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(url).set(database="postgres")
    with psycopg.connect(pg_conninfo(admin.render_as_string(hide_password=False)), autocommit=True) as conn:
        conn.execute(sql)


def _built_marker(url: str) -> int | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT value FROM counter WHERE name = 'bench-build'")).scalar()
    except Exception:
        return None
    finally:
        engine.dispose()


def ensure(name: str, shape: Shape | None = None, force: bool = False, database_url: str | None = None) -> dict:
    """The meta data of database ``name``, built when missing or stale."""
    shape = shape or SHAPES[name]
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = cache_key(shape)
    database_url = database_url if database_url is not None else os.environ.get("DATABASE_URL")
    if database_url:
        url = pg_database_url(database_url, name)
        meta_path = DATA_DIR / f"pg-{name}-{hashlib.sha256(url.encode()).hexdigest()[:8]}.json"
    else:
        path = DATA_DIR / f"bench-{name}-{key}.db"
        url = f"sqlite:///{path}"
        meta_path = path.with_suffix(".json")
    if not force and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("key") == key and _built_marker(url) == key_value(key):
            log(f"database {name}: reusing {url.rsplit('@', 1)[-1]} (built in {meta['build_seconds']} s)")
            meta["reused"] = True
            return meta
    log(f"database {name}: building {shape.orders:,} orders / {shape.companies:,} companies "
        f"(company 1: {shape.big_orders:,} orders) ...")
    if database_url:
        dbname = url.rsplit("/", 1)[1].split("?")[0]
        _pg_admin(url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        _pg_admin(url, f'CREATE DATABASE "{dbname}"')
        meta = build(url, shape)
    else:
        for old in DATA_DIR.glob(f"bench-{name}-*"):  # earlier versions of this database
            old.unlink()
        tmp = path.with_name(path.name + ".building")
        for suffix in ("", "-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
        meta = build(f"sqlite:///{tmp}", shape)
        os.replace(tmp, path)
        meta["url"] = url
    meta_path.write_text(json.dumps(meta, indent=1))
    meta["reused"] = False
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=list(SHAPES), help="databases to build: " + ", ".join(SHAPES))
    parser.add_argument("--force", action="store_true", help="rebuild even when a cached database fits")
    args = parser.parse_args(argv)
    for name in args.names:
        ensure(name, force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

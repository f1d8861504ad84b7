"""`make bench`: latency, SQL statements and memory of the portal on a 1,000,000-order database.

Every figure is measured through the real app (``create_app``) with Flask's test client:
``time.perf_counter()`` around one request, after warm-up, median (p50) and p95 of at least
``--n`` requests per scenario. SQL statements are counted per request with a
``before_cursor_execute`` listener on the app's engine. See bench/README.md.

    python -m bench.run                     # everything; writes bench/results.json
    python -m bench.run --profile staff_list # cProfile of a few requests of one scenario
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import build_db  # noqa: E402
from bench.build_db import PASSWORD, app_config, log  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results.json"
MB = 1024 * 1024
SLOW_S = 1.0  # a scenario whose first warm-up request takes longer gets no further warm-up
BUDGET_S = 45.0  # a scenario stops after this many seconds once it has MIN_N requests (only slow ones do)
# --budget; turn_every: with --paired, the other run's turn comes after this many timed requests too
SETTINGS = {"budget_s": BUDGET_S, "turn_every": 0}
RESULTS_PG = Path(__file__).resolve().parent / "results-postgresql.json"
MIN_N = 5
TURN_BLOCK = 10  # timed requests on one database before the other takes its turn (growth, --paired)
VANILLA_TIMEOUT_S = 60.0  # the plain FAB view runs in its own process, stopped after this
VANILLA_MEM_MB = 6144  # ... and with at most this much address space

# -- the app under test, plus the two reference pages ------------------------------------------------
FLOOR_TEMPLATE = """<!doctype html><title>orders</title><table>
<tr><th>RMA number</th><th>Reference</th><th>Date</th><th>Created by</th><th>Articles</th><th>Status</th></tr>
{% for r in rows %}<tr><td><a href="/cc/orders/{{ r.id }}">{{ r.rma_number }}</a></td><td>{{ r.reference or "" }}</td>
<td>{{ r.created_at.strftime("%d.%m.%y %H:%M") }}</td><td>{{ r.first_name or "" }} {{ r.last_name or "" }}</td>
<td>{{ r.item_count }}</td><td>{{ r.label_de }}</td></tr>
{% endfor %}</table><p>{{ total }} orders</p>"""


def install_floor(app) -> None:
    """``/bench/floor/<company>``: a bare Flask route (no FAB, no login) with the portal list's queries
    (the company's order count, its newest 25 orders with status and creator, the status list) in
    SQLAlchemy Core, rendered by a minimal Jinja table: what the page costs at the least."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import aliased

    from app.extensions import db
    from app.models import Order, OrderStatus, PortalUser

    template = app.jinja_env.from_string(FLOOR_TEMPLATE)

    def floor(company_id: int):
        creator = aliased(PortalUser)
        total = db.session.scalar(select(func.count()).select_from(Order).where(Order.company_id == company_id))
        db.session.execute(select(OrderStatus.id, OrderStatus.label_de).order_by(OrderStatus.position)).all()
        rows = db.session.execute(
            select(Order.id, Order.rma_number, Order.reference, Order.created_at, Order.item_count,
                   OrderStatus.label_de, creator.first_name, creator.last_name)
            .join(OrderStatus, Order.status_id == OrderStatus.id)
            .outerjoin(creator, Order.created_by_id == creator.id)
            .where(Order.company_id == company_id)
            .order_by(Order.created_at.desc(), Order.id.desc()).limit(25)
        ).all()
        return template.render(rows=rows, total=total)

    app.add_url_rule("/bench/floor/<int:company_id>", "bench_floor", floor)


def vanilla_view_class():
    """The staff list as a FAB user gets it: a plain ModelView with default settings."""
    from flask_appbuilder import ModelView
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from app.models import Order
    from app.views.backend import StaffOrderView

    class VanillaOrderView(ModelView):
        datamodel = SQLAInterface(Order)
        route_base = "/bench/vanilla"
        list_columns = list(StaffOrderView.list_columns)

    return VanillaOrderView


def grant_vanilla(app) -> None:
    """``can_list`` on the vanilla view for the Staff role (in the bench database only)."""
    from app.security import roles

    sm = app.appbuilder.sm
    with app.app_context():
        pvm = sm.add_permission_view_menu("can_list", "VanillaOrderView")
        role = sm.find_role(roles.STAFF)
        if pvm not in role.permissions:
            sm.add_permission_role(role, pvm)
        sm.session.commit()
        sm.session.remove()


def calibrate() -> float:
    """Milliseconds this machine takes for a fixed piece of pure Python (median of 7): the same
    code measured on another day or machine compares by this figure (this one varies up to 3x
    between days, for every scenario alike)."""
    times = []
    for _ in range(7):
        t = time.perf_counter()
        sum(i * i for i in range(300_000))
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


class _AloneBaton:
    """A run on its own never waits (see bench/paired.py for the run that takes turns)."""

    def turn(self) -> None:
        pass


BATON = _AloneBaton()


def turn() -> None:
    """The end of one scenario's measurement, or of a block of its requests: with ``--paired`` the
    other database's run measures the same now, while this one waits."""
    BATON.turn()


def quiet_logs() -> None:
    for name in ("flask_appbuilder", "alembic", "werkzeug"):
        logging.getLogger(name).setLevel(logging.ERROR)


class SqlCounter:
    def __init__(self):
        self.count = 0
        self.statements: list[str] | None = None

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        if self.statements is not None:
            self.statements.append(statement)


@dataclass
class Stats:
    name: str
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # this process's CPU time per request
    sql: list[int] = field(default_factory=list)
    statuses: set = field(default_factory=set)
    size: int = 0
    limited: bool = False  # stopped by the time budget before n requests

    @property
    def p50(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]

    def as_dict(self) -> dict:
        return {"p50_ms": round(self.p50, 2), "p95_ms": round(self.p95, 2), "min_ms": round(min(self.times_ms), 2),
                "cpu_p50_ms": round(statistics.median(self.cpu_ms), 2) if self.cpu_ms else None,
                "max_ms": round(max(self.times_ms), 2), "n": len(self.times_ms),
                "sql": max(self.sql) if self.sql else None, "sql_min": min(self.sql) if self.sql else None,
                "bytes": self.size, "status": sorted(self.statuses), "budget_limited": self.limited}


class Bench:
    """One app on one benchmark database, with a logged-in client per role."""

    def __init__(self, meta: dict, workdir: Path, extra: dict | None = None, vanilla: bool = True):
        from sqlalchemy import event

        from app import create_app
        from app.serving import freeze_startup_objects
        from app.extensions import db

        quiet_logs()
        self.meta = meta
        self.workdir = workdir
        self.app = create_app(app_config(meta["url"], workdir, **(extra or {})))
        quiet_logs()
        if vanilla:
            with self.app.app_context():
                self.app.appbuilder.add_view_no_menu(vanilla_view_class())
            grant_vanilla(self.app)
        install_floor(self.app)
        self.counter = SqlCounter()
        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self.counter)
        accounts = meta["accounts"]
        big = str(meta["big_company_id"])
        self.company_admin_email = accounts["companies"][big]["admin"]["email"]
        self.company_admin_id = accounts["companies"][big]["admin"]["id"]
        self.clients = {
            "company_admin": self.login(self.company_admin_email),
            "staff": self.login(accounts["staff"]["email"]),
            "anonymous": self.app.test_client(),
        }
        # as every app server does once it has built the app (gunicorn.conf.py, post_worker_init)
        freeze_startup_objects()

    def login(self, email: str):
        client = self.app.test_client()
        response = client.post("/login/", data={"username": email, "password": PASSWORD})
        location = response.headers.get("Location", "")
        if response.status_code != 302 or "/login" in location:
            raise RuntimeError(f"login as {email} failed: {response.status_code} {location}")
        return client

    def set_page_size(self, size: int) -> None:
        from sqlalchemy import update

        from app.extensions import db
        from app.models import PortalUser

        with self.app.app_context():
            db.session.execute(update(PortalUser).where(PortalUser.id == self.company_admin_id).values(page_size=size))
            db.session.commit()

    def request(self, who: str, method: str, url: str, **kwargs):
        self.counter.count = 0
        client = self.clients[who]
        c = time.process_time()
        t = time.perf_counter()
        response = client.open(url, method=method, **kwargs)
        elapsed = time.perf_counter() - t
        self.last_cpu = time.process_time() - c
        return response, elapsed, self.counter.count

    def measure(self, name: str, who: str, url: str, n: int, warmup: int, method: str = "GET",
                body: Callable[[], dict] | None = None, expect: int = 200, budget_s: float | None = None) -> Stats:
        """``warmup`` untimed requests, then ``n`` timed ones; a slow scenario (first request over
        SLOW_S) gets a single warm-up and stops after ``budget_s`` once it has MIN_N requests."""
        stats = Stats(name)
        budget_s = SETTINGS["budget_s"] if budget_s is None else budget_s

        def one(timed: bool) -> float:
            kwargs = body() if body else {}
            response, elapsed, sql = self.request(who, method, url, **kwargs)
            if response.status_code != expect:
                raise RuntimeError(f"{name}: {method} {url} answered {response.status_code}, expected {expect}")
            if timed:
                stats.times_ms.append(elapsed * 1000)
                stats.cpu_ms.append(self.last_cpu * 1000)
                stats.sql.append(sql)
                stats.statuses.add(response.status_code)
                stats.size = len(response.data)
            response.close()
            return elapsed

        for i in range(warmup):
            if one(False) > SLOW_S:
                break
        start = time.perf_counter()
        while len(stats.times_ms) < n:
            if len(stats.times_ms) >= MIN_N and time.perf_counter() - start > budget_s:
                stats.limited = True
                break
            one(True)
            done = len(stats.times_ms)
            if SETTINGS["turn_every"] and done % SETTINGS["turn_every"] == 0 and done < n:
                # the other run measures a block of its own now; back here, one untimed request first
                turn()
                one(False)
        turn()
        return stats

    def sql_of(self, who: str, url: str) -> int:
        response, _, sql = self.request(who, "GET", url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        return sql

    def close(self) -> None:
        import gc

        from sqlalchemy import event

        gc.unfreeze()  # this app's objects may go once it is closed

        event.remove(self.engine, "before_cursor_execute", self.counter)
        self.clients.clear()
        with self.app.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()


# -- scenarios -------------------------------------------------------------------------------------------
def staff_urls(meta: dict) -> dict[str, str]:
    statuses = meta["accounts"]["statuses"]
    return {
        "staff_list": "/backend/orders/list/",
        "staff_list_status": f"/backend/orders/list/?_flt_0_status={statuses['in_review']}",
        "staff_list_company": f"/backend/orders/list/?_flt_0_company={meta['big_company_id']}",
        # FAB: _flt_<index of the filter in the column's list>_<column>; 0 = "Starts with" for strings
        "staff_list_search": f"/backend/orders/list/?_flt_0_rma_number={meta['rma_prefix']}",
        # open orders past their due date (index ix_order_open_due)
        "staff_list_overdue": "/backend/orders/list/?_flt_0_due_date=overdue",
    }


def with_psize(url: str, size: int, view: str = "StaffOrderView") -> str:
    return url + ("&" if "?" in url else "?") + f"psize_{view}={size}"


def pdf_bytes(size: int) -> bytes:
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    return head + b"0" * (size - len(head))


def new_order_body(files_mb: float = 1.0) -> Callable[[], dict]:
    """A pre-encoded multipart body: 5 articles and 2 files (encoding is not part of the timing)."""
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    import io

    fields = MultiDict([("reference", "BENCH-PO-1")])
    for i in range(5):
        fields.add(f"items-{i}-article_number", f"A-{4711 + i}")
        fields.add(f"items-{i}-description", f"Messgerät MX-{200 + i}")
        fields.add(f"items-{i}-serial_number", f"SN-BENCH-{i:04d}")
        fields.add(f"items-{i}-quantity", str(1 + i % 3))
        fields.add(f"items-{i}-fault_description", "Display bleibt dunkel nach dem Einschalten.")
    content = pdf_bytes(int(files_mb * MB))
    for k in range(2):
        fields.add("files", FileStorage(io.BytesIO(content), filename=f"lieferschein-{k + 1}.pdf",
                                        content_type="application/pdf"))
    boundary, data = encode_multipart(fields)
    content_type = f"multipart/form-data; boundary={boundary}"
    return lambda: {"data": data, "content_type": content_type}


def reset_database(meta: dict) -> None:
    """Delete what earlier runs wrote (rows above the build's max ids, RMA counters, page sizes)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(meta["url"])
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            for table, max_id in meta["reset_order"]:
                conn.execute(text(f"DELETE FROM {table} WHERE id > :m"), {"m": max_id})
            for year, value in meta["rma_counters"].items():
                conn.execute(text("UPDATE counter SET value = :v WHERE name = :n"), {"v": value, "n": f"rma-{year}"})
            conn.execute(text("UPDATE ab_user SET page_size = 25 WHERE page_size != 25"))
        if engine.dialect.name == "postgresql":
            # PostgreSQL keeps deleted rows in the tables and their indexes until a VACUUM, and
            # autovacuum waits for 20 % of a table: each run would walk more dead rows than the last
            # (70,000 in `device` after a few runs, from the device imports)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in dict.fromkeys(table for table, _max_id in meta["reset_order"]):
                    conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
    finally:
        engine.dispose()


def run_scenarios(bench: Bench, names: list[str], n: int, warmup: int) -> dict[str, dict]:
    """The staff lists; SQL statements at page sizes 10 and 100 for the unfiltered one."""
    urls = staff_urls(bench.meta)
    out = {}
    for name in names:
        stats = bench.measure(name, "staff", urls[name], n, warmup)
        out[name] = stats.as_dict()
        log(f"  {name}: p50 {stats.p50:.1f} ms ({len(stats.times_ms)} requests)")
        if name == "staff_list":
            sizes = {str(size): bench.sql_of("staff", with_psize(urls[name], size)) for size in (10, 100)}
            out[name]["sql_by_page_size"] = {"10": sizes["10"], "25": out[name]["sql"], "100": sizes["100"]}
    return out


def portal_list_sql(bench: Bench) -> dict[str, int]:
    out = {}
    for size in (10, 25, 100):
        bench.set_page_size(size)
        out[str(size)] = bench.sql_of("company_admin", "/cc/orders/")
    bench.set_page_size(25)
    return out


def measure_growth_db(meta: dict, workdir: Path, n: int, warmup: int) -> dict:
    """The growth database's statistics page, and the statements of its lists at each page size
    (their milliseconds come from measure_growth_pair, taking turns with the main database)."""
    bench = Bench(meta, workdir, vanilla=False)
    try:
        res = {"portal_list": {"sql_by_page_size": portal_list_sql(bench)},
               "staff_list": {"sql_by_page_size": {str(size): bench.sql_of("staff", with_psize(
                   "/backend/orders/list/", size)) for size in (10, 25, 100)}}}
        stats = bench.measure("portal_statistics", "company_admin", "/cc/statistics/", n, warmup)
        log(f"  portal_statistics: p50 {stats.p50:.1f} ms ({len(stats.times_ms)} requests)")
        res["portal_statistics"] = stats.as_dict()
    finally:
        bench.close()
    return res


def measure_growth_pair(meta_main: dict, meta_growth: dict, workdir: Path, n: int, warmup: int) -> dict:
    """Growth: the portal list and the unfiltered staff list on the 1M and on the 10k database, both
    apps in this process taking turns every TURN_BLOCK requests, so that the ratio of the two does
    not move with the machine's speed between two scenarios measured minutes apart."""
    benches = {"main": Bench(meta_main, workdir / "growth-1m", vanilla=False),
               "growth": Bench(meta_growth, workdir / "growth-10k", vanilla=False)}
    out: dict = {}
    try:
        for name, who, url in (("portal_list", "company_admin", "/cc/orders/"),
                               ("staff_list", "staff", "/backend/orders/list/")):
            times: dict[str, list[float]] = {key: [] for key in benches}
            while len(times["main"]) < n:
                block = min(TURN_BLOCK, n - len(times["main"]))
                for key, bench in benches.items():
                    # each block after its own warm-up: the other app ran in between
                    times[key] += bench.measure(name, who, url, block, warmup if not times[key] else 1).times_ms
            main_p50, growth_p50 = (statistics.median(times[key]) for key in ("main", "growth"))
            out[name] = {"main_db_p50_ms": round(main_p50, 1), "growth_db_p50_ms": round(growth_p50, 1),
                         "growth": round(main_p50 / growth_p50, 2), "n": len(times["main"])}
            log(f"  {name}: 1M {main_p50:.1f} ms, 10k {growth_p50:.1f} ms, growth {main_p50 / growth_p50:.2f}")
    finally:
        for bench in benches.values():
            bench.close()
    return out


def api_auth(bench: Bench) -> dict:
    """Request arguments with a JWT of the big company's admin (FAB's API login)."""
    token = bench.clients["anonymous"].post("/api/v1/security/login", json={
        "username": bench.company_admin_email, "password": PASSWORD, "provider": "db"}).get_json()["access_token"]
    return {"headers": {"Authorization": f"Bearer {token}"}}


def measure_main_db(meta: dict, workdir: Path, n: int, warmup: int) -> dict:
    bench = Bench(meta, workdir, vanilla=False)
    res: dict = {}
    try:
        company = meta["big_company_id"]
        for name, who, url, kwargs in (
            ("floor_list", "anonymous", f"/bench/floor/{company}", {}),
            ("portal_list", "company_admin", "/cc/orders/", {}),
            ("portal_detail", "company_admin", f"/cc/orders/{meta['detail_order_id']}", {}),
            # the company admin's statistics: 12 months of the 10,000-order company, aggregated in SQL
            ("portal_statistics", "company_admin", "/cc/statistics/", {}),
        ):
            stats = bench.measure(name, who, url, n, warmup, **kwargs)
            res[name] = stats.as_dict()
            log(f"  {name}: p50 {stats.p50:.1f} ms ({len(stats.times_ms)} requests)")
            if name == "portal_list":
                res[name]["sql_by_page_size"] = portal_list_sql(bench)
        # the REST API's list and detail for the same company (FAB's JWT, as an ERP would log in)
        jwt = api_auth(bench)
        for name, url in (("api_list", "/api/v1/orders/"), ("api_detail", f"/api/v1/orders/{meta['detail_order_id']}")):
            stats = bench.measure(name, "anonymous", url, n, warmup, body=lambda: jwt)
            res[name] = stats.as_dict()
            log(f"  {name}: p50 {stats.p50:.1f} ms, {max(stats.sql)} SQL ({len(stats.times_ms)} requests)")
        res |= run_scenarios(bench, list(staff_urls(meta)), n, warmup)
        from bench.quotes import measure_quotes

        res |= measure_quotes(bench, n, warmup)
        # the register as built (10,000 devices of company 1), before the imports below add 1,000
        # devices per file saved (rows that autovacuum would not have visited yet)
        from bench.devices import measure_devices

        res |= measure_devices(bench, n, warmup)
        from bench.imports import measure_imports

        res["imports"] = measure_imports(bench, n, warmup)
        # last: the new orders would be the newest on the lists above
        stats = bench.measure("create_order", "company_admin", "/cc/orders/new", n, warmup,
                              method="POST", body=new_order_body(), expect=302)
        res["create_order"] = stats.as_dict()
        log(f"  create_order: p50 {stats.p50:.1f} ms ({len(stats.times_ms)} requests)")
    finally:
        bench.close()
    return res


# -- 6. the plain FAB view (own process: with FAB's defaults it can take minutes and gigabytes) -----
def vanilla_probe(meta: dict, workdir: Path, n: int, out: Path) -> None:
    """Time up to ``n`` requests of the plain view; after each one the figures so far go to ``out``
    (the parent stops this process after VANILLA_TIMEOUT_S and keeps what is there)."""
    bench = Bench(meta, workdir)
    res = {"times_ms": [], "sql": [], "bytes": None, "started": None, "error": None}
    try:
        for _ in range(n):
            res["started"] = time.time()
            out.write_text(json.dumps(res))
            try:
                response, elapsed, sql = bench.request("staff", "GET", "/bench/vanilla/list/")
            except MemoryError:
                res["error"] = "out of memory"
                break
            if response.status_code != 200:
                res["error"] = f"answered {response.status_code}"
                break
            res["times_ms"].append(round(elapsed * 1000, 2))
            res["sql"].append(sql)
            res["bytes"] = len(response.data)
            res["started"] = None
            out.write_text(json.dumps(res))
    finally:
        out.write_text(json.dumps(res))
        bench.close()


def run_vanilla(meta: dict, workdir: Path, n: int, timeout_s: float, mem_mb: int) -> dict:
    out = workdir / "vanilla.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.run", "--vanilla-probe", str(write_meta(meta, workdir)),
           "--out", str(out), "--n", str(n), "--vanilla-mem-mb", str(mem_mb)]
    proc = subprocess.Popen(cmd, cwd=ROOT)
    stopped = False
    try:
        proc.wait(timeout=timeout_s if timeout_s > 0 else None)
    except subprocess.TimeoutExpired:
        stopped = True
        proc.kill()  # our own child, by its pid
        proc.wait()
    now = time.time()
    res = json.loads(out.read_text()) if out.exists() else {"times_ms": [], "sql": [], "started": None}
    times = res["times_ms"]
    d = {"n": len(times), "stopped_after_s": timeout_s if stopped else None, "error": res.get("error"),
         "bytes": res.get("bytes"), "sql": max(res["sql"]) if res["sql"] else None}
    if times:
        d |= {"p50_ms": round(statistics.median(times), 2), "lower_bound": False}
    elif res.get("started"):  # no request finished: it took at least this long
        d |= {"p50_ms": round((now - res["started"]) * 1000, 2), "lower_bound": True}
    else:
        raise RuntimeError(f"plain FAB view: no figure ({res.get('error') or proc.returncode})")
    return d


def write_meta(meta: dict, workdir: Path) -> Path:
    path = workdir / "meta.json"
    path.write_text(json.dumps(meta))
    return path


# -- 8. peak memory of a 50 MB upload (own process) ---------------------------------------------------
def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def upload_probe(meta: dict, workdir: Path, size_mb: int) -> dict:
    """Peak RSS rise of the app process while it takes one ``size_mb`` PDF upload.

    The multipart body is written to disk and streamed into the request (``input_stream``), so
    the test client itself never holds it; the figure is the app's parsing and storing."""
    import resource

    limit = (size_mb + 10) * MB
    bench = Bench(meta, workdir, extra={"MAX_CONTENT_LENGTH": limit, "UPLOAD_MAX_FILE_SIZE": limit},
                  vanilla=False)
    order = meta["detail_order_id"]
    url = f"/cc/orders/{order}/files"
    boundary = "----benchboundary7MA4YWxkTrZu0gW"
    ctype = f"multipart/form-data; boundary={boundary}"

    def body_file(path: Path, mb: float) -> int:
        with open(path, "wb") as out:
            out.write((f"--{boundary}\r\nContent-Disposition: form-data; name=\"target\"\r\n\r\norder\r\n"
                       f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"scan.pdf\"\r\n"
                       "Content-Type: application/pdf\r\n\r\n").encode())
            chunk = b"0" * MB
            out.write(b"%PDF-1.4\n")
            remaining = int(mb * MB) - 9
            while remaining > 0:
                out.write(chunk[:remaining])
                remaining -= len(chunk)
            out.write(f"\r\n--{boundary}--\r\n".encode())
        return path.stat().st_size

    def post(path: Path, length: int):
        with open(path, "rb") as stream:
            return bench.clients["company_admin"].post(url, input_stream=stream, content_length=length,
                                                        content_type=ctype)

    tmp = Path(tempfile.mkdtemp(prefix="upload-", dir=workdir))
    try:
        # warm-up: the same route with a small and a 2 MB file (spooled to a temp file like the big one)
        for mb in (0.01, 2):
            length = body_file(tmp / "warm.bin", mb)
            r = post(tmp / "warm.bin", length)
            assert r.status_code == 302, r.status_code
        bench.clients["company_admin"].get(f"/cc/orders/{order}")
        length = body_file(tmp / "big.bin", size_mb)
        gc.collect()
        reset_peak = False
        try:
            with open("/proc/self/clear_refs", "w") as fh:  # resets VmHWM to the current RSS
                fh.write("5")
            reset_peak = True
        except OSError:
            pass
        rss_before = _rss_kb("VmRSS")
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        r = post(tmp / "big.bin", length)
        elapsed = time.perf_counter() - t
        if r.status_code != 302:
            raise RuntimeError(f"upload answered {r.status_code}")
        with bench.app.app_context():  # stored, not refused (both answer with a redirect)
            from sqlalchemy import func, select

            from app.extensions import db
            from app.models import Attachment

            biggest = db.session.scalar(select(func.max(Attachment.size)).where(Attachment.order_id == order))
            db.session.remove()
        if (biggest or 0) < size_mb * MB - 16:
            raise RuntimeError(f"the {size_mb} MB upload was not stored (largest file: {biggest})")
        peak = _rss_kb("VmHWM") if reset_peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        base = rss_before if reset_peak else maxrss_before
        return {"size_mb": size_mb, "body_bytes": length, "rss_before_mb": round(rss_before / 1024, 1),
                "peak_mb": round(peak / 1024, 1), "delta_mb": round(max(0, peak - base) / 1024, 1),
                "ru_maxrss_delta_mb": round(max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                                - maxrss_before) / 1024, 1),
                "method": "VmHWM after clear_refs - VmRSS before" if reset_peak else "ru_maxrss after - before",
                "seconds": round(elapsed, 2)}
    finally:
        bench.close()
        shutil.rmtree(tmp, ignore_errors=True)


def run_upload_probe(meta: dict, workdir: Path, size_mb: int) -> dict:
    meta_file = write_meta(meta, workdir)
    out = workdir / "probe.json"
    out.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "bench.run", "--upload-probe", str(meta_file), "--out", str(out),
                    "--upload-mb", str(size_mb)], cwd=ROOT, check=True)
    return json.loads(out.read_text())


# -- report -----------------------------------------------------------------------------------------------
def summarize(main: dict, growth: dict, pair: dict, vanilla: dict, upload: dict, meta_main: dict,
              meta_growth: dict) -> dict:
    sql_portal = main["portal_list"]["sql_by_page_size"]
    sql_staff = main["staff_list"]["sql_by_page_size"]
    staff_keys = list(staff_urls(meta_main))
    return {
        "portal_list_p50_ms": main["portal_list"]["p50_ms"],
        "portal_list_p95_ms": main["portal_list"]["p95_ms"],
        "portal_detail_p50_ms": main["portal_detail"]["p50_ms"],
        "portal_detail_p95_ms": main["portal_detail"]["p95_ms"],
        "staff_list_p50_ms": main["staff_list"]["p50_ms"],
        "staff_list_p95_ms": main["staff_list"]["p95_ms"],
        "staff_list_status_p50_ms": main["staff_list_status"]["p50_ms"],
        "staff_list_company_p50_ms": main["staff_list_company"]["p50_ms"],
        "staff_list_search_p50_ms": main["staff_list_search"]["p50_ms"],
        "staff_list_overdue_p50_ms": main["staff_list_overdue"]["p50_ms"],
        "portal_statistics_p50_ms": main["portal_statistics"]["p50_ms"],
        "portal_statistics_p95_ms": main["portal_statistics"]["p95_ms"],
        "portal_statistics_10k_p50_ms": growth["portal_statistics"]["p50_ms"],
        "sql_portal_statistics": main["portal_statistics"]["sql"],
        "vanilla_staff_list_p50_ms": vanilla["p50_ms"],
        "vanilla_staff_list_is_lower_bound": vanilla["lower_bound"],
        "floor_list_p50_ms": main["floor_list"]["p50_ms"],
        "create_order_p50_ms": main["create_order"]["p50_ms"],
        "api_list_p50_ms": main["api_list"]["p50_ms"],
        "api_detail_p50_ms": main["api_detail"]["p50_ms"],
        "sql_api_list": main["api_list"]["sql"],
        "create_order_p95_ms": main["create_order"]["p95_ms"],
        "quote_order_page_p50_ms": main["quote_order_page"]["p50_ms"],
        "quote_accept_p50_ms": main["quote_accept"]["p50_ms"],
        "quote_pdf_p50_ms": main["quote_pdf"]["p50_ms"],
        "sql_quote_order_page": main["quote_order_page"]["sql"],
        **{k: v for k, v in main["imports"].items() if k.endswith(("_ms", "_mb"))},
        "device_history_p50_ms": main["device_history"]["p50_ms"],
        "sql_device_history": main["device_history"]["sql"],
        "device_search_p50_ms": main["device_search"]["p50_ms"],
        "device_search_via": main["device_search"]["via"],
        # growth from the two databases taking turns (measure_growth_pair), not from scenarios minutes apart
        "portal_list_10k_p50_ms": pair["portal_list"]["growth_db_p50_ms"],
        "staff_list_10k_p50_ms": pair["staff_list"]["growth_db_p50_ms"],
        "growth_portal_list": pair["portal_list"]["growth"],
        "growth_staff_list": pair["staff_list"]["growth"],
        "growth_pair": pair,
        "sql_portal_list": sql_portal["25"],
        "sql_portal_list_by_page_size": sql_portal,
        "sql_portal_list_10k_by_page_size": growth["portal_list"]["sql_by_page_size"],
        "sql_portal_detail": main["portal_detail"]["sql"],
        "sql_staff_list": sql_staff["25"],
        "sql_staff_list_by_page_size": sql_staff,
        "sql_staff_list_10k_by_page_size": growth["staff_list"]["sql_by_page_size"],
        "sql_staff_list_variants": {k: main[k]["sql"] for k in staff_keys},
        "sql_vanilla_staff_list": vanilla.get("sql"),
        "sql_floor_list": main["floor_list"]["sql"],
        "sql_create_order": main["create_order"]["sql"],
        "bytes": {"portal_list": main["portal_list"]["bytes"], "staff_list": main["staff_list"]["bytes"],
                  "vanilla_staff_list": vanilla.get("bytes")},
        "upload_50mb_rss_delta_mb": upload["delta_mb"],
        "upload_50mb_seconds": upload["seconds"],
        "scenarios": main | {"vanilla_staff_list": vanilla},
        "scenarios_10k": growth,
        "upload": upload,
        "database": {
            "backend": "sqlite" if build_db.is_sqlite(meta_main["url"]) else "postgresql",
            "main": {"counts": meta_main["counts"], "big_company_orders": meta_main["shape"]["big_orders"],
                     "build_seconds": meta_main["build_seconds"], "reused": meta_main.get("reused")},
            "growth": {"counts": meta_growth["counts"], "big_company_orders": meta_growth["shape"]["big_orders"],
                       "build_seconds": meta_growth["build_seconds"], "reused": meta_growth.get("reused")},
        },
        "machine": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                    "cpus": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_1m_at_end": round(os.getloadavg()[0], 2)},
    }


def check_rows(r: dict) -> list[tuple[str, str, str, str]]:
    """(figure, value, target, PASS/FAIL or empty) rows of the table."""
    rows = []

    def add(label, value, target=None, ok=None, fmt="{:.1f} ms"):
        text = fmt.format(value) if isinstance(value, (int, float)) else str(value)
        rows.append((label, text, target or "", "" if ok is None else ("PASS" if ok else "FAIL")))

    def n_of(d):
        return f" [n={d['n']}]" if d.get("budget_limited") else ""

    s = r["scenarios"]
    sql_p, sql_s = r["sql_portal_list_by_page_size"], r["sql_staff_list_by_page_size"]
    sql_p10k, sql_s10k = r["sql_portal_list_10k_by_page_size"], r["sql_staff_list_10k_by_page_size"]
    floor = r["floor_list_p50_ms"]
    add("1 portal list (10,000-order company)", r["portal_list_p50_ms"], "<= 15 ms", r["portal_list_p50_ms"] <= 15)
    add("  portal list p95", r["portal_list_p95_ms"])
    add("  portal list / floor", r["portal_list_p50_ms"] / floor, "<= 5x", r["portal_list_p50_ms"] <= 5 * floor,
        fmt="{:.1f}x")
    add("2 portal detail", r["portal_detail_p50_ms"], "<= 15 ms", r["portal_detail_p50_ms"] <= 15)
    for key, label in (("staff_list", "3 staff list, unfiltered"), ("staff_list_status", "  staff list, by status"),
                       ("staff_list_company", "  staff list, by company"),
                       ("staff_list_search", "  staff list, RMA number starts with")):
        add(label + n_of(s[key]), s[key]["p50_ms"], "<= 30 ms", s[key]["p50_ms"] <= 30)
    vanilla = r["vanilla_staff_list_p50_ms"]
    bound = r["vanilla_staff_list_is_lower_bound"]
    add("  staff list / plain FAB view", r["staff_list_p50_ms"] / vanilla, "<= 0.5x",
        r["staff_list_p50_ms"] <= 0.5 * vanilla, fmt=("< " if bound else "") + "{:.2g}x")
    add("  REST API list (same company, JWT)", r["api_list_p50_ms"], "<= 30 ms", r["api_list_p50_ms"] <= 30)
    add("  REST API order detail", r["api_detail_p50_ms"], "<= 15 ms", r["api_detail_p50_ms"] <= 15)
    add("  SQL/request REST API list", r["sql_api_list"], fmt="{}")
    add("4 create order (5 articles, 2 x 1 MB)", r["create_order_p50_ms"], "<= 60 ms", r["create_order_p50_ms"] <= 60)
    pair = r["growth_pair"]
    add("5 portal list, 1M / 10k orders, taking turns",
        f'{pair["portal_list"]["main_db_p50_ms"]:.1f} / {pair["portal_list"]["growth_db_p50_ms"]:.1f} ms')
    add("  growth portal list (1M / 10k)", r["growth_portal_list"], "<= 1.5", r["growth_portal_list"] <= 1.5,
        fmt="{:.2f}")
    add("  staff list, 1M / 10k orders, taking turns",
        f'{pair["staff_list"]["main_db_p50_ms"]:.1f} / {pair["staff_list"]["growth_db_p50_ms"]:.1f} ms')
    add("  growth staff list (1M / 10k)", r["growth_staff_list"], fmt="{:.2f}")
    v = s["vanilla_staff_list"]
    add("6 plain FAB ModelView list" + (f" [n={v['n']}]" if v["n"] < 20 else ""), vanilla,
        fmt=("> {:.0f} ms (stopped)" if bound else "{:.1f} ms"))

    def same(*dicts):
        return len({x for d in dicts for x in d.values()}) == 1

    add("7 SQL/request portal list, ps 10/25/100 (10k)",
        f"{sql_p['10']}/{sql_p['25']}/{sql_p['100']} ({sql_p10k['10']}/{sql_p10k['25']}/{sql_p10k['100']})",
        "<= 8, all equal", max(sql_p.values()) <= 8 and same(sql_p, sql_p10k))
    add("  SQL/request portal detail", r["sql_portal_detail"], fmt="{}")
    add("  SQL/request staff list, ps 10/25/100 (10k)",
        f"{sql_s['10']}/{sql_s['25']}/{sql_s['100']} ({sql_s10k['10']}/{sql_s10k['25']}/{sql_s10k['100']})",
        "<= 8, all equal", max(sql_s.values()) <= 8 and same(sql_s, sql_s10k))
    variants = r["sql_staff_list_variants"]
    add("  SQL/request staff list status/company/search",
        "/".join(str(variants[k]) for k in ("staff_list_status", "staff_list_company", "staff_list_search")),
        "<= 8", max(variants.values()) <= 8)
    if r["sql_vanilla_staff_list"] is not None:
        add("  SQL/request plain FAB view", r["sql_vanilla_staff_list"], fmt="{}")
    add("8 50 MB upload: peak RSS rise", r["upload_50mb_rss_delta_mb"], "<= 20 MB",
        r["upload_50mb_rss_delta_mb"] <= 20, fmt="{:.1f} MB")
    add("9 floor: bare Flask route, same SQL, 25 rows", floor)
    add("  SQL/request floor", r["sql_floor_list"], fmt="{}")
    add("10 statistics page (10,000-order company)", r["portal_statistics_p50_ms"], "<= 50 ms",
        r["portal_statistics_p50_ms"] <= 50)
    add("  statistics page p95", r["portal_statistics_p95_ms"])
    add("  statistics page on the 10k database (its company: 1,000 orders)", r["portal_statistics_10k_p50_ms"])
    add("  SQL/request statistics page", r["sql_portal_statistics"], fmt="{}")
    add("  staff list, overdue" + n_of(s["staff_list_overdue"]), s["staff_list_overdue"]["p50_ms"])
    add("11 order page with a 30-line quote", r["quote_order_page_p50_ms"], "<= 15 ms",
        r["quote_order_page_p50_ms"] <= 15)
    add("  SQL/request order page with quote", r["sql_quote_order_page"], fmt="{}")
    add("  accept a quote (PO number)", r["quote_accept_p50_ms"], "<= 30 ms", r["quote_accept_p50_ms"] <= 30)
    add("  quote PDF, 30 lines", r["quote_pdf_p50_ms"], "<= 100 ms", r["quote_pdf_p50_ms"] <= 100)
    add("12 device import preview, 1,000-row XLSX", r["import_preview_1000_p50_ms"], "<= 3000 ms",
        r["import_preview_1000_p50_ms"] <= 3000, fmt="{:.0f} ms")
    add("  import preview: peak memory rise (Python, traced)", r["import_preview_1000_peak_mb"], "<= 100 MB",
        r["import_preview_1000_peak_mb"] <= 100, fmt="{:.1f} MB")
    add("  saving the 1,000 devices", r["import_save_1000_p50_ms"], "<= 5000 ms",
        r["import_save_1000_p50_ms"] <= 5000, fmt="{:.0f} ms")
    add("12 service history of a serial number", r["device_history_p50_ms"], "<= 15 ms",
        r["device_history_p50_ms"] <= 15)
    add("  SQL/request service history", r["sql_device_history"], fmt="{}")
    via = "" if r["device_search_via"] == "endpoint" else " (service function only)"
    add("  serial-number search as you type" + via, r["device_search_p50_ms"], "<= 10 ms",
        r["device_search_p50_ms"] <= 10)
    return rows


def format_table(rows, title: str) -> str:
    header = ("figure (p50 unless noted)", "value", "target", "result")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(4)]
    lines = [title, "", f"{header[0]:<{widths[0]}}  {header[1]:>{widths[1]}}  {header[2]:<{widths[2]}}  {header[3]}",
             "-" * (sum(widths) + 6)]
    for a, b, c, d in rows:
        lines.append(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip())
    return "\n".join(lines)


def run_all(meta_main: dict, meta_growth: dict, workdir: Path, n: int, warmup: int, upload_mb: int,
            vanilla_timeout: float, vanilla_mem_mb: int) -> dict:
    """Every scenario; the databases are reset before and after."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    for meta in (meta_main, meta_growth):
        reset_database(meta)
    try:
        log(f"growth database ({meta_growth['counts']['orders']:,} orders): statistics, SQL of the lists")
        growth = measure_growth_db(meta_growth, workdir, n, warmup)
        log(f"main database ({meta_main['counts']['orders']:,} orders): floor, portal list, detail, create order, "
            "staff lists")
        main_res = measure_main_db(meta_main, workdir, n, warmup)
        reset_database(meta_main)  # without the orders created above
        log("growth: portal list and staff list on both databases, taking turns")
        pair = measure_growth_pair(meta_main, meta_growth, workdir, n, warmup)
        log("plain FAB ModelView (own process" + (f", stopped after {vanilla_timeout:.0f} s)" if vanilla_timeout
                                                  else ")"))
        vanilla = run_vanilla(meta_main, workdir, n, vanilla_timeout, vanilla_mem_mb)
        log(f"{upload_mb} MB upload: peak memory (own process)")
        upload = run_upload_probe(meta_main, workdir, upload_mb)
    finally:
        for meta in (meta_main, meta_growth):
            reset_database(meta)
        shutil.rmtree(workdir, ignore_errors=True)
    return summarize(main_res, growth, pair, vanilla, upload, meta_main, meta_growth)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20, help="timed requests per scenario (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first (default 3)")
    parser.add_argument("--budget", type=float, default=BUDGET_S,
                        help=f"seconds after which a slow scenario stops once it has {MIN_N} requests")
    parser.add_argument("--upload-mb", type=int, default=50)
    parser.add_argument("--vanilla-timeout", type=float, default=VANILLA_TIMEOUT_S,
                        help="stop the plain FAB view after this many seconds (0: never)")
    parser.add_argument("--vanilla-mem-mb", type=int, default=VANILLA_MEM_MB)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the databases")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--profile", metavar="SCENARIO", help="cProfile a few requests of one scenario: "
                        "portal_list, portal_detail, create_order, staff_list[_status|_company|_search], "
                        "vanilla_staff_list, floor_list (with --n requests, default 5)")
    parser.add_argument("--paired", action="store_true",
                        help=f"SQLite and DATABASE_URL's PostgreSQL taking turns every {TURN_BLOCK} requests (bench/paired.py); "
                             "writes bench/results.json and bench/results-postgresql.json")
    parser.add_argument("--profile-db", default="1m", choices=list(build_db.SHAPES))
    # internal: the probe processes
    parser.add_argument("--vanilla-probe", metavar="META_JSON", help=argparse.SUPPRESS)
    parser.add_argument("--upload-probe", metavar="META_JSON", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    SETTINGS["budget_s"] = args.budget
    if args.paired:
        from bench.paired import run_paired

        if not os.environ.get("DATABASE_URL"):
            parser.error("--paired measures SQLite against PostgreSQL: set DATABASE_URL")
        rest = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--paired"]
        return run_paired(rest, os.environ["DATABASE_URL"], RESULTS, RESULTS_PG)
    # a run of its own per backend: `--paired` runs both at once
    workdir = build_db.DATA_DIR / ("run-pg" if os.environ.get("DATABASE_URL") else "run")

    if args.vanilla_probe:
        import resource

        limit = args.vanilla_mem_mb * MB
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        vanilla_probe(json.loads(Path(args.vanilla_probe).read_text()), workdir, args.n, Path(args.out))
        return 0
    if args.upload_probe:
        meta = json.loads(Path(args.upload_probe).read_text())
        Path(args.out).write_text(json.dumps(upload_probe(meta, workdir, args.upload_mb)))
        return 0

    t0 = time.perf_counter()
    meta_main = build_db.ensure("1m", force=args.rebuild)
    meta_growth = build_db.ensure("10k", force=args.rebuild)
    t_build = time.perf_counter() - t0
    if args.profile:
        meta = meta_main if args.profile_db == "1m" else meta_growth
        workdir.mkdir(parents=True, exist_ok=True)
        reset_database(meta)
        try:
            profile(meta, workdir, args.profile, args.n if args.n != 20 else 5)
        finally:
            reset_database(meta)
        return 0
    load_before = os.getloadavg()[0]
    busy_limit = 1 + 0.5 * (os.cpu_count() or 1)  # this benchmark itself keeps one CPU busy
    if load_before > busy_limit:
        log(f"WARNING: the machine is busy (load average {load_before:.1f} on {os.cpu_count()} CPUs): "
            "the latencies will be too high")
    calibration = calibrate()
    t1 = time.perf_counter()
    results = run_all(meta_main, meta_growth, workdir, args.n, args.warmup, args.upload_mb,
                      args.vanilla_timeout, args.vanilla_mem_mb)
    t_measure = time.perf_counter() - t1
    results["timing"] = {"build_or_reuse_s": round(t_build, 1), "measure_s": round(t_measure, 1),
                         "total_s": round(time.perf_counter() - t0, 1), "n": args.n, "warmup": args.warmup,
                         "budget_s": args.budget, "vanilla_timeout_s": args.vanilla_timeout}
    results["machine"]["loadavg_1m_at_start"] = round(load_before, 2)
    results["machine"]["calibration_ms"] = calibration
    rows = check_rows(results)
    results["table"] = [list(r) for r in rows]
    path = Path(args.results)
    old = {}
    if path.exists():
        with contextlib.suppress(Exception):
            old = json.loads(path.read_text())
    results |= {k: v for k, v in old.items() if k.startswith("load")}  # keep the `make bench-load` figures
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    db = results["database"]
    print()
    print(format_table(rows, f"make bench: {db['backend']}, {db['main']['counts']['orders']:,} orders "
                             f"(growth: {db['growth']['counts']['orders']:,}), {args.n} requests per scenario "
                             f"after {args.warmup} warm-up, {os.cpu_count()} CPUs; machine calibration "
                             f"{calibration} ms (bench/README.md)"))
    busy = max(load_before, results["machine"]["loadavg_1m_at_end"])
    if busy > busy_limit:
        print(f"WARNING: load average up to {busy:.1f} on {os.cpu_count()} CPUs while measuring: other processes "
              "took CPU time, the latencies are too high (cpu_p50_ms in results.json is less affected)")
    if any(v.get("budget_limited") for v in results["scenarios"].values()):
        print(f"[n=..]: a slow scenario stops after {args.budget:.0f} s once it has {MIN_N} requests")
    print(f"\nbuild/reuse {t_build:.1f} s, measuring {t_measure:.1f} s, total {time.perf_counter() - t0:.1f} s; "
          f"wrote {path}")
    return 0


def profile(meta: dict, workdir: Path, scenario: str, n: int) -> None:
    import cProfile
    import pstats

    bench = Bench(meta, workdir, vanilla=scenario.startswith("vanilla"))
    urls = {**staff_urls(meta), "vanilla_staff_list": "/bench/vanilla/list/", "portal_list": "/cc/orders/",
            "portal_detail": f"/cc/orders/{meta['detail_order_id']}",
            "portal_statistics": "/cc/statistics/",
            "floor_list": f"/bench/floor/{meta['big_company_id']}", "create_order": "/cc/orders/new",
            "api_list": "/api/v1/orders/", "api_detail": f"/api/v1/orders/{meta['detail_order_id']}"}
    who = "staff" if scenario.startswith(("staff", "vanilla")) else (
        "anonymous" if scenario in ("floor_list", "api_list", "api_detail") else "company_admin")
    kwargs = {}
    method = "GET"
    if scenario.startswith("api_"):
        kwargs = api_auth(bench)
    if scenario == "create_order":
        method, kwargs = "POST", new_order_body()()
    try:
        bench.request(who, method, urls[scenario], **kwargs)
        bench.counter.statements = []
        prof = cProfile.Profile()
        t = time.perf_counter()
        prof.enable()
        for _ in range(n):
            bench.counter.statements = []
            bench.request(who, method, urls[scenario], **kwargs)
        prof.disable()
        print(f"{scenario}: {n} requests, {(time.perf_counter() - t) / n * 1000:.1f} ms each (under the profiler)")
        stats = pstats.Stats(prof)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
        print(f"SQL statements of the last request ({len(bench.counter.statements)}):")
        for st in bench.counter.statements:
            print("  ", " ".join(st.split())[:300 if len(bench.counter.statements) > 1 and st is not bench.counter.statements[-1] and "count(" not in st else 3000])
    finally:
        bench.close()


if __name__ == "__main__":
    raise SystemExit(main())

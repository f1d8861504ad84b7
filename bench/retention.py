"""`make bench-retention`: `flask portal retention` on a copy of the 1,000,000-order database.

The dry run (counting what is due) and the real run (anonymising every order closed more than
``RETENTION_MONTHS`` ago: about a third of the orders of a database spread over three years) are
timed through the app's own service (app/services/retention.py, what the command calls), on a copy
(SQLite: the backup API; PostgreSQL: ``CREATE DATABASE … TEMPLATE``), so the cached database stays
as built. A second real run (nothing left to do) is timed too. Target: dry run and run each within
5 minutes. The figures are merged into bench/results.json (``retention``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import build_db  # noqa: E402
from bench.build_db import app_config, log  # noqa: E402
from bench.run import RESULTS, calibrate, reset_database  # noqa: E402

TARGET_S = 300


def copy_database(meta: dict) -> str:
    """The URL of a fresh copy of the database of ``meta``."""
    url = meta["url"]
    if build_db.is_sqlite(url):
        source = build_db.sqlite_path(url)
        target = source.with_name("retention-copy.db")
        for suffix in ("", "-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
        return f"sqlite:///{target}"
    name = url.rsplit("/", 1)[1].split("?")[0]
    copy = f"{name}_retention"
    build_db._pg_admin(url, f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
    build_db._pg_admin(url, f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    return url.replace(f"/{name}", f"/{copy}", 1)


def drop_copy(url: str) -> None:
    if build_db.is_sqlite(url):
        path = build_db.sqlite_path(url)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        build_db._pg_admin(url, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1].split("?")[0]}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="1m", choices=list(build_db.SHAPES))
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)

    from dataclasses import asdict

    from app import create_app
    from app.extensions import db
    from app.services import retention

    meta = build_db.ensure(args.db)
    reset_database(meta)
    t = time.perf_counter()
    url = copy_database(meta)
    log(f"copy of the {meta['counts']['orders']:,}-order database: {time.perf_counter() - t:.1f} s")
    workdir = build_db.DATA_DIR / "retention"
    res: dict = {"orders": meta["counts"]["orders"], "calibration_ms": calibrate()}
    try:
        app = create_app(app_config(url, workdir))
        with app.app_context():
            from app.models import utcnow

            now = utcnow()  # one moment for all three: orders closing past the cutoff meanwhile are not "left over"
            t = time.perf_counter()
            planned = retention.plan(now)
            res["dry_run_s"] = round(time.perf_counter() - t, 1)
            log(f"dry run: {res['dry_run_s']} s: {asdict(planned)}")
            t = time.perf_counter()
            done = retention.run(now)
            res["run_s"] = round(time.perf_counter() - t, 1)
            log(f"run: {res['run_s']} s: {asdict(done)}")
            t = time.perf_counter()
            again = retention.run(now)
            res["second_run_s"] = round(time.perf_counter() - t, 1)
            res |= {"planned": asdict(planned), "done": asdict(done), "second": asdict(again)}
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_copy(url)
    ok = res["dry_run_s"] <= TARGET_S and res["run_s"] <= TARGET_S and res["done"] == res["planned"] \
        and not any(res["second"][k] for k in ("orders", "public_orders", "files", "messages"))
    backend = "sqlite" if build_db.is_sqlite(meta["url"]) else "postgresql"
    print()
    print(f"make bench-retention: {backend}, {meta['counts']['orders']:,} orders; machine calibration "
          f"{res['calibration_ms']} ms")
    print(f"  dry run {res['dry_run_s']} s, run {res['run_s']} s ({res['done']['orders'] + res['done']['public_orders']:,} "
          f"orders anonymised, {res['done']['messages']:,} messages, {res['done']['files']:,} files, "
          f"{res['done']['audit_pruned']:,} audit entries pruned), second run {res['second_run_s']} s")
    print(f"  target: each within {TARGET_S} s, the run does what the dry run counted, a second run "
          f"finds nothing: {'PASS' if ok else 'FAIL'}")
    path = Path(args.results)
    data = {}
    if path.exists():
        with contextlib.suppress(Exception):
            data = json.loads(path.read_text())
    data["retention"] = res
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A tiny run of `make bench` (bench/), so the benchmark cannot rot: every scenario runs
a few times on a small database built by the same generator; only that figures come out
is checked, never how fast they are. On the PostgreSQL pass it builds there too."""
from __future__ import annotations

import json

from bench import build_db, run

SHAPE = build_db.Shape(companies=40, orders=400, big_orders=100, login_companies=2)


def test_bench_smoke(tmp_path, pg_cluster):
    if pg_cluster is None:
        url = f"sqlite:///{tmp_path / 'bench.db'}"
    else:
        pg_cluster.execute("CREATE DATABASE bench_smoke")
        url = pg_cluster.url("bench_smoke")
    meta = build_db.build(url, SHAPE, workdir=tmp_path / "build", quiet=True)
    assert meta["counts"]["orders"] == 400 and meta["counts"]["items"] >= 400
    assert meta["counts"]["devices"] == 400
    from sqlalchemy import create_engine, text as sql

    engine = create_engine(url)
    with engine.connect() as conn:  # every order has its promise; the final ones are completed
        assert conn.execute(sql("SELECT COUNT(*) FROM repair_order WHERE due_date IS NULL")).scalar() == 0
        assert conn.execute(sql("SELECT COUNT(*) FROM repair_order WHERE completed_at IS NOT NULL")).scalar() > 0
    engine.dispose()

    # the same small database stands in for the 1M and the 10k one
    results = run.run_all(meta, meta, tmp_path / "run", n=2, warmup=1, upload_mb=2,
                          vanilla_timeout=120, vanilla_mem_mb=4096)

    for key in ("portal_list_p50_ms", "portal_detail_p50_ms", "staff_list_p50_ms", "staff_list_status_p50_ms",
                "staff_list_company_p50_ms", "staff_list_search_p50_ms", "vanilla_staff_list_p50_ms",
                "floor_list_p50_ms", "create_order_p50_ms", "growth_portal_list", "growth_staff_list",
                "sql_portal_list", "sql_staff_list", "sql_portal_detail", "sql_floor_list",
                "portal_statistics_p50_ms", "portal_statistics_10k_p50_ms", "sql_portal_statistics",
                "staff_list_overdue_p50_ms", "quote_order_page_p50_ms", "quote_accept_p50_ms", "quote_pdf_p50_ms",
                "sql_quote_order_page", "import_preview_1000_p50_ms", "import_preview_1000_peak_mb",
                "import_save_1000_p50_ms", "device_history_p50_ms",
                "device_search_p50_ms"):
        assert results[key] > 0, key
    assert results["upload_50mb_rss_delta_mb"] >= 0
    # growth: both databases measured taking turns, as many requests each
    for name in ("portal_list", "staff_list"):
        pair = results["growth_pair"][name]
        assert pair["n"] == 2 and pair["main_db_p50_ms"] > 0 and pair["growth_db_p50_ms"] > 0
        assert abs(results[f"growth_{name}"] - pair["main_db_p50_ms"] / pair["growth_db_p50_ms"]) < 0.05
    assert not results["vanilla_staff_list_is_lower_bound"]
    assert set(results["sql_portal_list_by_page_size"]) == {"10", "25", "100"}
    rows = run.check_rows(results)
    assert rows and all(len(r) == 4 for r in rows)
    json.dumps(results)  # what bench/results.json gets

    # the run left the database as it was built: no new orders, the RMA counter where it was
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM repair_order")).scalar() == 400
            assert conn.execute(text("SELECT COUNT(*) FROM attachment")).scalar() == 0
            assert conn.execute(text("SELECT COUNT(*) FROM quote")).scalar() == 0
            assert conn.execute(text("SELECT COUNT(*) FROM device")).scalar() == 400
            # company 1's devices are the serial numbers of its orders: the history finds each one's order
            assert conn.execute(text(
                "SELECT COUNT(*) FROM device d WHERE d.company_id = 1 AND EXISTS (SELECT 1 FROM order_item i "
                "WHERE i.company_id = 1 AND i.serial_number = d.serial_number)")).scalar() == 100
    finally:
        engine.dispose()

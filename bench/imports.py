"""Device import scenarios of `make bench`: a 1,000-row XLSX through the preview (time and the peak
of Python memory while it is read) and its saving ("Übernehmen"), as company 1's admin. Every file
has serial numbers of its own; the run's reset removes the devices again."""
from __future__ import annotations

import io
import re
import statistics
import time
import tracemalloc

from bench.build_db import log

IMPORT_ROWS = 1000
MB = 1024 * 1024


def xlsx_file(tag: str, rows: int = IMPORT_ROWS) -> bytes:
    """A register file as a company would send it: German headers, dates as dates."""
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Geräte")
    sheet.append(["Seriennummer", "Artikelnummer", "Bezeichnung", "Lieferdatum", "Garantie bis",
                  "Standort oder Kostenstelle", "Hinweis"])
    for i in range(rows):
        delivered = dt.date(2025, 1, 1) + dt.timedelta(days=i % 365)
        sheet.append([f"IMP-{tag}-{i:05d}", f"A-{4711 + i % 50}", f"Messgerät MX-{200 + i % 40}", delivered,
                      delivered + dt.timedelta(days=730), f"KST-{100 + i % 20}", "Import aus dem ERP"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _preview(bench, content: bytes):
    data = {"file": (io.BytesIO(content), "geraete.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    return bench.request("company_admin", "POST", "/cc/devices/import", data=data,
                         content_type="multipart/form-data")


def measure_imports(bench, n: int, warmup: int) -> dict:
    """Preview p50 (the same file each time), peak traced memory of one preview, confirm p50."""
    from bench.run import turn

    n = max(3, min(n, 10))  # each request reads 1,000 rows: a handful is enough for a median
    # the small smoke database (tests/test_bench_smoke.py) checks that the figures come out, quickly
    rows = IMPORT_ROWS if bench.meta["counts"]["orders"] >= 100_000 else 20
    content = xlsx_file("P", rows)
    times = []
    for i in range(n + 1):
        response, elapsed, _sql = _preview(bench, content)
        if response.status_code != 200 or b'name="token"' not in response.data:
            raise RuntimeError(f"import preview answered {response.status_code} without a confirmable preview")
        if i:
            times.append(elapsed * 1000)
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    _preview(bench, content)
    peak = (tracemalloc.get_traced_memory()[1] - before) / MB
    tracemalloc.stop()

    saves = []
    for i in range(n):
        response, _elapsed, _sql = _preview(bench, xlsx_file(f"S{i}", rows))
        token = re.search(rb'name="token" value="([^"]+)"', response.data).group(1).decode()
        response, elapsed, _sql = bench.request("company_admin", "POST", "/cc/devices/import/confirm",
                                                data={"token": token})
        if response.status_code != 302:
            raise RuntimeError(f"import confirm answered {response.status_code}")
        saves.append(elapsed * 1000)
    turn()
    res = {
        "import_preview_1000_p50_ms": round(statistics.median(times), 1),
        "import_preview_1000_peak_mb": round(peak, 1),
        "import_save_1000_p50_ms": round(statistics.median(saves), 1),
        "import_n": n,
        "import_rows": rows,
        "import_file_bytes": len(content),
    }
    log(f"  import preview (1,000 rows XLSX): p50 {res['import_preview_1000_p50_ms']:.0f} ms, peak "
        f"{peak:.1f} MB traced; save p50 {res['import_save_1000_p50_ms']:.0f} ms ({n} each)")
    return res

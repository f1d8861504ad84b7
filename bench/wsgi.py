"""WSGI entry of `make bench-load`: the app on a benchmark database (``BENCH_META`` = its meta JSON).

    BENCH_META=bench/data/bench-1m-….json gunicorn -w 2 -k gthread --threads 4 bench.wsgi:app
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from bench.build_db import DATA_DIR, app_config  # noqa: E402

_meta = json.loads(Path(os.environ["BENCH_META"]).read_text())
app = create_app(app_config(_meta["url"], DATA_DIR / "load"))

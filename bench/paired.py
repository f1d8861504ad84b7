"""`make bench` on SQLite and on PostgreSQL at the same time, taking turns block by block.

This machine's speed changes within minutes (bench/README.md), so two runs one after the other do
not compare the databases: each would be measured at another speed. Here two processes run the same
benchmark, one on the SQLite files and one on ``DATABASE_URL``, and pass a baton: one measures
``run.TURN_BLOCK`` requests of a scenario while the other waits, then the other measures as many
of the same scenario, and so on, so a slow minute of the machine falls on both. Setting up (databases,
logins, the orders a scenario needs) happens while holding the baton too, so at any time only one
of them works. Each writes its usual results file; the coordinator prints both side by side.

    DATABASE_URL=postgresql://… python -m bench.run --paired --n 40
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
from pathlib import Path


class Baton:
    """Two processes take turns: ``turn()`` hands over to the other one and waits to get it back;
    once one has finished, the other runs on alone."""

    def __init__(self, mine, theirs, my_done, their_done):
        self.mine, self.theirs, self.my_done, self.their_done = mine, theirs, my_done, their_done

    def start(self) -> None:
        self.mine.acquire()

    def turn(self) -> None:
        if self.their_done.is_set():
            return
        self.theirs.release()
        self.mine.acquire()

    def finish(self) -> None:
        self.my_done.set()
        self.theirs.release()


def _worker(database_url: str | None, argv: list[str], baton: Baton) -> None:
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    baton.start()
    try:
        from bench import run

        run.BATON = baton
        run.SETTINGS["turn_every"] = run.TURN_BLOCK
        code = run.main(argv)
    finally:
        baton.finish()
    sys.exit(code)


def run_paired(argv: list[str], database_url: str, results_sqlite: Path, results_pg: Path) -> int:
    """Both runs, SQLite first at every turn; then the two tables side by side."""
    from bench.build_db import log

    ctx = multiprocessing.get_context("spawn")
    sems = [ctx.Semaphore(0), ctx.Semaphore(0)]
    done = [ctx.Event(), ctx.Event()]
    sems[0].release()  # SQLite starts
    runs = [("SQLite", None, results_sqlite), ("PostgreSQL", database_url, results_pg)]
    procs = []
    for i, (_name, url, results) in enumerate(runs):
        baton = Baton(sems[i], sems[1 - i], done[i], done[1 - i])
        procs.append(ctx.Process(target=_worker, args=(url, [*argv, "--results", str(results)], baton)))
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    failed = [name for (name, _u, _r), p in zip(runs, procs) if p.exitcode != 0]
    if failed:
        log(f"paired run failed on {', '.join(failed)}")
        return 1
    tables = [json.loads(results.read_text())["table"] for _n, _u, results in runs]
    print()
    print(side_by_side(*tables, calibrations=[json.loads(r.read_text())["machine"]["calibration_ms"]
                                              for _n, _u, r in runs]))
    return 0


def side_by_side(sqlite_rows: list, pg_rows: list, calibrations: list[float]) -> str:
    """One line per figure: SQLite's value and result, PostgreSQL's, and whether PostgreSQL meets
    every target that SQLite meets."""
    pg = {row[0]: row for row in pg_rows}
    header = ("figure (p50 unless noted)", "SQLite", "PostgreSQL", "target", "result")
    lines = []
    missed = []
    for label, value, target, result in sqlite_rows:
        pg_row = pg.get(label, (label, "–", target, ""))
        if result == "PASS" and pg_row[3] != "PASS":
            missed.append(label.strip())
        verdict = f"{result or ''} / {pg_row[3] or ''}" if (result or pg_row[3]) else ""
        lines.append((label, value, pg_row[1], target, verdict))
    widths = [max(len(row[i]) for row in lines + [header]) for i in range(5)]
    from bench.run import TURN_BLOCK

    out = [f"make bench --paired: SQLite and PostgreSQL taking turns every {TURN_BLOCK} requests; machine calibration "
           f"{calibrations[0]} / {calibrations[1]} ms at the start (bench/README.md)", ""]
    for row in [header, None, *lines]:
        if row is None:
            out.append("-" * (sum(widths) + 8))
            continue
        a, b, c, d, e = row
        out.append(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d:<{widths[3]}}  {e}".rstrip())
    out.append("")
    out.append("PostgreSQL meets every target SQLite meets: " + ("yes" if not missed else
                                                              "no: " + "; ".join(missed)))
    return "\n".join(out)

"""`make bench --paired`: the SQLite and PostgreSQL runs take turns, so both measure each scenario at
the same machine speed, and the table says which targets PostgreSQL misses that SQLite meets."""
from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from bench.paired import Baton, side_by_side


def _steps(name: str, count: int, baton: Baton, log: str) -> None:
    def note(text: str) -> None:  # written at once, in the order it happens (O_APPEND, no buffer)
        fd = os.open(log, os.O_WRONLY | os.O_APPEND)
        os.write(fd, f"{text}\n".encode())
        os.close(fd)

    baton.start()
    try:
        for i in range(count):
            note(f"{name}{i}")
            time.sleep(0.01)  # a scenario takes a while: the other one must not start meanwhile
            note(f"{name}{i}.")
            baton.turn()
    finally:
        baton.finish()


def _run(counts: tuple[int, int], tmp_path: Path) -> list[str]:
    log = tmp_path / "steps.log"
    log.write_text("")
    ctx = multiprocessing.get_context("spawn")
    sems, done = [ctx.Semaphore(0), ctx.Semaphore(0)], [ctx.Event(), ctx.Event()]
    sems[0].release()
    procs = [ctx.Process(target=_steps, args=(name, count, Baton(sems[i], sems[1 - i], done[i], done[1 - i]),
                                              str(log)))
             for i, (name, count) in enumerate(zip("ab", counts))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    return log.read_text().split()


def test_the_two_runs_take_turns_and_never_measure_at_once(tmp_path):
    assert _run((3, 3), tmp_path) == ["a0", "a0.", "b0", "b0.", "a1", "a1.", "b1", "b1.", "a2", "a2.", "b2", "b2."]


def test_when_one_run_ends_early_the_other_goes_on_alone(tmp_path):
    assert _run((1, 3), tmp_path) == ["a0", "a0.", "b0", "b0.", "b1", "b1.", "b2", "b2."]
    assert _run((3, 1), tmp_path) == ["a0", "a0.", "b0", "b0.", "a1", "a1.", "a2", "a2."]


def test_the_table_names_each_target_postgresql_misses_where_sqlite_meets_it():
    sqlite = [["1 portal list", "7.0 ms", "<= 15 ms", "PASS"], ["  portal list p95", "7.7 ms", "", ""],
              ["11 order page with a 30-line quote", "11.2 ms", "<= 15 ms", "PASS"],
              ["  statistics", "52.0 ms", "<= 50 ms", "FAIL"]]
    pg = [["1 portal list", "10.8 ms", "<= 15 ms", "PASS"], ["  portal list p95", "14.9 ms", "", ""],
          ["11 order page with a 30-line quote", "16.8 ms", "<= 15 ms", "FAIL"],
          ["  statistics", "55.0 ms", "<= 50 ms", "FAIL"]]
    table = side_by_side(sqlite, pg, calibrations=[10.0, 9.4])
    lines = table.splitlines()
    quote = next(line for line in lines if line.startswith("11 order page"))
    assert "11.2 ms" in quote and "16.8 ms" in quote and quote.endswith("PASS / FAIL")
    # a target both miss is no PostgreSQL miss; the p95 row has no target
    assert lines[-1] == "PostgreSQL meets every target SQLite meets: no: 11 order page with a 30-line quote"
    pg[2] = ["11 order page with a 30-line quote", "14.0 ms", "<= 15 ms", "PASS"]
    assert side_by_side(sqlite, pg, [10.0, 9.4]).splitlines()[-1] == "PostgreSQL meets every target SQLite meets: yes"


def test_a_scenario_hands_over_after_each_block_of_requests(monkeypatch):
    """With --paired, a scenario of 40 requests is measured in four blocks of 10, the other run's
    blocks in between; back from the other run, one request is not timed."""
    from types import SimpleNamespace

    from bench import run

    events = []

    class Response:
        status_code, data = 200, b"ok"

        def close(self):
            pass

    def request(who, method, url, **kwargs):
        events.append("request")
        bench.last_cpu = 0.001
        return Response(), 0.005, 3

    monkeypatch.setattr(run, "BATON", SimpleNamespace(turn=lambda: events.append("turn")))
    monkeypatch.setitem(run.SETTINGS, "turn_every", 10)
    bench = run.Bench.__new__(run.Bench)
    bench.request = request
    stats = bench.measure("portal_list", "company_admin", "/cc/orders/", n=40, warmup=3)
    assert len(stats.times_ms) == 40
    assert events == (["request"] * 13 + ["turn"] + ["request"] * 11 + ["turn"] + ["request"] * 11 + ["turn"]
                      + ["request"] * 11 + ["turn"])

    events.clear()
    monkeypatch.setitem(run.SETTINGS, "turn_every", 0)  # alone: one turn (a no-op) at the end
    bench.measure("portal_list", "company_admin", "/cc/orders/", n=40, warmup=3)
    assert events == ["request"] * 43 + ["turn"]

"""Migration 0011: a database made before it gets ``dispatch_delivery_times``, empty."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from optimization.delivery.day_replay import DAY_KPIS, DELIVERY_TIMES
from warehouse import plan, runs
from warehouse.schema import connect, current_version, migrate

DAY = date(2026, 11, 20)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def test_an_older_database_gets_the_table_and_its_replays_keep_their_kpis(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert migrate(con, target=10)[-1] == 10
    assert "dispatch_delivery_times" not in _tables(con)
    older = runs.start_run(con, "route", DAY)
    kpis = pl.DataFrame(
        [
            {
                **dict.fromkeys(DAY_KPIS.names(), 0),
                "warehouse_id": "FW001",
                "dispatcher": "naive",
                "day": DAY,
                "fleet_sized": False,
            }
        ]
    )
    plan.write_dispatch_kpis(con, older, kpis, {})
    con.close()

    with connect(path) as con:
        assert current_version(con) >= 11
        assert "dispatch_delivery_times" in _tables(con)
        # The replay made before has its KPIs and no distribution.
        assert con.execute("SELECT count(*) FROM dispatch_kpis").fetchall() == [(1,)]
        assert con.execute("SELECT count(*) FROM dispatch_delivery_times").fetchall() == [(0,)]
        newer = runs.start_run(con, "route", DAY)
        times = pl.DataFrame(
            [("FW001", "naive", DAY, 9, 31, 4)], schema=DELIVERY_TIMES, orient="row"
        )
        plan.write_dispatch_kpis(con, newer, kpis, {}, times=times)
        rows = con.execute("SELECT run_id, hour, minutes, orders FROM dispatch_delivery_times")
        assert rows.fetchall() == [(newer, 9, 31, 4)]

"""A published plan small enough to read at a glance, built with the warehouse's own writers.

Two forward warehouses 2 km apart in the same district (each in reach of both
stores), one DC, six parts; counted yesterday (local time), so the API's clock
is the real one:

=====  ==========================  ==========================================
SKU    FW01 (S0001's own)          elsewhere
=====  ==========================  ==========================================
P1     5                           FW02 2
P2     0                           FW02 4      → alternative: FW02
P3     0 + 3 arriving today        6 more arriving in 3 days
P4     5                           -           (the race: 5 units, no spare)
P5     0                           2 arriving in 3 days → alternative: arrival
P6     0                           -           → no alternative
=====  ==========================  ==========================================

FW01's dispatch replay had 3 riders at 1 order a trip; FW02 has none (the
promise takes the default fleet there).

The published night's plan is tests/warehouse/test_published.py's five lines
renamed onto this world (FW001 → FW01, FW002 → FW02, A/B/C → P1/P2/P3): FW01/P1
is cut, FW02/P3 pulled back, and every line counts nothing free (a stock-out).
Vehicle ``VM1`` takes P1 (engine) and P2 (front, 4), with an oil service on
P1's part type every 10,000 km or 12 months; ``VM2`` takes P6 only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from api.promise import LOCAL
from optimization.delivery.day_replay import DAY_KPIS
from tests.warehouse.test_published import FORECASTS, PLAN, _frame, _transfers
from warehouse import plan, runs, transfers
from warehouse.schema import connect

STORE, OTHER_STORE = "S0001", "S0002"
SKUS = ("P1", "P2", "P3", "P4", "P5", "P6")


def today() -> date:
    """The stores' (Asia/Shanghai) calendar day now."""
    return datetime.now(UTC).astimezone(LOCAL).date()


def build(work: Path, snapshots: Path, counts: dict[tuple[str, str], int] | None = None) -> str:
    """Write one night into a fresh database in ``work`` and publish it; returns its run id.

    ``counts`` replaces the forward warehouses' counts (default: the table above).
    """
    as_of = today() - timedelta(days=1)
    work.mkdir(parents=True, exist_ok=True)
    with connect(work / "w.duckdb") as con:
        _master(con)
        _counts(con, as_of, counts or _COUNTS)
        released = runs.start_run(con, "nightly", as_of, {"history_days": 28})
        heads, lines = _transfers(
            released,
            [
                ("DC01", "FW01", today(), {"P3": 3}),
                ("DC01", "FW01", today() + timedelta(days=3), {"P3": 6, "P5": 2}),
            ],
        )
        night = plan.NightTables(FORECASTS.head(0), PLAN.head(0), transfers=(heads, lines))
        plan.write_plan(con, released, night, {})
        for transfer_id in heads["transfer_id"]:
            transfers.approve(con, transfer_id, "ann")
            transfers.release(con, transfer_id, "ann")
        run_id = runs.start_run(con, "nightly", as_of, {"history_days": 28})
        tonight = plan.NightTables(_renamed(FORECASTS, as_of), _renamed(PLAN, as_of))
        plan.write_plan(con, run_id, tonight, {"lines_proposed": 4})
        dispatch = runs.start_run(con, "route", as_of)
        kpis = _frame(
            pl.Schema([*DAY_KPIS.items(), ("fleet_sized", pl.Boolean())]),
            "dispatcher riders orders_per_trip",
            [("rolling", 3, 1.0), ("naive", 5, 1.0)],
            warehouse_id="FW01",
            day=as_of,
        )
        plan.write_dispatch_kpis(con, dispatch, kpis, {})
        plan.publish_snapshot(con, run_id, snapshots)
    return run_id


_COUNTS = {
    ("FW01", "P1"): 5,
    ("FW02", "P1"): 2,
    ("FW01", "P2"): 0,
    ("FW02", "P2"): 4,
    ("FW01", "P3"): 0,
    ("FW01", "P4"): 5,
    ("FW01", "P5"): 0,
}


_NAMES = {"FW001": "FW01", "FW002": "FW02", "A": "P1", "B": "P2", "C": "P3"}


def _renamed(frame: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """test_published's rows on this world's warehouses, SKUs and day."""
    moved = frame.with_columns(
        pl.col("warehouse_id").replace(_NAMES),
        pl.col("sku").replace(_NAMES),
        **({"category": pl.lit("filters")} if "category" in frame.columns else {}),
    )
    if "unique_id" in frame.columns:
        shift = pl.duration(days=(as_of - moved["ds"].min()).days + 1)
        moved = moved.with_columns(
            unique_id=pl.concat_str("warehouse_id", pl.lit("/"), "sku"), ds=pl.col("ds") + shift
        )
    if "as_of" in frame.columns:
        moved = moved.with_columns(as_of=pl.lit(as_of))
    return moved


def _master(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO warehouses VALUES"
        " ('DC01', 'dc', 'dc', 31.00, 121.00, 1e6, NULL, '2020-01-01'),"
        " ('FW01', 'one', 'forward', 31.200, 121.400, 1e3, 'DC01', '2020-01-01'),"
        " ('FW02', 'two', 'forward', 31.210, 121.420, 1e3, 'DC01', '2020-01-01')"
    )
    con.execute(
        "INSERT INTO stores VALUES"
        " ('S0001', 'one', 31.205, 121.405, 'FW01', '2020-01-01', false),"
        " ('S0002', 'two', 31.212, 121.418, 'FW02', '2020-01-01', false)"
    )
    con.execute(
        "INSERT INTO skus SELECT sku, sku, 'filters', 't', 'b', 1, 1.0, 1, 2, 0, false, false "
        "FROM (SELECT unnest(?) AS sku)",
        [list(SKUS)],
    )
    con.execute("UPDATE skus SET part_type = 'oil_filter' WHERE sku = 'P1'")
    con.execute(
        "INSERT INTO vehicle_models VALUES ('VM1', 'make', 'sedan', 'ice', 2015, NULL, 'c'),"
        " ('VM2', 'make', 'ev', 'bev', 2020, NULL, 'c')"
    )
    con.execute(
        "INSERT INTO fitment VALUES ('P1', 'VM1', 'engine', 1), ('P2', 'VM1', 'front', 4),"
        " ('P6', 'VM2', 'any', 1)"
    )
    con.execute(
        "INSERT INTO maintenance_schedules VALUES ('VM1', 'oil_filter', 10000, 12),"
        " ('VM1', 't', 60000, NULL)"
    )


def _counts(
    con: duckdb.DuckDBPyConnection, as_of: date, counts: dict[tuple[str, str], int]
) -> None:
    rows = [(w, s, n) for (w, s), n in counts.items()] + [("DC01", s, 100) for s in SKUS]
    for warehouse, sku, on_hand in rows:
        con.execute(
            "INSERT INTO stock_levels VALUES (?, ?, ?, ?, 0, 0, 'f', now())",
            [warehouse, sku, as_of, on_hand],
        )

"""Stock counts behind the stock-out rule, and storing the engine's model choice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.distributions import CALIBRATION
from models.selection import SELECTION_SCHEMA, Selection
from pipelines.demand_series import STOCK_COUNTS, stockout_spans
from warehouse import demand, forecasting, runs
from warehouse.schema import connect


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A database with one DC, one forward warehouse and one sku."""
    con = connect(tmp_path / "w.duckdb")
    con.execute(
        "INSERT INTO warehouses VALUES ('DC1', 'dc', 'dc', 31, 121, 1000, NULL, '2020-01-01'),"
        " ('FW1', 'fw', 'forward', 31, 121, 100, 'DC1', '2020-01-01')"
    )
    con.execute(
        "INSERT INTO skus VALUES ('K1', 'k', 'filters', 'oil_filter', 'b', 1, 1.0, 1, 2, 0,"
        " false, false)"
    )
    return con


def _stock(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, int, int, int]]) -> None:
    for warehouse, day, on_hand, reserved, in_transit in rows:
        con.execute(
            "INSERT INTO stock_levels VALUES (?, 'K1', ?, ?, ?, ?, 'f', now())",
            [warehouse, day, on_hand, reserved, in_transit],
        )


def test_stock_out_spans_run_from_the_day_after_an_empty_count(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _stock(
        con,
        [
            ("FW1", "2026-03-01", 5, 0, 0),
            ("FW1", "2026-03-10", 2, 2, 0),  # all reserved: nothing available
            ("FW1", "2026-03-15", 4, 0, 0),
            ("FW1", "2026-03-20", 0, 0, 3),  # empty but a delivery is on its way
            ("FW1", "2026-03-25", 0, 0, 0),
            ("DC1", "2026-03-02", 0, 0, 0),  # the DC is not a forward warehouse
        ],
    )
    start, as_of = date(2026, 1, 1), date(2026, 3, 31)
    spans = stockout_spans(demand.stock_counts(con, start, as_of), start, as_of)
    assert spans.select("from_day", "to_day").rows() == [
        (date(2026, 3, 11), date(2026, 3, 14)),
        (date(2026, 3, 26), date(2026, 3, 31)),
    ]


def test_stock_counts_hold_the_window_and_the_last_count_before_it(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _stock(
        con,
        [
            ("FW1", "2026-02-01", 0, 0, 0),
            ("FW1", "2026-02-20", 3, 1, 0),  # the state the window starts in
            ("FW1", "2026-03-05", 2, 2, 1),
            ("FW1", "2026-04-02", 9, 0, 0),  # after the as-of day
            ("DC1", "2026-03-02", 0, 0, 0),  # the DC is not a forward warehouse
        ],
    )
    counts = demand.stock_counts(con, date(2026, 3, 1), date(2026, 3, 31))
    assert counts.schema == STOCK_COUNTS
    assert counts.rows() == [
        ("FW1", "K1", date(2026, 2, 20), 2, 0),
        ("FW1", "K1", date(2026, 3, 5), 0, 1),
    ]


def test_the_model_choice_round_trips(con: duckdb.DuckDBPyConnection) -> None:
    run_id = runs.start_run(con, "nightly", date(2026, 3, 31))
    selection = Selection(
        pl.DataFrame(
            [("FW1/K1", "lumpy", "filters", "TSB", 0.4, date(2026, 3, 31))],
            schema=SELECTION_SCHEMA,
            orient="row",
        ),
        pl.DataFrame([("lumpy", "TSB", 95, 1.2, 96.5)], schema=CALIBRATION, orient="row"),
    )
    assert forecasting.load_selections(con) == {}
    forecasting.save_selections(con, run_id, {"FW1": selection})
    forecasting.save_selections(con, run_id, {"FW1": selection})  # replaces, never duplicates
    loaded = forecasting.load_selections(con)
    assert list(loaded) == ["FW1"]
    assert_frame_equal(loaded["FW1"].models, selection.models)
    assert_frame_equal(loaded["FW1"].calibration, selection.calibration)
    stored = con.execute("SELECT warehouse_id, sku FROM forecast_selection").fetchall()
    assert stored == [("FW1", "K1")]


def test_the_series_kept_at_the_dc_come_from_the_latest_earlier_plan(
    con: duckdb.DuckDBPyConnection,
) -> None:
    from optimization.replenishment.planning import NETWORK_SHELF, plan_network
    from optimization.replenishment.policy import DEMAND_DISTRIBUTION, POSITIONS, SKU_POLICY
    from warehouse.plan import NightTables, write_plan

    con.execute(
        "INSERT INTO skus VALUES ('K2', 'k2', 'filters', 'oil_filter', 'b', 1, 1.0, 1, 2, 0,"
        " false, false)"
    )
    day = date(2026, 3, 31)
    rates = pl.DataFrame(
        [("FW1", "K1", 1.0, 1.0, "smooth", day), ("FW1", "K2", 0.0, 1.0, "dormant", None)],
        schema=DEMAND_DISTRIBUTION,
        orient="row",
    )
    skus = pl.DataFrame(
        [(s, "filters", 1, 1, 1, 0, False, 1.0, 1.0, 1.0) for s in ("K1", "K2")],
        schema=SKU_POLICY,
        orient="row",
    )
    shelf = pl.DataFrame([("FW1", "DC1", 100.0)], schema=NETWORK_SHELF, orient="row")
    dc = pl.DataFrame(schema={"dc_id": pl.String, "sku": pl.String, "available": pl.Int64})
    plan = plan_network(rates, POSITIONS.to_frame(), skus, dc, shelf, day).plan
    run_id = runs.start_run(con, "nightly", day)
    write_plan(con, run_id, NightTables(pl.DataFrame(schema={"sku": pl.String}), plan), {})
    assert demand.kept_at_dc(con, day).is_empty()  # no plan before the 31st
    assert demand.kept_at_dc(con, date(2026, 4, 1)).rows() == [("FW1", "K2")]

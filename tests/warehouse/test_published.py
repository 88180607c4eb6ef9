"""The read side of the published plan (warehouse.published) on a hand-built snapshot."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.schemas import NETWORK_FORECAST
from optimization.delivery.coverage import ASSIGNMENT_CHECK
from optimization.delivery.day_replay import DAY_KPIS, DELIVERY_CAP_MIN, DELIVERY_TIMES
from optimization.evaluation.replay import REPLAY_RESULTS
from optimization.replenishment.planning import (
    ALLOCATION_STATS,
    NETWORK_PLAN,
    TRANSFER_LINES,
    TRANSFER_ORDERS,
)
from optimization.routing.linehaul import ROUTE_ROWS
from pipelines.demand_series import STOCK_COUNTS
from warehouse import plan, published, runs, transfers
from warehouse.forecasting import ACCURACY
from warehouse.schema import connect

AS_OF = date(2026, 11, 20)
HISTORY_DAYS = 14  # the window is 7 .. 20 November
TOMORROW = AS_OF + timedelta(days=1)
_FILL: dict[Any, Any] = {pl.String: "-", pl.Int64: 1, pl.Float64: 0.5, pl.Boolean: True}


def _frame(schema: pl.Schema, names: str, rows: list[tuple[Any, ...]], **same: Any) -> pl.DataFrame:
    """Rows of ``schema``: the ``names`` columns from each tuple, ``same`` in every row, and a
    plain value of its type in any other column."""
    given = [{**same, **dict(zip(names.split(), row, strict=True))} for row in rows]
    return pl.DataFrame(
        [{k: row.get(k, _FILL.get(t.base_type())) for k, t in schema.items()} for row in given],
        schema=schema,
        orient="row",
    )


def _master(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO warehouses VALUES ('DC01', 'dc', 'dc', 31.0, 121.0, 1e6, NULL, '2020-01-01'),"
        " ('FW001', 'a', 'forward', 31.1, 121.1, 1e3, 'DC01', '2020-01-01'),"
        " ('FW002', 'b', 'forward', 31.2, 121.2, 1e3, 'DC01', '2020-01-01')"
    )
    con.execute(
        "INSERT INTO stores VALUES ('S1', 's1', 31.1, 121.1, 'FW001', '2020-01-01', false),"
        " ('S2', 's2', 31.15, 121.15, 'FW002', '2020-01-01', false)"
    )
    con.execute(
        "INSERT INTO skus SELECT sku, sku, 'tyres', 't', 'b', 1, 1.0, 1, 2, 0, false, false "
        "FROM (VALUES ('A'), ('B'), ('C')) v(sku)"
    )
    # (warehouse, sku, day, quantity, status): one line before the window, one cancelled.
    lines = [
        ("FW001", "A", date(2026, 11, 1), 9, "completed"),
        ("FW001", "A", date(2026, 11, 10), 2, "completed"),
        ("FW001", "A", date(2026, 11, 10), 1, "completed"),
        ("FW001", "A", date(2026, 11, 15), 4, "completed"),
        ("FW001", "A", date(2026, 11, 18), 5, "cancelled"),
        ("FW001", "A", AS_OF, 1, "completed"),
        ("FW002", "B", date(2026, 11, 12), 2, "completed"),
    ]
    for n, (warehouse, sku, day, quantity, status) in enumerate(lines):
        store = "S1" if warehouse == "FW001" else "S2"
        at = datetime(day.year, day.month, day.day, 4, tzinfo=UTC)
        con.execute(
            "INSERT INTO orders VALUES (?, ?, ?, 'store', ?, ?, NULL)",
            [f"O{n}", store, warehouse, at, day],
        )
        con.execute(
            "INSERT INTO order_lines VALUES "
            "(?, 1, ?, ?, ?, ?, ?, ?, 10, 'store', ?, NULL, 'f', now())",
            [f"O{n}", at, day, store, warehouse, sku, quantity, status],
        )
    # (warehouse, sku, day, on hand, reserved): the 22nd is after the run's as-of day.
    counts = [
        ("FW001", "A", date(2026, 11, 1), 5, 0),
        ("FW001", "A", date(2026, 11, 12), 0, 0),
        ("FW001", "A", date(2026, 11, 16), 6, 1),
        ("FW001", "A", date(2026, 11, 22), 3, 0),
        ("FW001", "B", date(2026, 11, 18), 2, 0),
        ("FW002", "B", AS_OF, 4, 1),
        ("DC01", "A", AS_OF, 50, 0),
        ("DC01", "B", AS_OF, 20, 0),
    ]
    for warehouse, sku, day, on_hand, reserved in counts:
        con.execute(
            "INSERT INTO stock_levels VALUES (?, ?, ?, ?, ?, 0, 'f', now())",
            [warehouse, sku, day, on_hand, reserved],
        )


def _transfers(
    run_id: str, orders: list[tuple[str, str, date, dict[str, int]]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    heads, lines = [], []
    for source, destination, due, quantities in orders:
        transfer_id = f"{run_id}/{source}>{destination}/{due:%Y%m%d}"
        heads.append((transfer_id, source, destination, due))
        lines += [
            (transfer_id, n, sku, q, q, q) for n, (sku, q) in enumerate(quantities.items(), 1)
        ]
    return (
        _frame(TRANSFER_ORDERS, "transfer_id from_warehouse_id to_warehouse_id needed_by", heads),
        _frame(
            TRANSFER_LINES,
            "transfer_id line_no sku proposed_quantity allocated_quantity quantity",
            lines,
            reason="why",
        ),
    )


PLAN = _frame(
    NETWORK_PLAN,
    "warehouse_id sku action order_up_to inventory_position proposed_quantity "
    "allocated_quantity pull_back_quantity cut_by reason",
    [
        ("FW001", "A", "replenish", 8, 2, 6, 4, 0, "dc_stock+shelf", "S 8 for A"),
        ("FW001", "B", "replenish", 3, 1, 2, 2, 0, "none", "S 3 for B"),
        ("FW001", "C", "hold", 1, 1, 0, 0, 0, "none", "hold C"),
        ("FW002", "B", "replenish", 4, 1, 3, 3, 0, "none", "S 4 for B at FW002"),
        ("FW002", "C", "pull_back", 0, 1, 0, 0, 1, "none", "too much C"),
    ],
    as_of=AS_OF,
    category="tyres",
    target_kind="fill_rate",
    target_level=0.95,
    dispersion=1.5,
    rounding="none",
    idle_days=None,
    dc_id="DC01",
)
FORECASTS = _frame(
    NETWORK_FORECAST,
    "warehouse_id sku unique_id ds",
    [
        (w, s, f"{w}/{s}", AS_OF + timedelta(days=d))
        for w, s in (("FW001", "A"), ("FW001", "B"), ("FW002", "B"))
        for d in (1, 2, 3)
    ],
    mean=0.4,
    model="CrostonSBA",
    **{"class": "intermittent", "q50": 0.0, "q80": 1.0, "q90": 1.0, "q95": 2.0, "q99": 3.0},
)
ACCURACY_ROWS = _frame(
    ACCURACY, "scope key", [("network", "network"), ("series", "FW001/A"), ("series", "FW001/B")]
)
ROUTES = _frame(
    ROUTE_ROWS,
    "seq stop_id location_id arrival load distance_m",
    [
        (seq, stop, where, datetime(2026, 11, 20, 16 + seq, tzinfo=UTC), load, 1000 * seq)
        for seq, (stop, where, load) in enumerate(
            [("depart", "DC01", 9.0), ("FW001", "FW001", 9.0), ("return", "DC01", 0.0)]
        )
    ],
    kind="linehaul",
    route_id="v1/t1",
    vehicle_id="v1",
)
REPLAYS = _frame(
    REPLAY_RESULTS,
    "warehouse_id setting",
    [(w, s) for w in ("FW001", "FW002") for s in (0.9, 0.95)],
    policy="nb1_fill_rate",
)
COVERAGE = _frame(
    ASSIGNMENT_CHECK,
    "store_id warehouse_id distance_m nearest_warehouse_id nearest_distance_m ok issues",
    [
        ("S1", "FW001", 900, "FW001", 900, True, None),
        ("S2", "FW002", 4000, "FW001", 800, False, "FW001 is nearer"),
    ],
)
ALLOCATIONS = _frame(ALLOCATION_STATS, "dc_id status", [("DC01", "optimal")])
KPIS = _frame(
    pl.Schema([*DAY_KPIS.items(), ("fleet_sized", pl.Boolean())]),
    "dispatcher",
    [("naive",), ("rolling",)],
    warehouse_id="FW001",
    day=AS_OF,
)
#: The replay's distribution: FW001's naive dispatcher late twice at 09:00, over the cap.
TIMES = pl.DataFrame(
    [
        ("FW001", "naive", AS_OF, 9, 12, 1),
        ("FW001", "naive", AS_OF, 9, DELIVERY_CAP_MIN, 2),
        ("FW001", "rolling", AS_OF, 9, 12, 3),
    ],
    schema=DELIVERY_TIMES,
    orient="row",
)
SUMMARY = {"series_forecast": 3, "lines_proposed": 4}


@dataclass(frozen=True)
class World:
    """The working database, the published snapshot and the runs behind it."""

    db: Path
    snapshots: Path
    earlier: str  # a night whose orders were all released
    run_id: str  # the published night
    dispatch: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Two nights and a dispatch replay on 3 warehouses, 2 stores and 3 SKUs, then publish."""
    work = tmp_path_factory.mktemp("published")
    with connect(work / "w.duckdb") as con:
        _master(con)
        earlier = runs.start_run(con, "nightly", AS_OF, {"history_days": HISTORY_DAYS})
        # Released: one order the count of the 18th already holds, one due tomorrow.
        heads, lines = _transfers(
            earlier,
            [
                ("DC01", "FW001", date(2026, 11, 15), {"A": 1}),
                ("DC01", "FW001", TOMORROW, {"A": 2, "B": 0}),
            ],
        )
        empty = plan.NightTables(FORECASTS.head(0), PLAN.head(0), transfers=(heads, lines))
        plan.write_plan(con, earlier, empty, {})
        for transfer_id in heads["transfer_id"]:
            transfers.approve(con, transfer_id, "ann")
            transfers.release(con, transfer_id, "ann")
        run_id = runs.start_run(con, "nightly", AS_OF, {"history_days": HISTORY_DAYS})
        tonight = _transfers(
            run_id,
            [
                ("DC01", "FW001", TOMORROW, {"A": 4, "B": 2}),
                ("DC01", "FW002", TOMORROW, {"B": 3}),
                ("FW002", "DC01", TOMORROW, {"C": 1}),
            ],
        )
        tables = plan.NightTables(
            FORECASTS,
            PLAN,
            accuracy=ACCURACY_ROWS,
            allocations=ALLOCATIONS,
            transfers=tonight,
            routes=ROUTES,
            replays=REPLAYS,
            coverage=COVERAGE,
        )
        plan.write_plan(con, run_id, tables, SUMMARY)
        dispatch = runs.start_run(con, "route", AS_OF)
        plan.write_dispatch_kpis(con, dispatch, KPIS, {}, times=TIMES)
        plan.publish_snapshot(con, run_id, work / "published")
    return World(work / "w.duckdb", work / "published", earlier, run_id, dispatch)


@pytest.fixture
def snap(world: World) -> Iterator[duckdb.DuckDBPyConnection]:
    with published.open_snapshot(world.snapshots) as con:
        yield con


def test_no_published_plan_is_a_clear_error(tmp_path: Path) -> None:
    with (
        pytest.raises(published.NoPublishedPlanError, match="no plan published yet"),
        published.open_snapshot(tmp_path),
    ):
        pass


def test_a_snapshot_of_an_older_format_is_refused(tmp_path: Path) -> None:
    duckdb.connect(str(tmp_path / "plan.duckdb")).close()  # no snapshot_info: format 1
    with (
        pytest.raises(published.SnapshotError, match="snapshot format 1, this partsflow reads"),
        published.open_snapshot(tmp_path),
    ):
        pass


def test_the_published_run_carries_its_summary_and_history_window(
    snap: duckdb.DuckDBPyConnection, world: World
) -> None:
    run = published.published_run(snap)
    assert (run.run_id, run.as_of) == (world.run_id, AS_OF)
    assert run.history_start == AS_OF - timedelta(days=HISTORY_DAYS - 1)
    assert dict(run.summary) == SUMMARY
    assert run.params["history_days"] == HISTORY_DAYS
    assert run.started_at <= run.finished_at <= run.published_at


def test_a_warehouses_plan_is_its_lines_by_sku(snap: duckdb.DuckDBPyConnection) -> None:
    page = published.plan_lines(snap, "FW001")
    expected = (
        PLAN.filter(pl.col("warehouse_id") == "FW001")
        .rename({"target_level": "service_target"})
        .select(published.PLAN_LINES.names())
        .cast(published.PLAN_LINES)
    )
    assert_frame_equal(page.rows, expected)
    assert page.next_after is None


def test_plan_pages_follow_each_other_without_gaps(snap: duckdb.DuckDBPyConnection) -> None:
    skus, after = [], None
    while True:
        page = published.plan_lines(snap, "FW001", after=after, limit=2)
        skus += page.rows["sku"].to_list()
        if page.next_after is None:
            break
        after = page.next_after
    assert skus == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("filters", "skus"),
    [
        ({"cut_by": "shelf"}, ["A"]),  # one cause of "dc_stock+shelf"
        ({"cut_by": "any"}, ["A"]),
        ({"action": "hold"}, ["C"]),
        ({"proposed_only": True}, ["A", "B"]),
        ({"category": "wipers"}, []),
    ],
)
def test_plan_lines_filter(
    snap: duckdb.DuckDBPyConnection, filters: dict[str, Any], skus: list[str]
) -> None:
    where = published.PlanFilter(**filters)
    assert published.plan_lines(snap, "FW001", where).rows["sku"].to_list() == skus


def test_a_filter_on_an_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError, match=r"action must be one of replenish, .*, got 'buy'"):
        published.PlanFilter(action="buy")


def test_a_page_needs_at_least_one_row(snap: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="limit must be at least 1, got 0"):
        published.plan_lines(snap, "FW001", limit=0)


def test_a_series_history_is_completed_demand_zero_filled_over_the_window(
    snap: duckdb.DuckDBPyConnection,
) -> None:
    found = published.series(snap, "FW001", "A")
    assert found is not None
    days = pl.date_range(AS_OF - timedelta(days=HISTORY_DAYS - 1), AS_OF, eager=True)
    sold = {date(2026, 11, 10): 3, date(2026, 11, 15): 4, AS_OF: 1}  # not the cancelled 18th
    expected = pl.DataFrame(
        {"ds": days, "y": [sold.get(d, 0) for d in days]}, schema=published.SERIES_HISTORY
    )
    assert_frame_equal(found.history, expected)


def test_a_series_keeps_the_counts_behind_its_stock_out_days(
    snap: duckdb.DuckDBPyConnection,
) -> None:
    found = published.series(snap, "FW001", "A")
    assert found is not None
    # The last count before the window, those in it; not the one after the run's day.
    assert found.stock_counts["as_of"].to_list() == [
        date(2026, 11, 1),
        date(2026, 11, 12),
        date(2026, 11, 16),
    ]
    assert found.stock_counts["available"].to_list() == [5, 0, 5]


def test_a_series_shows_its_forecast_plan_line_and_transfer_lines(
    snap: duckdb.DuckDBPyConnection, world: World
) -> None:
    found = published.series(snap, "FW001", "A")
    assert found is not None
    assert (found.demand_class, found.model) == ("intermittent", "CrostonSBA")
    assert found.forecast["ds"].to_list() == [AS_OF + timedelta(days=d) for d in (1, 2, 3)]
    assert found.plan.select("order_up_to", "inventory_position", "reason").row(0) == (
        8,
        2,
        "S 8 for A",
    )
    assert found.accuracy["key"].to_list() == ["FW001/A"]
    # Tonight's line, and the earlier night's released line the counts do not hold yet.
    assert set(found.transfers.select("transfer_id", "quantity").rows()) == {
        (f"{world.earlier}/DC01>FW001/20261121", 2),
        (f"{world.run_id}/DC01>FW001/20261121", 4),
    }


def test_forecasts_are_paged_by_series_never_splitting_one(
    snap: duckdb.DuckDBPyConnection,
) -> None:
    first = published.forecasts(snap, limit=2)
    rest = published.forecasts(snap, after=first.next_after, limit=2)
    assert first.next_after == "FW001/B" and rest.next_after is None
    assert_frame_equal(pl.concat([first.rows, rest.rows]), FORECASTS)
    assert published.forecasts(snap, warehouse_id="FW002").rows["unique_id"].unique().to_list() == [
        "FW002/B"
    ]


def test_master_data_is_published_with_the_plan(snap: duckdb.DuckDBPyConnection) -> None:
    assert published.warehouses(snap, "forward")["warehouse_id"].to_list() == ["FW001", "FW002"]
    assert published.stores(snap, ["S2", "S9"])["warehouse_id"].to_list() == ["FW002"]
    assert published.skus(snap, ["B", "Z"])["sku"].to_list() == ["B"]  # Z is unknown
    assert published.skus(snap).height == 3


def test_an_unknown_series_is_none(snap: duckdb.DuckDBPyConnection) -> None:
    assert published.series(snap, "FW001", "NOPE") is None


def test_transfer_orders_are_the_nights_and_the_released_ones_still_on_their_way(
    snap: duckdb.DuckDBPyConnection, world: World
) -> None:
    rows = published.transfer_orders(snap).rows
    assert rows.sort("transfer_id")["transfer_id"].to_list() == rows["transfer_id"].to_list()
    assert set(rows.select("transfer_id", "status", "units").rows()) == {
        (f"{world.earlier}/DC01>FW001/20261121", "released", 2),
        (f"{world.run_id}/DC01>FW001/20261121", "proposed", 6),
        (f"{world.run_id}/DC01>FW002/20261121", "proposed", 3),
        (f"{world.run_id}/FW002>DC01/20261121", "proposed", 1),
    }


@pytest.mark.parametrize(
    ("filters", "count"),
    [({"warehouse_id": "FW002"}, 2), ({"status": "released"}, 1), ({"limit": 3}, 3)],
)
def test_transfer_orders_filter_and_page(
    snap: duckdb.DuckDBPyConnection, filters: dict[str, Any], count: int
) -> None:
    assert published.transfer_orders(snap, **filters).rows.height == count


def test_an_order_has_its_lines_with_the_plans_reasons_and_its_history(
    snap: duckdb.DuckDBPyConnection, world: World
) -> None:
    order = published.transfer_order(snap, f"{world.run_id}/FW002>DC01/20261121")
    assert order is not None
    assert (order.from_warehouse_id, order.to_warehouse_id, order.status) == (
        "FW002",
        "DC01",
        "proposed",
    )
    # A pull-back's plan line is the source's.
    assert order.lines.select("sku", "quantity", "action").rows() == [("C", 1, "pull_back")]
    assert order.history["status"].to_list() == ["proposed"]


def test_a_released_order_shows_each_status_it_went_through(
    snap: duckdb.DuckDBPyConnection, world: World
) -> None:
    order = published.transfer_order(snap, f"{world.earlier}/DC01>FW001/20261121")
    assert order is not None
    assert order.history["status"].to_list() == ["proposed", "approved", "released"]
    assert order.history["changed_by"].to_list() == ["nightly", "ann", "ann"]
    # The plan behind another night's order is not published: no reason columns.
    assert order.lines["action"].is_null().all()


def test_an_unknown_order_is_none(snap: duckdb.DuckDBPyConnection) -> None:
    assert published.transfer_order(snap, "nope") is None


@pytest.mark.parametrize(
    ("read", "written"),
    [
        (published.routes, ROUTES),
        (published.store_coverage, COVERAGE),
        (published.policy_replays, REPLAYS),
        (published.allocations, ALLOCATIONS),
    ],
)
def test_network_results_read_back_as_written(
    snap: duckdb.DuckDBPyConnection,
    read: Callable[[duckdb.DuckDBPyConnection], pl.DataFrame],
    written: pl.DataFrame,
) -> None:
    assert_frame_equal(read(snap), written)


def test_dispatch_kpis_are_the_latest_replays(
    snap: duckdb.DuckDBPyConnection, world: World
) -> None:
    expected = KPIS.sort("dispatcher").select(pl.lit(world.dispatch).alias("run_id"), pl.all())
    assert_frame_equal(published.dispatch_kpis(snap), expected)


def test_delivery_times_are_those_of_the_same_replay(
    snap: duckdb.DuckDBPyConnection, world: World
) -> None:
    expected = TIMES.select(pl.lit(world.dispatch).alias("run_id"), pl.all())
    every = published.dispatch_delivery_times(snap)
    fw001 = published.dispatch_delivery_times(snap, "FW001")
    fw002 = published.dispatch_delivery_times(snap, "FW002")
    assert every is not None and fw001 is not None and fw002 is not None
    assert_frame_equal(every, expected)
    assert_frame_equal(fw001, expected)
    assert fw002.is_empty()


def test_only_the_latest_replays_delivery_times_are_published(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        _master(con)
        night = runs.start_run(con, "nightly", AS_OF, {"history_days": HISTORY_DAYS})
        plan.write_plan(con, night, plan.NightTables(FORECASTS.head(0), PLAN.head(0)), {})
        older = runs.start_run(con, "route", AS_OF)
        plan.write_dispatch_kpis(con, older, KPIS, {}, times=TIMES)
        latest = runs.start_run(con, "route", AS_OF)
        plan.write_dispatch_kpis(con, latest, KPIS, {}, times=TIMES.head(1))
        plan.publish_snapshot(con, night, tmp_path / "published")
    with published.open_snapshot(tmp_path / "published") as snap:
        times = published.dispatch_delivery_times(snap)
        kpis = published.dispatch_kpis(snap)
    assert times is not None
    assert set(times["run_id"]) == set(kpis["run_id"]) == {latest}
    assert times.drop("run_id").rows() == TIMES.head(1).rows()


def test_a_snapshot_from_before_the_delivery_times_reads_none(world: World, tmp_path: Path) -> None:
    older = tmp_path / published.SNAPSHOT_NAME
    older.write_bytes((world.snapshots / published.SNAPSHOT_NAME).read_bytes())
    with duckdb.connect(str(older)) as con:  # as published before migration 0011
        con.execute("DROP TABLE dispatch_delivery_times")
    with published.open_snapshot(tmp_path) as snap:
        assert published.dispatch_delivery_times(snap) is None
        assert published.dispatch_delivery_times(snap, "FW001") is None
        assert published.dispatch_kpis(snap).height == KPIS.height


def test_flagged_stores_are_those_not_ok(snap: duckdb.DuckDBPyConnection) -> None:
    flagged = published.store_coverage(snap, flagged_only=True)
    assert flagged["store_id"].to_list() == ["S2"]


def test_accuracy_is_paged_per_scope(snap: duckdb.DuckDBPyConnection) -> None:
    first = published.forecast_accuracy(snap, "series", limit=1)
    second = published.forecast_accuracy(snap, "series", after=first.next_after, limit=1)
    assert first.rows["key"].to_list() == ["FW001/A"] and first.next_after == "FW001/A"
    assert second.rows["key"].to_list() == ["FW001/B"] and second.next_after is None
    assert_frame_equal(published.forecast_accuracy(snap, "network").rows, ACCURACY_ROWS.head(1))


def test_a_store_is_served_by_its_warehouse_then_the_nearer_one(
    snap: duckdb.DuckDBPyConnection,
) -> None:
    serving = published.serving_warehouses(snap, "S2")
    assert serving.select("warehouse_id", "role", "distance_m").rows() == [
        ("FW002", "assigned", 4000),
        ("FW001", "nearest", 800),
    ]
    assert published.serving_warehouses(snap, "S1")["role"].to_list() == ["assigned"]
    assert published.serving_warehouses(snap, "S9").is_empty()


def test_stock_is_the_latest_count_up_to_the_runs_day(snap: duckdb.DuckDBPyConnection) -> None:
    stock = published.latest_stock(snap, ["FW001"], ["A", "B", "C"])
    assert stock.select("sku", "counted_on", "on_hand", "reserved").rows() == [
        ("A", date(2026, 11, 16), 6, 1),  # not the count of the 22nd, after the run
        ("B", date(2026, 11, 18), 2, 0),
    ]


def test_arrivals_are_released_lines_after_the_count(
    snap: duckdb.DuckDBPyConnection, world: World
) -> None:
    arriving = published.released_arrivals(snap, ["FW001"])
    # Due the 21st, after FW001's count of the 18th; B's line at 0 units is no arrival.
    assert arriving.select("sku", "transfer_id", "quantity").rows() == [
        ("A", f"{world.earlier}/DC01>FW001/20261121", 2)
    ]
    assert published.released_arrivals(snap, ["FW001"], due_by=AS_OF).is_empty()
    assert published.released_arrivals(snap, ["FW002"]).is_empty()


def _reads(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[pl.DataFrame, pl.Schema]]:
    """Every read function's frame and the schema it declares."""
    found = published.series(con, "FW001", "A")
    order = published.transfer_order(con, published.transfer_orders(con).rows["transfer_id"][0])
    times = published.dispatch_delivery_times(con)
    assert found is not None and order is not None and times is not None
    return {
        "plan_lines": (published.plan_lines(con, "FW002").rows, published.PLAN_LINES),
        "forecasts": (published.forecasts(con).rows, published.FORECAST_ROWS),
        "warehouses": (published.warehouses(con), published.WAREHOUSES),
        "stores": (published.stores(con), published.STORES),
        "skus": (published.skus(con), published.SKUS),
        "plan_line": (published.plan_line(con, "FW001", "A"), published.PLAN_LINES),
        "history": (found.history, published.SERIES_HISTORY),
        "stock_counts": (found.stock_counts, published.SERIES_STOCK_COUNTS),
        "forecast": (found.forecast, published.SERIES_FORECAST),
        "accuracy": (found.accuracy, published.ACCURACY_ROWS),
        "transfers": (found.transfers, published.SERIES_TRANSFERS),
        "orders": (published.transfer_orders(con).rows, published.TRANSFER_ORDER_LIST),
        "lines": (order.lines, published.TRANSFER_ORDER_LINES),
        "order_history": (order.history, published.TRANSFER_ORDER_HISTORY),
        "routes": (published.routes(con), published.ROUTES),
        "coverage": (published.store_coverage(con), published.STORE_COVERAGE),
        "dispatch": (published.dispatch_kpis(con), published.DISPATCH_KPIS),
        "delivery_times": (times, published.DISPATCH_DELIVERY_TIMES),
        "all_accuracy": (published.forecast_accuracy(con, "class").rows, published.ACCURACY_ROWS),
        "replays": (published.policy_replays(con), published.POLICY_REPLAYS),
        "allocations": (published.allocations(con), published.ALLOCATIONS),
        "serving": (published.serving_warehouses(con, "S1"), published.SERVING_WAREHOUSES),
        "stock": (published.latest_stock(con, ["DC01"]), published.LATEST_STOCK),
        "arrivals": (published.released_arrivals(con, ["FW002"]), published.ARRIVALS),
    }


def test_every_read_returns_exactly_its_declared_schema(snap: duckdb.DuckDBPyConnection) -> None:
    wrong = {
        name: frame.schema
        for name, (frame, schema) in _reads(snap).items()
        if frame.schema != schema
    }
    assert wrong == {}


def test_a_series_stock_counts_are_what_the_stock_out_rule_reads() -> None:
    assert published.SERIES_STOCK_COUNTS == STOCK_COUNTS


def test_reading_never_writes(world: World) -> None:
    path = world.snapshots / published.SNAPSHOT_NAME
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with published.open_snapshot(world.snapshots) as con:
        _reads(con)
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            con.execute("DELETE FROM replenishment_plan")
        with pytest.raises(duckdb.PermissionException):
            con.execute("COPY replenishment_plan TO ?", [str(world.snapshots / "x.csv")])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in world.snapshots.iterdir()) == [published.SNAPSHOT_NAME]


def test_a_reader_keeps_its_snapshot_while_a_newer_one_is_swapped_in(
    world: World, tmp_path: Path
) -> None:
    with connect(world.db) as con:
        plan.publish_snapshot(con, world.earlier, tmp_path)
    with published.open_snapshot(tmp_path) as old:
        with connect(world.db) as con:
            plan.publish_snapshot(con, world.run_id, tmp_path)
        # A new reader gets the new plan even while the old file is still open here.
        with published.open_snapshot(tmp_path) as new:
            assert published.published_run(new).run_id == world.run_id
        assert published.published_run(old).run_id == world.earlier
        assert published.plan_lines(old, "FW001").rows.is_empty()  # the earlier night's plan


def test_a_failed_build_leaves_the_published_snapshot_alone(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with connect(world.db) as con:
        plan.publish_snapshot(con, world.run_id, tmp_path)
        monkeypatch.setattr(plan, "copy_published", _explode)
        with pytest.raises(RuntimeError, match="disk full"):
            plan.publish_snapshot(con, world.earlier, tmp_path)
    with published.open_snapshot(tmp_path) as snap:
        assert published.published_run(snap).run_id == world.run_id
    assert [p.name for p in tmp_path.iterdir()] == [published.SNAPSHOT_NAME]


def _explode(*args: object) -> None:
    raise RuntimeError("disk full")


def test_the_history_window_can_be_chosen_when_publishing(world: World, tmp_path: Path) -> None:
    with connect(world.db) as con:
        plan.publish_snapshot(con, world.run_id, tmp_path, history_days=3)
    with published.open_snapshot(tmp_path) as snap:
        found = published.series(snap, "FW001", "A")
    assert found is not None
    assert found.history["ds"].to_list() == [AS_OF - timedelta(days=d) for d in (2, 1, 0)]

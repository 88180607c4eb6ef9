"""The nightly Prefect flow on the small generated network, under a Prefect test server."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import flows
from pipelines.errors import InputError
from pipelines.generate import generate
from settings import DataPaths, Settings
from tests._pages import every_page
from warehouse import published
from warehouse.schema import connect

pytestmark = pytest.mark.slow

#: The nightly's parameters on the small network: a week's horizon, 2 s per line-haul solve.
SMALL = Settings(forecast_horizon_days=7, linehaul_time_limit_s=2.0).nightly_params()


def _published_plan(snap: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every published plan line, warehouse by warehouse."""
    return pl.concat(
        every_page(lambda after, w=w: published.plan_lines(snap, w, after=after, limit=500))
        for w in published.warehouses(snap, "forward")["warehouse_id"]
    )


def _published_forecasts(snap: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return every_page(lambda after: published.forecasts(snap, after=after, limit=500))


def _published_transfer_lines(snap: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """The run's transfer-order lines, each with its order's ends and status."""
    orders = every_page(lambda after: published.transfer_orders(snap, after=after, limit=500))
    lines = []
    for transfer_id in orders.filter(pl.col("run_id") == run_id)["transfer_id"]:
        order = published.transfer_order(snap, transfer_id)
        assert order is not None
        lines.append(
            order.lines.with_columns(
                transfer_id=pl.lit(transfer_id),
                from_warehouse_id=pl.lit(order.from_warehouse_id),
                to_warehouse_id=pl.lit(order.to_warehouse_id),
                status=pl.lit(order.status),
            )
        )
    return pl.concat(lines)


@pytest.fixture(scope="module")
def small_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small network (2 forward warehouses, 30 stores, 500 SKUs, 180 days)."""
    out = tmp_path_factory.mktemp("landing")
    generate(out, scale="small", seed=7)
    return out


@pytest.fixture(scope="module")
def nightly_run(
    prefect_server: None, small_landing: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[flows.NightlyResult, Path, Path]:
    """One nightly run on a fresh database; the tests below read what it wrote."""
    work = tmp_path_factory.mktemp("night")
    db, snapshots = work / "w.duckdb", work / "published"
    result = flows.nightly(DataPaths(db, small_landing, snapshots), SMALL)
    return result, db, snapshots


def test_the_run_is_recorded_as_succeeded(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
) -> None:
    result, db, snapshots = nightly_run
    # The run's bookkeeping and the data loaded are the working database's own.
    con = connect(db)
    status = con.execute("SELECT status FROM runs WHERE run_id = ?", [result.run_id]).fetchall()
    last_day = con.execute("SELECT max(demand_date) FROM order_lines").fetchall()[0][0]
    con.close()
    with published.open_snapshot(snapshots) as snap:
        run = published.published_run(snap)
    assert status == [("succeeded",)]
    assert run.run_id == result.run_id
    assert run.as_of == last_day == result.as_of
    assert run.history_start == result.as_of - timedelta(days=SMALL.history_days - 1)
    # The night's KPIs are published as the CLI printed them.
    stored = json.loads(json.dumps(asdict(replace(result, snapshot="")), default=str))
    assert dict(run.summary) == stored
    assert result.rows_loaded > 10_000
    assert result.rows_quarantined == 0


def test_every_active_series_gets_a_forecast_for_each_horizon_day(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
) -> None:
    result, db, snapshots = nightly_run
    # What should be forecast comes from the loaded inputs (the working database).
    con = connect(db)
    active = con.execute(
        "SELECT count(*) FROM (SELECT warehouse_id, sku FROM order_lines WHERE status = 'completed'"
        " UNION SELECT s.warehouse_id, s.sku FROM stock_levels s JOIN warehouses w"
        " USING (warehouse_id) WHERE w.kind = 'forward' AND on_hand > 0)"
    ).fetchall()[0][0]
    con.close()
    with published.open_snapshot(snapshots) as snap:
        forecasts = _published_forecasts(snap)
    assert forecasts.schema == published.FORECAST_ROWS
    per_series = forecasts.group_by("warehouse_id", "sku").agg(
        days=pl.len(), first=pl.col("ds").min(), last=pl.col("ds").max()
    )
    assert per_series.height == active == result.series_forecast
    assert per_series["days"].unique().to_list() == [7]
    assert per_series["first"].unique().to_list() == [result.as_of + timedelta(days=1)]
    assert set(forecasts["class"].unique()) <= {
        "smooth",
        "erratic",
        "intermittent",
        "lumpy",
        "new",
        "dormant",
    }
    quantiles = forecasts.select("q50", "q80", "q90", "q95", "q99").to_numpy()
    assert (quantiles >= 0).all()
    assert (quantiles[:, 1:] >= quantiles[:, :-1]).all()


def test_the_plan_covers_every_series_and_is_published(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
) -> None:
    result, db, snapshots = nightly_run
    with published.open_snapshot(snapshots) as snap:
        plan = _published_plan(snap)
        run = published.published_run(snap)
    assert run.run_id == result.run_id
    assert plan.height == result.series_forecast
    # Transfers move units in sales multiples, never the supplier's cases, and never past
    # the cover cap; dormant series are not stocked.
    assert (plan["proposed_quantity"] % plan["sales_multiple"] == 0).all()
    moved = plan.filter(pl.col("allocated_quantity") > 0)
    assert (moved["cover_days"] <= SMALL.policy.cover_cap_days + 1e-9).all()
    assert moved.filter(pl.col("class") == "dormant").is_empty()
    assert not plan.filter(pl.col("class") == "dormant")["stocked"].any()
    assert plan.filter(pl.col("proposed_quantity") > 0).height == result.lines_proposed > 0
    # The snapshot holds exactly the run's plan as the night wrote it.
    con = connect(db)
    written = con.sql(
        "FROM replenishment_plan WHERE run_id = ? ORDER BY warehouse_id, sku",
        params=[result.run_id],
    ).pl()
    con.close()
    assert_frame_equal(plan, written.select(plan.columns).cast(plan.schema))
    assert Path(result.snapshot) == snapshots / "plan.duckdb"


def test_transfer_orders_carry_the_allocated_plan_within_dc_stock_and_shelves(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
) -> None:
    result, _, snapshots = nightly_run
    with published.open_snapshot(snapshots) as snap:
        plan = _published_plan(snap)
        lines = _published_transfer_lines(snap, result.run_id)
        dc_free = published.latest_stock(snap, ["DC01"]).select(
            "sku", free=(pl.col("on_hand") - pl.col("reserved")).clip(lower_bound=0)
        )
        shelves = published.warehouses(snap).select("warehouse_id", "shelf_capacity_l")
        stats = published.allocations(snap)
    assert result.transfer_orders > 0 and result.units_allocated > 0
    assert set(lines["status"]) == {"proposed"}
    # Every allocated unit is on exactly one replenishment line, and every line moves
    # something (a line cut to zero keeps its story on its plan line).
    replenish = lines.filter(pl.col("from_warehouse_id") == "DC01")
    assert (lines["quantity"] > 0).all()
    sent = plan.filter(pl.col("allocated_quantity") > 0)
    assert replenish["proposed_quantity"].sum() == sent["proposed_quantity"].sum()
    assert replenish["quantity"].sum() == plan["allocated_quantity"].sum() == result.units_allocated
    pull_back = lines.filter(pl.col("to_warehouse_id") == "DC01")
    assert pull_back["quantity"].sum() == plan["pull_back_quantity"].sum()
    # Each line carries the plan line behind it.
    assert lines["action"].null_count() == 0
    assert set(pull_back["action"]) <= {"pull_back"}
    # The DC never ships more of a sku than it has free.
    shipped = plan.group_by("sku").agg(pl.col("allocated_quantity").sum())
    over = shipped.join(dc_free, on="sku", how="left").filter(
        pl.col("allocated_quantity") > pl.col("free").fill_null(0)
    )
    assert over.is_empty()
    # A shelf is never filled beyond its capacity by tonight's transfers.
    litres = (
        plan.group_by("warehouse_id")
        .agg(
            before=(
                (pl.col("on_hand") + pl.col("in_transit") - pl.col("pull_back_quantity"))
                * pl.col("unit_volume_l")
            ).sum(),
            added=(pl.col("allocated_quantity") * pl.col("unit_volume_l")).sum(),
        )
        .join(shelves, on="warehouse_id")
    )
    assert (
        (litres["added"] == 0)
        | (litres["before"] + litres["added"] <= litres["shelf_capacity_l"] + 1e-6)
    ).all()
    assert stats["dc_id"].to_list() == ["DC01"]
    assert stats["units_allocated"][0] == result.units_allocated
    assert lines.select("transfer_id").n_unique() == result.transfer_orders


def test_the_line_haul_delivers_every_allocated_litre_before_opening(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
) -> None:
    result, _, snapshots = nightly_run
    with published.open_snapshot(snapshots) as snap:
        routes = published.routes(snap).with_columns(
            local=pl.col("arrival").dt.convert_time_zone("Asia/Shanghai").dt.replace_time_zone(None)
        )
        plan = _published_plan(snap)
    due = plan.filter(pl.col("lead_time_days") == 0).select(
        (pl.col("allocated_quantity") * pl.col("unit_volume_l")).sum()
    )[0, 0]
    stops = routes.filter(~pl.col("stop_id").is_in(["depart", "return"]))
    assert result.linehaul_unassigned_l == 0
    assert stops["load"].sum() == pytest.approx(due)
    assert set(stops["location_id"]) <= {"FW001", "FW002"}
    assert routes["route_id"].n_unique() == result.linehaul_trips >= result.linehaul_vans >= 1
    assert routes["vehicle_id"].n_unique() == result.linehaul_vans
    # Delivered between 23:30 and 06:30 local time, the night after the planning day.
    night = datetime.combine(result.as_of, time(23, 30))
    assert stops["local"].min() >= night
    assert stops["local"].max() <= night + timedelta(hours=7)


def test_the_planners_frontier_is_replayed_per_warehouse_and_published(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
) -> None:
    _, _, snapshots = nightly_run
    with published.open_snapshot(snapshots) as snap:
        replays = published.policy_replays(snap)
    assert set(replays["warehouse_id"]) == {"FW001", "FW002"}
    assert set(replays["policy"]) == {
        "nb1_fill_rate",
        "nb1_cycle_service",
        "nb1_unit_fill",
        "normal_fill_rate",
        "min_max",
    }
    ours = replays.filter(pl.col("policy") == "nb1_fill_rate").sort("warehouse_id", "setting")
    for _, part in ours.group_by("warehouse_id"):
        assert part["avg_inventory_value"].is_sorted()  # more service costs more stock


def test_store_coverage_is_checked_every_night(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
) -> None:
    result, _, snapshots = nightly_run
    with published.open_snapshot(snapshots) as snap:
        coverage = published.store_coverage(snap)
        flagged = published.store_coverage(snap, flagged_only=True)
        stores = published.stores(snap)
    assert coverage["store_id"].to_list() == stores["store_id"].to_list()
    assert coverage.filter(~pl.col("ok")).height == flagged.height == result.stores_flagged
    # The generator places every store within 5 km of its own warehouse.
    assert coverage["within_distance"].all()


def test_a_day_of_dispatch_is_replayed_and_published(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
) -> None:
    _, db, snapshots = nightly_run
    review = flows.dispatch_review(DataPaths(db, None, snapshots), riders=6)
    # The replay's own run is bookkeeping of the working database.
    con = connect(db)
    status = con.execute("SELECT status FROM runs WHERE run_id = ?", [review.run_id]).fetchall()
    con.close()
    with published.open_snapshot(snapshots) as snap:
        kpis = published.dispatch_kpis(snap)
        times = published.dispatch_delivery_times(snap)
    assert status == [("succeeded",)]
    assert set(kpis["run_id"]) == {review.run_id}
    assert kpis.height == review.kpis.height
    assert set(kpis["dispatcher"]) == {"rolling", "naive"}
    assert set(kpis["warehouse_id"]) <= {"FW001", "FW002"}
    by = {(r["warehouse_id"], r["dispatcher"]): r for r in kpis.iter_rows(named=True)}
    for (warehouse, _), row in by.items():
        # Both dispatchers replay the same orders of the same day.
        assert row["orders"] == by[(warehouse, "naive")]["orders"] > 0
        assert row["day"] == review.day
    # The same replay run wrote the delivery-time distribution: every order once, in one
    # minute bucket, and the buckets up to the 30-minute promise are the on-time orders.
    assert times is not None
    assert set(times["run_id"]) == {review.run_id}
    keys = ["warehouse_id", "dispatcher", "day"]
    counted = times.group_by(keys).agg(
        pl.col("orders").sum(),
        on_time=pl.col("orders").filter(pl.col("minutes") <= 30).sum(),
    )
    assert_frame_equal(
        counted.sort(keys),
        kpis.select(*keys, "orders", "on_time").sort(keys),
        check_dtypes=False,
    )


def test_backtest_accuracy_and_model_choice_are_stored(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
) -> None:
    result, db, snapshots = nightly_run
    with published.open_snapshot(snapshots) as snap:
        scopes = {
            scope: every_page(
                lambda after, scope=scope: published.forecast_accuracy(
                    snap, scope, after=after, limit=500
                )
            ).height
            for scope in ("network", "warehouse", "category", "series")
        }
        forecasts = _published_forecasts(snap)
    # The model choice is the working database's state between nights (not published).
    con = connect(db)
    chosen = con.execute(
        "SELECT count(*), count(DISTINCT model) FROM forecast_selection"
    ).fetchall()[0]
    con.close()
    fitted = forecasts.filter(
        (pl.col("model") != "Dormant") & ~pl.col("model").str.starts_with("ColdStart")
    )["unique_id"].n_unique()
    assert scopes["network"] == 1
    assert scopes["warehouse"] == 2
    assert scopes["category"] >= 5
    assert scopes["series"] > 100
    assert chosen[0] == fitted == result.series_reselected
    assert chosen[1] >= 2  # the choice differs between series


def test_a_second_night_loads_nothing_twice(
    nightly_run: tuple[flows.NightlyResult, Path, Path], small_landing: Path
) -> None:
    first, db, snapshots = nightly_run
    second = flows.nightly(DataPaths(db, small_landing, snapshots), SMALL)
    assert second.rows_loaded == 0
    assert second.run_id != first.run_id
    assert second.series_forecast == first.series_forecast
    assert second.series_reselected == 0  # the stored choice is fresh: reused, not redone
    # The first night's orders live on in the working database only.
    con = connect(db)
    superseded = con.execute(
        "SELECT list(DISTINCT status) FROM transfer_orders WHERE run_id = ?", [first.run_id]
    ).fetchall()[0][0]
    con.close()
    with published.open_snapshot(snapshots) as snap:
        orders = published.transfer_orders(snap, limit=500).rows
    assert superseded == ["cancelled"]  # superseded by tonight's plan
    assert set(orders["run_id"]) == {second.run_id}  # nothing of the first night was released
    assert set(orders["status"]) == {"proposed"}
    # The same as-of date again: the rerun replaces the first, one succeeded run per date.
    assert second.as_of == first.as_of
    con = connect(db)
    replaced = con.execute(
        "SELECT status, error FROM runs WHERE run_id = ?", [first.run_id]
    ).fetchall()
    per_date = con.execute(
        "SELECT as_of, count(*) FROM runs WHERE kind = 'nightly' AND status = 'succeeded' "
        "GROUP BY as_of"
    ).fetchall()
    con.close()
    assert replaced == [
        ("failed", f"replaced by run {second.run_id}, a rerun of the same as-of date")
    ]
    assert per_date == [(first.as_of, 1)]


def test_a_refused_landing_file_is_reported_and_the_night_goes_on(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
    small_landing: Path,
    tmp_path: Path,
) -> None:
    _, db, snapshots = nightly_run
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    (landing / "order_lines_broken.csv").write_text("order_id,line_no\nX1,1\n")
    result = flows.nightly(DataPaths(db, landing, snapshots), SMALL)
    assert result.files_refused == 1
    assert result.rows_loaded == 0
    con = connect(db)
    status = con.execute("SELECT status FROM runs WHERE run_id = ?", [result.run_id]).fetchall()
    con.close()
    assert status == [("succeeded",)]


def test_a_crash_mid_run_marks_it_failed_and_writes_no_plan(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, db, snapshots = nightly_run

    def explode(*args: object, **kwargs: object) -> pl.DataFrame:
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(flows.night_plan, "allocate_network", explode)
    with pytest.raises(RuntimeError, match="solver crashed"):
        flows.nightly(DataPaths(db, None, snapshots), SMALL)
    con = connect(db)
    run_id, status, error = con.execute(
        "SELECT run_id, status, error FROM runs ORDER BY started_at DESC LIMIT 1"
    ).fetchall()[0]
    rows = con.execute(
        "SELECT (SELECT count(*) FROM forecasts WHERE run_id = $r)"
        " + (SELECT count(*) FROM replenishment_plan WHERE run_id = $r)",
        {"r": run_id},
    ).fetchall()[0][0]
    con.close()
    assert status == "failed"
    assert "solver crashed" in error
    assert rows == 0


def test_planning_before_the_first_order_day_is_refused(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
) -> None:
    _, db, snapshots = nightly_run
    with pytest.raises(InputError, match="is before the first order day"):
        flows.nightly(DataPaths(db, None, snapshots), SMALL, date(2001, 1, 1))


def test_planning_an_empty_database_is_refused(prefect_server: None, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no order lines loaded"):
        flows.nightly(DataPaths(tmp_path / "empty.duckdb", None, tmp_path / "pub"), SMALL)


def test_the_line_haul_is_replanned_on_what_planners_released(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from partsflow_cli import main
    from warehouse import transfers

    _, db, snapshots = nightly_run
    # The published plan is the latest succeeded night's (other tests ran more nights).
    with published.open_snapshot(snapshots) as snap:
        run = published.published_run(snap)
        orders = published.transfer_orders(snap, warehouse_id="DC01", limit=500).rows
    tomorrow = orders.filter(
        (pl.col("from_warehouse_id") == "DC01")
        & (pl.col("needed_by") == run.as_of + timedelta(days=1))
        & (pl.col("run_id") == run.run_id)
    )
    released = tomorrow["transfer_id"][0]  # one warehouse's order goes out, the other stays
    con = connect(db)
    transfers.approve(con, released, "ann")
    transfers.release(con, released, "ann")
    litres = transfers.released_loads(con, run.run_id)["volume_l"].sum()
    con.close()
    monkeypatch.setenv("PARTSFLOW_SNAPSHOT_DIR", str(snapshots))
    monkeypatch.setenv("PARTSFLOW_LINEHAUL_TIME_LIMIT_S", "2")
    assert main(["linehaul", "--db", str(db)]) == 0
    assert "re-planned on what was released" in capsys.readouterr().out
    with published.open_snapshot(snapshots) as snap:
        stops = published.routes(snap).filter(~pl.col("stop_id").is_in(["depart", "return"]))
        order = published.transfer_order(snap, released)
        assert published.published_run(snap).run_id == run.run_id
    assert litres > 0
    assert stops["load"].sum() == pytest.approx(litres)
    assert stops["location_id"].n_unique() == 1
    # The republished snapshot shows the release.
    assert order is not None and order.history["status"].to_list() == [
        "proposed",
        "approved",
        "released",
    ]


def test_the_next_night_counts_released_orders_and_does_not_order_them_again(
    nightly_run: tuple[flows.NightlyResult, Path, Path], tmp_path: Path
) -> None:
    from warehouse import transfers

    _, db, _ = nightly_run
    copy = tmp_path / "w.duckdb"
    shutil.copy(db, copy)
    con = connect(copy)
    # The latest night's first open order (other tests may have run nights on this database).
    order = con.execute(
        "SELECT transfer_id FROM transfer_orders o JOIN runs r USING (run_id) "
        "WHERE o.status = 'proposed' ORDER BY r.finished_at DESC, transfer_id LIMIT 1"
    ).fetchall()[0][0]
    transfers.approve(con, order, "ann")
    transfers.release(con, order, "ann")
    released = con.sql(
        "SELECT o.to_warehouse_id AS warehouse_id, l.sku, l.quantity, p.in_transit "
        "FROM transfer_orders o JOIN transfer_order_lines l USING (transfer_id) "
        "JOIN replenishment_plan p ON p.run_id = o.run_id "
        "  AND p.warehouse_id = o.to_warehouse_id AND p.sku = l.sku "
        "WHERE o.transfer_id = ? AND l.quantity > 0",
        params=[order],
    ).pl()
    con.close()
    again = flows.nightly(
        DataPaths(copy, None, tmp_path / "pub"),
        replace(SMALL, linehaul=replace(SMALL.linehaul, time_limit_s=1.0)),
    )
    with published.open_snapshot(tmp_path / "pub") as snap:
        assert published.published_run(snap).run_id == again.run_id
        tonight = _published_plan(snap).select("warehouse_id", "sku", tonight="in_transit")
        arriving = published.released_arrivals(snap, released["warehouse_id"].unique().to_list())
    rows = released.join(tonight, on=["warehouse_id", "sku"])
    assert rows.height == released.height > 0
    # The DC has not shipped it yet (its count is older than the due day): it is on its way.
    assert (rows["tonight"] == rows["in_transit"] + rows["quantity"]).all()
    # ... and the published snapshot lists it among the arrivals a store's availability adds.
    assert set(arriving.filter(pl.col("transfer_id") == order)["sku"]) == set(released["sku"])


def test_a_snapshot_left_behind_by_a_killed_publish_is_repaired(
    nightly_run: tuple[flows.NightlyResult, Path, Path],
) -> None:
    """Killed between the plan's commit and the swap: no snapshot (or the night before's)
    and a half-built file; the next night's start republishes the latest succeeded run."""
    from warehouse import plan, runs

    _, db, snapshots = nightly_run
    (snapshots / published.SNAPSHOT_NAME).unlink()
    (snapshots / f".{published.SNAPSHOT_NAME}.nightly-x.building").write_bytes(b"half")
    (snapshots / f".{published.SNAPSHOT_NAME}.nightly-x.building.wal").write_bytes(b"half")
    con = connect(db)
    try:
        latest = runs.latest_succeeded(con, "nightly")
        assert latest is not None
        check = plan.repair_publication(con, snapshots)
        again = plan.repair_publication(con, snapshots)
    finally:
        con.close()
    assert check == plan.PublicationCheck(latest[0], None, True, 2)
    assert again == plan.PublicationCheck(latest[0], latest[0], False, 0)
    with published.open_snapshot(snapshots) as snap:
        assert published.published_run(snap).run_id == latest[0]
    left = sorted(p.name for p in snapshots.iterdir())
    assert left == [published.LATEST_NAME, published.SNAPSHOT_NAME]

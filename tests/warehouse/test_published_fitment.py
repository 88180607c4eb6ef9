"""Vehicle models, fitment and maintenance schedules, read from the published snapshot."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from tests.warehouse.test_published import AS_OF, FORECASTS, PLAN
from warehouse import plan, published, runs
from warehouse.schema import connect


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """Two vehicle models and three parts: an oil filter and brake pads fit the ICE car, one
    brake pad fits both; only the ICE car has an oil service."""
    work = tmp_path_factory.mktemp("fitment")
    with connect(work / "w.duckdb") as con:
        con.execute(
            "INSERT INTO warehouses VALUES ('DC01', 'dc', 'dc', 31.0, 121.0, 1e6, NULL, "
            "'2020-01-01')"
        )
        con.execute(
            "INSERT INTO skus VALUES"
            " ('OIL1', 'oil filter', 'filters', 'oil_filter', 'b', 1, 0.5, 1, 2, 0, false, false),"
            " ('PAD1', 'pads', 'brake_pads', 'brake_pad', 'b', 1, 1.0, 1, 2, 0, false, false),"
            " ('PAD2', 'pads', 'brake_pads', 'brake_pad', 'b', 1, 1.0, 1, 2, 0, false, true)"
        )
        con.execute(
            "INSERT INTO vehicle_models VALUES"
            " ('VM1', 'make', 'sedan', 'ice', 2015, NULL, 'c'),"
            " ('VM2', 'make', 'ev', 'bev', 2020, 2024, 'c')"
        )
        con.execute(
            "INSERT INTO fitment VALUES ('OIL1', 'VM1', 'engine', 1),"
            " ('PAD1', 'VM1', 'front', 4), ('PAD2', 'VM1', 'rear', 4), ('PAD2', 'VM2', 'front', 4)"
        )
        con.execute(
            "INSERT INTO maintenance_schedules VALUES ('VM1', 'oil_filter', 10000, 12),"
            " ('VM1', 'brake_pad', 40000, NULL), ('VM2', 'brake_pad', 60000, NULL)"
        )
        run_id = runs.start_run(con, "nightly", AS_OF, {"history_days": 7})
        plan.write_plan(con, run_id, plan.NightTables(FORECASTS.head(0), PLAN.head(0)), {})
        plan.publish_snapshot(con, run_id, work / "published")
    with published.open_snapshot(work / "published") as con:
        yield con


def test_the_parts_that_fit_a_model_come_with_their_catalogue_fields(
    snap: duckdb.DuckDBPyConnection,
) -> None:
    parts = published.fitting_parts(snap, "VM1")
    assert parts.schema == published.FITTING_PARTS
    assert parts.select("sku", "position", "quantity", "category").rows() == [
        ("OIL1", "engine", 1, "filters"),
        ("PAD1", "front", 4, "brake_pads"),
        ("PAD2", "rear", 4, "brake_pads"),
    ]


def test_fitting_parts_filter_by_category_and_part_type(snap: duckdb.DuckDBPyConnection) -> None:
    assert published.fitting_parts(snap, "VM1", category="brake_pads")["sku"].to_list() == [
        "PAD1",
        "PAD2",
    ]
    assert published.fitting_parts(snap, "VM1", part_types=["oil_filter"])["sku"].to_list() == [
        "OIL1"
    ]
    assert published.fitting_parts(snap, "VM9").is_empty()


def test_a_models_maintenance_schedule_is_by_part_type(snap: duckdb.DuckDBPyConnection) -> None:
    schedule = published.maintenance_schedule(snap, "VM1")
    assert schedule.schema == published.MAINTENANCE_SCHEDULE
    assert schedule.rows() == [("brake_pad", 40000, None), ("oil_filter", 10000, 12)]
    assert published.maintenance_schedule(snap, "VM9").is_empty()


def test_vehicle_models_are_published_whole(snap: duckdb.DuckDBPyConnection) -> None:
    models = published.vehicle_models(snap)
    assert models.schema == published.VEHICLE_MODELS
    assert models["vehicle_model_id"].to_list() == ["VM1", "VM2"]
    assert published.vehicle_models(snap, "VM2")["year_to"].to_list() == [2024]
    assert published.vehicle_models(snap, "nope").is_empty()

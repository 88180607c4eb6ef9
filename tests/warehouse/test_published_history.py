"""Earlier nights in the snapshot (warehouse.published.history), on test_published's world:
two nights (the earlier one planned nothing) and a dispatch replay."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from polars.testing import assert_frame_equal

from tests.warehouse.test_published import AS_OF, World, world
from warehouse import published

__all__ = ["world"]  # the fixture, imported to be shared


@pytest.fixture
def snap(world: World) -> Iterator[duckdb.DuckDBPyConnection]:
    with published.open_snapshot(world.snapshots) as con:
        yield con


def test_the_run_history_lists_every_run_of_those_nights_newest_first(
    world: World, snap: duckdb.DuckDBPyConnection
) -> None:
    history = published.run_history(snap)
    assert history["run_id"].to_list() == [world.dispatch, world.run_id, world.earlier]
    assert history.schema == published.RUN_HISTORY
    assert published.run_history(snap, kind="nightly")["run_id"].to_list() == [
        world.run_id,
        world.earlier,
    ]


def test_plan_kpis_roll_up_the_nights_plan_over_a_filter(
    world: World, snap: duckdb.DuckDBPyConnection
) -> None:
    every = published.plan_kpis(snap)
    fw002 = published.plan_kpis(snap, warehouse_id="FW002")
    # The earlier night planned no line: one night of KPIs.
    assert every["run_id"].to_list() == [world.run_id]
    assert every.schema == published.PLAN_KPIS
    row = every.row(0, named=True)
    # A is cut 6 → 4; A, B and FW002's B propose; FW002's C is pulled back.
    assert (row["series"], row["lines_proposed"], row["units_proposed"]) == (5, 3, 11)
    assert (row["lines_cut"], row["units_cut"], row["pull_back_lines"]) == (1, 2, 1)
    assert fw002.select("series", "lines_proposed", "pull_back_lines").row(0) == (2, 1, 1)
    assert published.plan_kpis(snap, category="wipers").is_empty()


def test_accuracy_is_kept_night_by_night_at_the_summary_scopes(
    snap: duckdb.DuckDBPyConnection,
) -> None:
    network = published.accuracy_history(snap, "network", "network")
    assert network.schema == published.ACCURACY_HISTORY
    assert network["as_of"].to_list() == [AS_OF]
    with pytest.raises(ValueError, match="scope must be one of"):
        published.accuracy_history(snap, "series", "FW001/A")


def test_an_older_snapshot_without_the_history_reads_its_own_night(
    world: World, tmp_path: Path
) -> None:
    older = tmp_path / "published"
    older.mkdir()
    shutil.copy(world.snapshots / published.SNAPSHOT_NAME, older / published.SNAPSHOT_NAME)
    with duckdb.connect(str(older / published.SNAPSHOT_NAME)) as con:
        for table in ("run_history", "kpi_history", "accuracy_history"):
            con.execute(f"DROP TABLE {table}")
    with (
        published.open_snapshot(world.snapshots) as new,
        published.open_snapshot(older) as old,
    ):
        assert_frame_equal(published.plan_kpis(old), published.plan_kpis(new))
        assert published.run_history(old)["run_id"].to_list() == [world.run_id]
        assert published.accuracy_history(old, "network", "network").height == 1

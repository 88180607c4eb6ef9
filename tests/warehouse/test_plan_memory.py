"""Writing a night in bounded memory: big frames streamed in slices, DuckDB's limit lowered."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from optimization.replenishment.planning import NETWORK_PLAN
from warehouse import runs
from warehouse.plan import NightTables, memory_limit, streamed, write_plan
from warehouse.schema import connect

AS_OF = date(2026, 11, 20)


def _forecasts() -> pl.DataFrame:
    """Two series × 5 days with distinct values, so a lost or doubled slice shows."""
    days = pl.date_range(date(2026, 11, 21), date(2026, 11, 25), eager=True)
    return pl.concat(
        pl.DataFrame(
            {
                "warehouse_id": warehouse,
                "sku": "A",
                "unique_id": f"{warehouse}/A",
                "ds": days,
                "mean": [0.5 + i for i in range(5)],
                "model": "HistoricAverage",
                "class": "intermittent",
                "q50": 0.0,
                "q80": 1.0,
                "q90": 1.0,
                "q95": [2.0 + i for i in range(5)],
                "q99": 9.0,
            }
        )
        for warehouse in ("FW001", "FW002")
    )


def test_a_stream_of_slices_inserts_every_row_once(tmp_path: Path) -> None:
    frame = _forecasts()
    with connect(tmp_path / "w.duckdb") as con, streamed(con, frame, rows=3) as name:
        back = con.sql(f"SELECT * FROM {name}").pl()
    assert_frame_equal(back, frame)


def test_an_empty_frame_streams_no_row(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con, streamed(con, _forecasts().clear()) as name:
        assert con.sql(f"SELECT count(*) FROM {name}").fetchall() == [(0,)]


def test_write_plan_stores_the_forecasts_as_given(tmp_path: Path) -> None:
    frame = _forecasts()
    with connect(tmp_path / "w.duckdb") as con:
        run_id = runs.start_run(con, "nightly", AS_OF)
        write_plan(con, run_id, NightTables(frame, NETWORK_PLAN.to_frame()), {})
        stored = con.sql(
            "SELECT * EXCLUDE (run_id) FROM forecasts ORDER BY warehouse_id, sku, ds"
        ).pl()
    assert_frame_equal(stored, frame.select(stored.columns))


def test_the_memory_limit_holds_in_the_block_and_is_put_back(tmp_path: Path) -> None:
    def limit(con: duckdb.DuckDBPyConnection) -> str:
        return str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

    with connect(tmp_path / "w.duckdb") as con:
        con.execute("SET memory_limit = '3GiB'")
        with memory_limit(con, "1GiB"):
            assert limit(con) == "1.0 GiB"
        assert limit(con) == "3.0 GiB"


def test_write_plan_from_parquet_files_stores_what_the_frames_would(tmp_path: Path) -> None:
    """The nightly spills its forecast and plan rows to Parquet (flows/spill.py) and saves
    them from there: the stored rows are those the frames give, dc_id dropped and
    target_level stored as service_target alike, whether a file or a folder of parts
    (the forecasts: one per warehouse as it came back, then the unsold), parts in the
    order of their names. A path with a quote is no SQL."""
    from tests.warehouse.test_published import FORECASTS, PLAN

    folder = tmp_path / "it's spilled"
    parts = folder / "forecasts"
    parts.mkdir(parents=True)
    FORECASTS.write_parquet(folder / "forecasts.parquet")
    PLAN.write_parquet(folder / "plan.parquet")
    half = FORECASTS.height // 2
    FORECASTS.tail(-half).write_parquet(parts / "unsold.parquet")  # written first, read last
    FORECASTS.head(half).write_parquet(parts / "00000.parquet")
    assert 0 < half < FORECASTS.height
    stored = {}
    for name, tables in (
        ("frames", NightTables(FORECASTS, PLAN)),
        ("files", NightTables(folder / "forecasts.parquet", folder / "plan.parquet")),
        ("parts", NightTables(parts, folder / "plan.parquet")),
    ):
        with connect(tmp_path / f"{name}.duckdb") as con:
            run_id = runs.start_run(con, "nightly", AS_OF)
            write_plan(con, run_id, tables, {})
            stored[name] = [
                con.sql(f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY ALL").pl()
                for table in ("forecasts", "replenishment_plan")
            ]
            if name == "parts":
                in_order = con.sql("SELECT sku, ds FROM forecasts ORDER BY rowid").pl()
                assert_frame_equal(in_order, FORECASTS.select("sku", "ds"))
    for from_frames, from_files, from_parts in zip(*stored.values(), strict=True):
        assert from_frames.height > 0
        assert_frame_equal(from_files, from_frames)
        assert_frame_equal(from_parts, from_frames)
    assert stored["files"][1]["service_target"].to_list() == [0.95] * PLAN.height


def test_write_plan_refuses_an_empty_folder_of_rows(tmp_path: Path) -> None:
    from tests.warehouse.test_published import PLAN

    (tmp_path / "forecasts").mkdir()
    with connect(tmp_path / "w.duckdb") as con:
        run_id = runs.start_run(con, "nightly", AS_OF)
        with pytest.raises(ValueError, match="forecasts: no Parquet file of rows to save"):
            write_plan(con, run_id, NightTables(tmp_path / "forecasts", PLAN), {})
        assert con.execute("SELECT count(*) FROM forecasts").fetchall() == [(0,)]

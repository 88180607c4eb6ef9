"""Forecast retention: only the newest succeeded runs keep their per-day forecast rows."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from optimization.replenishment.planning import NETWORK_PLAN
from warehouse import runs
from warehouse.plan import NightTables, prune_forecasts, write_plan
from warehouse.schema import connect

AS_OF = date(2026, 11, 20)


def _forecasts(days: int = 3) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "warehouse_id": "FW001",
            "sku": "A",
            "unique_id": "FW001/A",
            "ds": pl.date_range(date(2026, 11, 21), date(2026, 11, 20 + days), eager=True),
            "mean": 0.5,
            "model": "HistoricAverage",
            "class": "intermittent",
            "q50": 0.0,
            "q80": 1.0,
            "q90": 1.0,
            "q95": 2.0,
            "q99": 3.0,
        }
    )


def _night(con: duckdb.DuckDBPyConnection, keep: int | None, night: int = 0) -> str:
    # Each night its own as-of date: a rerun of a date replaces the date's run (runs.finish_run).
    run_id = runs.start_run(con, "nightly", AS_OF + timedelta(days=night))
    write_plan(con, run_id, NightTables(_forecasts(), NETWORK_PLAN.to_frame()), {}, keep)
    return run_id


def _rows_per_run(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = con.sql("SELECT run_id, count(*) FROM forecasts GROUP BY run_id").fetchall()
    return {str(run): int(n) for run, n in rows}


def test_each_night_keeps_only_the_newest_runs_forecasts(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        nights = [_night(con, keep=2, night=n) for n in range(4)]
        assert _rows_per_run(con) == {nights[2]: 3, nights[3]: 3}
        # The runs themselves stay, all succeeded.
        statuses = con.sql("SELECT status FROM runs WHERE kind = 'nightly'").fetchall()
        assert [s for (s,) in statuses] == ["succeeded"] * 4


def test_without_a_rule_nothing_is_pruned(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        nights = [_night(con, keep=None, night=n) for n in range(3)]
        assert _rows_per_run(con) == dict.fromkeys(nights, 3)
        assert prune_forecasts(con, 1) == 6
        assert _rows_per_run(con) == {nights[2]: 3}


def test_a_running_or_failed_run_does_not_count_as_kept(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        first = _night(con, keep=None)
        runs.start_run(con, "nightly", AS_OF)  # still running: has no forecasts
        assert prune_forecasts(con, 1) == 0
        assert _rows_per_run(con) == {first: 3}


def test_keep_must_be_positive(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(ValueError, match="at least 1"):
        prune_forecasts(con, 0)


def test_runs_of_other_kinds_neither_count_nor_lose_rows(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        first = _night(con, keep=None)
        other = runs.start_run(con, "route", AS_OF)
        runs.finish_run(con, other)  # newer, succeeded, no forecasts
        second = _night(con, keep=2, night=1)
        # The route run is newer than the first night but is not a night: both nights stay.
        assert _rows_per_run(con) == {first: 3, second: 3}

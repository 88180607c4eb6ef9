"""The night killed with SIGKILL at a point, then run again (issue 15).

Each test runs ``partsflow nightly`` in a child process that kills itself at
one point of its work (``tests/_killpoint.py``: during a file's load, after
the first warehouse's forecast, inside the save transaction, with the snapshot
built but not swapped in, before the operational store hears of the night),
then checks what a planner and the API would meet in the morning, runs the
night again and checks that it recovered: one succeeded run per as-of date,
nothing loaded or proposed twice, the snapshot and the store on the latest
succeeded run, and the plan the uninterrupted night made.

The small network (2 forward warehouses, 30 stores, 500 SKUs). A first night
plans the day before the last order day; the killed night plans the last day.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flows.store import repair_store
from pipelines.generate import generate
from warehouse import published
from warehouse.schema import connect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: The small network's nightly settings of tests/test_flows.py: a week's horizon, 2 s vans.
SETTINGS = {"PARTSFLOW_FORECAST_HORIZON_DAYS": "7", "PARTSFLOW_LINEHAUL_TIME_LIMIT_S": "2"}
#: Where each kill happens: the function wrapped, before or after its n-th call.
DURING_INGEST = ("pipelines.ingest.ingest:process_rows", "after", 3)
AFTER_FIRST_FORECAST = ("models.network:forecast_chunks", "after", 1)
INSIDE_SAVE = ("warehouse.plan:finish_run", "before", 1)
SNAPSHOT_BUILT = ("warehouse.plan:copy_published", "after", 1)
BEFORE_STORE = ("flows.store:publish_night", "before", 1)


@dataclass(frozen=True)
class Site:
    """One installation: the database, the published snapshot, the operational store."""

    folder: Path
    landing: Path

    @property
    def db(self) -> Path:
        return self.folder / "warehouse.duckdb"

    @property
    def snapshots(self) -> Path:
        return self.folder / "published"

    @property
    def store(self) -> Path:
        return self.folder / "ops.sqlite3"

    def copy(self, to: Path) -> Site:
        shutil.copytree(self.folder, to)
        return Site(to, self.landing)

    def nightly(
        self, as_of: date | None = None, kill: tuple[str, str, int] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``partsflow nightly`` in a child process, killed at ``kill`` if given."""
        from prefect.settings import PREFECT_API_URL

        args = ["nightly", "--db", str(self.db), "--landing", str(self.landing)]
        if as_of is not None:
            args += ["--as-of", as_of.isoformat()]
        env = {
            **os.environ,
            **SETTINGS,
            "PARTSFLOW_SNAPSHOT_DIR": str(self.snapshots),
            "PARTSFLOW_OPS_URL": f"sqlite:///{self.store}",
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),  # the session's test server
        }
        if kill is None:
            command = [sys.executable, "-m", "partsflow_cli", *args]
        else:
            target, when, call = kill
            command = [sys.executable, "-m", "tests._killpoint", target, when, str(call), "--"]
            command += args
        return subprocess.run(
            command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )

    def runs(self) -> pl.DataFrame:
        with connect(self.db) as con:
            runs: pl.DataFrame = con.sql(
                "SELECT run_id, as_of, status, error FROM runs WHERE kind = 'nightly' "
                "ORDER BY started_at"
            ).pl()
        return runs

    def succeeded(self, as_of: date) -> str:
        """The one succeeded nightly of ``as_of`` (fails if there are none or two)."""
        runs = self.runs().filter(pl.col("as_of") == as_of, pl.col("status") == "succeeded")
        assert runs.height == 1, runs
        return str(runs["run_id"][0])

    def published_run(self) -> str:
        with published.open_snapshot(self.snapshots) as snap:
            return published.published_run(snap).run_id

    def store_runs(self) -> tuple[list[str], set[str]]:
        """The nights published into the store (oldest first), and the runs of its open
        transfer and purchase orders."""
        with sqlite3.connect(self.store) as con:
            nights = [
                r[0] for r in con.execute("SELECT run_id FROM plan_publications ORDER BY rowid")
            ]
            open_runs = {
                r[0]
                for table in ("transfer_orders", "purchase_orders")
                for r in con.execute(
                    f"SELECT DISTINCT run_id FROM {table} WHERE status IN ('proposed', 'approved')"
                )
            }
        return nights, open_runs

    def plan_of(self, run_id: str) -> pl.DataFrame:
        with connect(self.db) as con:
            lines: pl.DataFrame = con.sql(
                "SELECT * EXCLUDE (run_id) FROM replenishment_plan WHERE run_id = $run "
                "ORDER BY warehouse_id, sku",
                params={"run": run_id},
            ).pl()
        return lines

    def loaded(self) -> dict[str, int]:
        """Rows per loaded table, and the landing files recorded as loaded (each night's
        read of the operational store is recorded too, as a batch of its own)."""
        with connect(self.db) as con:
            counts = {
                table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
                for table in (
                    "order_lines",
                    "order_line_status_history",
                    "stock_levels",
                    "skus",
                    "quarantine",
                )
            }
            counts["landing files"] = con.execute(
                "SELECT count(*) FROM ingested_files WHERE source_file NOT LIKE 'ops:%'"
            ).fetchall()[0][0]
        return counts


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    generate(out, scale="small", seed=7)
    return out


@pytest.fixture(scope="module")
def last_day(landing: Path) -> date:
    """The landing's last order day (the generator's manifest names it)."""
    return date.fromisoformat(json.loads((landing / "manifest.json").read_text())["end"])


@pytest.fixture(scope="module")
def first_night(
    prefect_server: None, landing: Path, last_day: date, tmp_path_factory: pytest.TempPathFactory
) -> Site:
    """An installation after one uninterrupted night, as of the day before the last."""
    site = Site(tmp_path_factory.mktemp("sites") / "first", landing)
    site.folder.mkdir()
    done = site.nightly(last_day - timedelta(days=1))
    assert done.returncode == 0, done.stderr
    assert not list(site.folder.glob(".*.spill"))  # a night removes its spilled rows
    return site


@pytest.fixture(scope="module")
def second_night(
    first_night: Site, last_day: date, tmp_path_factory: pytest.TempPathFactory
) -> Site:
    """The first installation after the next night too, uninterrupted: the reference."""
    site = first_night.copy(tmp_path_factory.mktemp("sites") / "second")
    done = site.nightly(last_day)
    assert done.returncode == 0, done.stderr
    return site


def _killed(site: Site, kill: tuple[str, str, int], as_of: date) -> None:
    done = site.nightly(as_of, kill=kill)
    assert done.returncode == -9, (done.returncode, done.stderr[-2000:])


def _recovered(site: Site, reference: Site, as_of: date) -> str:
    """Run the night again; check it is the uninterrupted night's, once, everywhere."""
    done = site.nightly(as_of)
    assert done.returncode == 0, done.stderr[-2000:]
    run_id = site.succeeded(as_of)
    assert site.published_run() == run_id
    nights, open_runs = site.store_runs()
    assert nights[-1] == run_id
    assert open_runs <= {run_id}
    assert not list(site.snapshots.glob(".*.building*"))
    assert not list(site.folder.glob(".*.spill"))  # the night's spilled rows: flows/spill.py
    assert site.loaded() == reference.loaded()
    assert_frame_equal(site.plan_of(run_id), reference.plan_of(reference.succeeded(as_of)))
    # No run is left running; each earlier attempt of the date says why it is not the plan.
    runs = site.runs()
    assert runs.filter(pl.col("status") == "running").is_empty()
    others = runs.filter(pl.col("as_of") == as_of, pl.col("run_id") != run_id)
    assert others["status"].to_list() == ["failed"] * others.height
    return run_id


def test_a_kill_during_a_files_load_leaves_the_file_unloaded_and_the_rerun_loads_it_once(
    landing: Path, first_night: Site, last_day: date, tmp_path: Path
) -> None:
    site = Site(tmp_path / "site", landing)
    site.folder.mkdir()
    day = last_day - timedelta(days=1)
    _killed(site, DURING_INGEST, day)
    # Two files loaded whole; the third, killed inside its transaction, left nothing.
    assert site.loaded()["landing files"] == 2
    assert site.runs().is_empty()
    assert not site.snapshots.exists()
    _recovered(site, first_night, day)


def test_a_kill_during_the_forecast_keeps_last_nights_plan_published(
    first_night: Site, second_night: Site, last_day: date, tmp_path: Path
) -> None:
    site = first_night.copy(tmp_path / "site")
    before = site.published_run()
    _killed(site, AFTER_FIRST_FORECAST, last_day)
    assert site.runs().filter(pl.col("as_of") == last_day)["status"].to_list() == ["running"]
    assert site.published_run() == before
    assert site.store_runs()[0] == [before]
    _recovered(site, second_night, last_day)
    abandoned = site.runs().filter(pl.col("status") == "failed")["error"].to_list()
    assert abandoned == ["abandoned: the process ended before the run finished"]


def test_a_kill_inside_the_save_transaction_leaves_nothing_of_the_night(
    first_night: Site, second_night: Site, last_day: date, tmp_path: Path
) -> None:
    site = first_night.copy(tmp_path / "site")
    before = site.published_run()
    _killed(site, INSIDE_SAVE, last_day)
    killed = site.runs().filter(pl.col("as_of") == last_day)
    assert killed["status"].to_list() == ["running"]
    assert site.plan_of(str(killed["run_id"][0])).is_empty()
    with connect(site.db) as con:
        forecasts = con.execute(
            "SELECT count(*) FROM forecasts WHERE run_id = ?", [killed["run_id"][0]]
        ).fetchall()[0][0]
    assert forecasts == 0
    assert site.published_run() == before
    # Its forecast and plan rows were spilled, and the kill left them: the rerun removes them.
    (spilled,) = site.folder.glob(f".warehouse.duckdb.{killed['run_id'][0]}.spill")
    assert sorted(p.name for p in spilled.iterdir()) == ["forecasts", "plan.parquet"]
    assert (spilled / "forecasts" / "unsold.parquet").exists()  # one file a warehouse, then these
    _recovered(site, second_night, last_day)


def test_a_kill_before_the_snapshot_swap_is_repaired_at_the_next_start(
    first_night: Site, second_night: Site, last_day: date, tmp_path: Path
) -> None:
    site = first_night.copy(tmp_path / "site")
    before = site.published_run()
    _killed(site, SNAPSHOT_BUILT, last_day)
    # The plan is committed; the API still serves last night's, and a half-swap is left.
    committed = site.succeeded(last_day)
    assert site.published_run() == before
    assert list(site.snapshots.glob(f".*.{committed}.building"))
    rerun = _recovered(site, second_night, last_day)
    replaced = site.runs().filter(pl.col("run_id") == committed)
    assert replaced["error"].to_list() == [
        f"replaced by run {rerun}, a rerun of the same as-of date"
    ]


def test_a_kill_before_the_store_hears_of_the_night_is_repaired_by_the_rerun(
    first_night: Site, second_night: Site, last_day: date, tmp_path: Path
) -> None:
    site = first_night.copy(tmp_path / "site")
    before = site.published_run()
    _killed(site, BEFORE_STORE, last_day)
    committed = site.succeeded(last_day)
    assert site.published_run() == committed
    # The store still proposes last night's orders.
    nights, open_runs = site.store_runs()
    assert nights == [before]
    assert open_runs == {before}
    _recovered(site, second_night, last_day)


def test_two_kills_in_a_row_then_a_rerun_still_make_one_night(
    first_night: Site, second_night: Site, last_day: date, tmp_path: Path
) -> None:
    site = first_night.copy(tmp_path / "site")
    _killed(site, INSIDE_SAVE, last_day)
    _killed(site, SNAPSHOT_BUILT, last_day)
    _recovered(site, second_night, last_day)


def test_the_store_missing_the_latest_night_is_repaired_without_a_rerun(
    first_night: Site, last_day: date, tmp_path: Path
) -> None:
    site = first_night.copy(tmp_path / "site")
    _killed(site, BEFORE_STORE, last_day)
    committed = site.succeeded(last_day)
    url = f"sqlite:///{site.store}"
    assert repair_store(site.db, url) == committed
    nights, open_runs = site.store_runs()
    assert nights[-1] == committed
    assert open_runs == {committed}
    assert repair_store(site.db, url) is None  # once

"""The night's Prefect artifacts (flows/artifacts.py) and the run record's step timings."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import flow

from flows.artifacts import (
    CUTS_KEY,
    STEPS_KEY,
    SUMMARY_KEY,
    WAREHOUSES_KEY,
    NightArtifacts,
    publish_night_artifacts,
    step_rows,
    summary_lines,
    summary_markdown,
)
from flows.night import NightlyResult
from flows.progress import NIGHTLY_STEPS
from pipelines.generate import generate
from settings import DataPaths, Settings
from tests.api import _world
from warehouse import runs
from warehouse.schema import connect

RESULT = NightlyResult(
    run_id="nightly-1",
    as_of=date(2026, 11, 20),
    files_ingested=3,
    files_refused=0,
    rows_loaded=1200,
    rows_quarantined=2,
    series_forecast=10,
    series_by_class={"intermittent": 7, "smooth": 3},
    series_reselected=2,
    cold_starts=0,
    censored_days=4,
    series_held=9,
    series_kept_at_dc=1,
    lines_proposed=4,
    units_proposed=15,
    units_allocated=13,
    lines_cut=1,
    allocation_status="DC01 optimal",
    transfer_orders=2,
    pull_back_lines=1,
    purchase_orders=1,
    purchase_units=12,
    purchase_value=24.0,
    skus_without_supplier=0,
    linehaul_vans=1,
    linehaul_trips=1,
    linehaul_km=12.5,
    linehaul_unassigned_l=0.0,
    stores_flagged=3,
    snapshot="",
    step_seconds={"ingest": 1.0, "forecast": 6.0, "plan": 3.0},
)


@pytest.fixture(scope="module")
def tiny_night(tmp_path_factory: pytest.TempPathFactory) -> tuple[NightlyResult, Path]:
    """tests/api/_world's published night (FW01/P1 cut 6 → 4) and a result naming its run."""
    work = tmp_path_factory.mktemp("night")
    snapshots = work / "published"
    run_id = _world.build(work, snapshots)
    return replace(RESULT, run_id=run_id, snapshot=str(snapshots / "plan.duckdb")), snapshots


def test_the_summary_is_the_clis_lines_with_warnings_bold_in_markdown() -> None:
    lines = summary_lines(RESULT)
    assert lines[0] == "nightly run nightly-1 as of 2026-11-20"
    assert "  WARNING: 3 store(s) outside the 5 km / 30 min promise (table store_coverage)" in lines
    markdown = summary_markdown(RESULT)
    assert markdown.startswith("# Nightly run nightly-1 as of 2026-11-20\n")
    assert "- ingested 3 files: 1,200 rows loaded, 2 quarantined" in markdown
    assert "- **WARNING: 3 store(s) outside" in markdown


def test_step_rows_keep_the_nights_order_with_each_steps_share() -> None:
    assert step_rows(RESULT) == [
        {"step": "ingest", "seconds": 1.0, "share": "10%"},
        {"step": "forecast", "seconds": 6.0, "share": "60%"},
        {"step": "plan", "seconds": 3.0, "share": "30%"},
    ]


@flow(name="artifacts-test")
def _report(result: NightlyResult, snapshots: Path) -> tuple[NightArtifacts, UUID]:
    """The night's artifacts made in a flow run; with the run's id."""
    return publish_night_artifacts(result, snapshots), _this_run()


def _this_run() -> UUID:
    from prefect.runtime import flow_run

    return UUID(flow_run.get_id())


def _artifacts(flow_run_id: UUID) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        made = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {str(artifact.key): artifact for artifact in made}


def _table(artifact: Any) -> list[dict[str, Any]]:
    data = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    assert isinstance(data, list)
    return data


def test_a_flow_run_carries_the_nights_summary_and_tables(
    prefect_server: None, tiny_night: tuple[NightlyResult, Path]
) -> None:
    result, snapshots = tiny_night
    made, flow_run_id = _report(result, snapshots)
    assert made.summary and made.steps and made.warehouses and made.cuts
    artifacts = _artifacts(flow_run_id)
    assert set(artifacts) == {SUMMARY_KEY, STEPS_KEY, WAREHOUSES_KEY, CUTS_KEY}
    assert artifacts[SUMMARY_KEY].type == "markdown"
    assert f"# Nightly run {result.run_id}" in artifacts[SUMMARY_KEY].data
    assert [row["step"] for row in _table(artifacts[STEPS_KEY])] == ["ingest", "forecast", "plan"]
    per_warehouse = {row["warehouse"]: row for row in _table(artifacts[WAREHOUSES_KEY])}
    assert set(per_warehouse) == {"FW01", "FW02"}
    assert per_warehouse["FW01"]["lines cut"] == 1 and per_warehouse["FW01"]["units cut"] == 2
    cuts = _table(artifacts[CUTS_KEY])
    assert [(c["warehouse"], c["sku"], c["proposed"], c["allocated"], c["cut"]) for c in cuts] == [
        ("FW01", "P1", 6, 4, 2)
    ]
    assert cuts[0]["cut by"] == "dc_stock+shelf"


def test_a_snapshot_of_another_run_gives_the_summary_and_steps_only(
    prefect_server: None, tiny_night: tuple[NightlyResult, Path], tmp_path: Path
) -> None:
    result, snapshots = tiny_night
    other, _ = _report(replace(result, run_id="nightly-other"), snapshots)
    assert other.summary and other.steps and not other.warehouses and not other.cuts
    nothing_published, _ = _report(result, tmp_path / "no-snapshots")
    assert nothing_published.summary and not nothing_published.warehouses


def test_an_unreachable_prefect_api_is_a_warning_never_a_failed_night(
    tiny_night: tuple[NightlyResult, Path], caplog: pytest.LogCaptureFixture
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    result, snapshots = tiny_night
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        made = publish_night_artifacts(result, snapshots)
    assert made == NightArtifacts()
    assert "could not create the night's Prefect artifacts" in caplog.text


@flow(name="nightly-with-artifacts")
def _night_and_report(paths: DataPaths) -> tuple[NightlyResult, UUID]:
    from flows import nightly

    params = Settings(forecast_horizon_days=7, linehaul_time_limit_s=2.0).nightly_params()
    result = nightly(paths, params)
    publish_night_artifacts(result, paths.snapshots)
    return result, _this_run()


@pytest.mark.slow
def test_a_real_night_records_its_step_timings_and_reports_them(
    prefect_server: None, tmp_path: Path
) -> None:
    """Issue 15, item 6.4: the run record holds each step's seconds beside the night's counts."""
    generate(tmp_path / "landing", scale="small", seed=7)
    paths = DataPaths(tmp_path / "w.duckdb", tmp_path / "landing", tmp_path / "published")
    result, flow_run_id = _night_and_report(paths)
    with connect(paths.db) as con:
        summary = json.loads(runs.get_run(con, result.run_id)["summary"])
    # The CLI's bar counts the same steps (flows/progress.NIGHTLY_STEPS, then the save).
    steps = list(NIGHTLY_STEPS[:-1])
    assert steps == ["ingest", "forecast", "plan", "line-haul", "replay", "coverage", "purchase"]
    assert list(summary["step_seconds"]) == steps
    assert all(seconds >= 0 for seconds in summary["step_seconds"].values())
    counted = {k: v for k, v in asdict(result).items() if k not in {"snapshot", "as_of"}}
    assert {k: summary[k] for k in counted} == json.loads(json.dumps(counted))
    assert summary["rows_loaded"] > 0 and summary["lines_proposed"] > 0
    artifacts = _artifacts(flow_run_id)
    assert [row["step"] for row in _table(artifacts[STEPS_KEY])] == steps
    assert len(_table(artifacts[WAREHOUSES_KEY])) == 2  # the small network's forward warehouses
    assert 0 < len(_table(artifacts[CUTS_KEY])) <= 20

"""What a night did, in words and small tables: the CLI's summary and the Prefect artifacts.

:func:`summary_lines` is the one text of a night's summary: ``partsflow nightly``
prints it, and :func:`publish_night_artifacts` renders it as the run's markdown
artifact beside a few bounded tables a planner reads in the Prefect UI (each under a
fixed key, so the UI's Artifacts page shows the latest night's and its history):

* ``nightly-summary``: the summary;
* ``nightly-steps``: seconds per step of the flow body (``NightlyResult.step_seconds``);
* ``nightly-warehouses``: per forward warehouse, the plan's figures (series held,
  expected fill, stock-out risk, lines and units proposed and cut, pull-backs, stock
  value and cover), from the published snapshot;
* ``nightly-cuts``: the :data:`TOP_CUTS` lines the DC allocation cut most, with why.

The tables come from the published snapshot (``warehouse.published``, the read side
every reader uses), so call it after the night has published.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import polars as pl

from warehouse import published

if TYPE_CHECKING:
    import duckdb

    from flows.night import NightlyResult

#: Rows of the ``nightly-cuts`` table; of ``nightly-warehouses`` at most this many too.
TOP_CUTS = 20
MAX_WAREHOUSES = 50
#: A plan line's reason is a paragraph; the table keeps its start.
REASON_CHARS = 200

SUMMARY_KEY = "nightly-summary"
STEPS_KEY = "nightly-steps"
WAREHOUSES_KEY = "nightly-warehouses"
CUTS_KEY = "nightly-cuts"


def summary_lines(result: NightlyResult) -> list[str]:
    """The night's summary: a header line, then one indented line per fact or warning."""
    classes = ", ".join(f"{k} {v:,}" for k, v in result.series_by_class.items())
    lines = [
        f"nightly run {result.run_id} as of {result.as_of}",
        f"  ingested {result.files_ingested} files: {result.rows_loaded:,} rows loaded, "
        f"{result.rows_quarantined:,} quarantined",
    ]
    if result.files_refused:
        lines.append(
            f"  WARNING: {result.files_refused} landing file(s) refused; see the log above"
        )
    lines += [
        f"  forecast {result.series_forecast:,} series ({classes})",
        f"  models re-selected for {result.series_reselected:,} series, "
        f"{result.cold_starts:,} cold starts, {result.censored_days:,} stock-out days censored",
        f"  range: {result.series_held:,} series held at the forward warehouses,"
        f" {result.series_kept_at_dc:,} kept at the DC (dormant, never sold here, or unlikely"
        " to sell within the return horizon)",
        f"  proposed {result.lines_proposed:,} replenishment lines,"
        f" {result.units_proposed:,} units; DC allocated {result.units_allocated:,} units"
        f" ({result.lines_cut:,} lines cut, allocation {result.allocation_status})",
        f"  {result.transfer_orders:,} transfer orders proposed,"
        f" {result.pull_back_lines:,} pull-back lines",
        f"  DC purchase orders: {result.purchase_orders:,} to suppliers,"
        f" {result.purchase_units:,} units, ¥{result.purchase_value:,.0f} at cost",
    ]
    if result.skus_without_supplier:
        lines.append(
            f"  WARNING: {result.skus_without_supplier:,} SKU(s) with demand have no supplier"
            " (table purchase_plan, action no_supplier)"
        )
    if result.stores_flagged:
        lines.append(
            f"  WARNING: {result.stores_flagged} store(s) outside the 5 km / 30 min promise"
            " (table store_coverage)"
        )
    lines.append(
        f"  line-haul: {result.linehaul_vans} vans, {result.linehaul_trips} trips,"
        f" {result.linehaul_km:,.1f} km"
    )
    if result.linehaul_unassigned_l:
        lines.append(
            f"  WARNING: {result.linehaul_unassigned_l:,.0f} l of tonight's transfers cannot"
            " reach the warehouses before opening (table routes, run log)"
        )
    return lines


def summary_markdown(result: NightlyResult) -> str:
    """:func:`summary_lines` as markdown: a heading, a bullet per line, warnings in bold."""
    header, *facts = summary_lines(result)
    bullets = [
        f"- **{fact.strip()}**" if fact.strip().startswith("WARNING") else f"- {fact.strip()}"
        for fact in facts
    ]
    if result.snapshot:
        bullets.append(f"- published: `{result.snapshot}`")
    return "\n".join([f"# {header[0].upper()}{header[1:]}", "", *bullets, ""])


def step_rows(result: NightlyResult) -> list[dict[str, Any]]:
    """Seconds per step, in the order the night ran them, with each one's share."""
    total = sum(result.step_seconds.values())
    return [
        {
            "step": step,
            "seconds": seconds,
            "share": f"{seconds / total:.0%}" if total else "–",
        }
        for step, seconds in result.step_seconds.items()
    ]


def warehouse_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """Per forward warehouse of the snapshot, the plan's figures of run ``run_id``."""
    rows: list[dict[str, Any]] = []
    forward = published.warehouses(con, "forward")["warehouse_id"].head(MAX_WAREHOUSES)
    for warehouse_id in forward:
        night = published.plan_kpis(con, warehouse_id=warehouse_id).filter(
            pl.col("run_id") == run_id
        )
        for kpi in night.iter_rows(named=True):
            rows.append(
                {
                    "warehouse": warehouse_id,
                    "series held": kpi["stocked"],
                    "expected fill": _pct(kpi["expected_fill_rate"]),
                    "stock-out risk": _pct(kpi["stock_out_risk"]),
                    "out now": kpi["out_now"],
                    "lines proposed": kpi["lines_proposed"],
                    "units proposed": kpi["units_proposed"],
                    "lines cut": kpi["lines_cut"],
                    "units cut": kpi["units_cut"],
                    "pull-backs": kpi["pull_back_lines"],
                    "stock ¥": round(kpi["inventory_value"] or 0.0),
                    "cover days": None
                    if kpi["cover_days"] is None
                    else round(kpi["cover_days"], 1),
                }
            )
    return rows


def cut_rows(con: duckdb.DuckDBPyConnection, limit: int = TOP_CUTS) -> list[dict[str, Any]]:
    """The ``limit`` plan lines the allocation cut most (units short), with why."""
    cuts = pl.concat([page for page in _cut_pages(con)], how="vertical_relaxed")
    if cuts.is_empty():
        return []
    top = (
        cuts.with_columns(cut=pl.col("proposed_quantity") - pl.col("allocated_quantity"))
        .sort(["cut", "series_id"], descending=[True, False])
        .head(limit)
    )
    return [
        {
            "warehouse": row["warehouse_id"],
            "sku": row["sku"],
            "category": row["category"],
            "proposed": row["proposed_quantity"],
            "allocated": row["allocated_quantity"],
            "cut": row["cut"],
            "cut by": row["cut_by"],
            "reason": _clip(row["reason"]),
        }
        for row in top.iter_rows(named=True)
    ]


def _cut_pages(con: duckdb.DuckDBPyConnection) -> Iterator[pl.DataFrame]:
    after: str | None = None
    while True:
        page = published.plan_exceptions(con, kind="cut", after=after, limit=1000)
        yield page.rows
        if page.next_after is None:
            return
        after = page.next_after


@dataclass(frozen=True)
class NightArtifacts:
    """The ids of the artifacts made for one night (None: not made)."""

    summary: UUID | None = None
    steps: UUID | None = None
    warehouses: UUID | None = None
    cuts: UUID | None = None


def publish_night_artifacts(result: NightlyResult, snapshot_dir: Path) -> NightArtifacts:
    """Create the night's markdown and table artifacts (module docstring) in Prefect.

    Inside a flow or task run they belong to it. The tables come from the snapshot in
    ``snapshot_dir`` when it holds ``result.run_id``; otherwise only the summary and
    the step timings are made. Never raises: the night has succeeded and published by
    now, and a report that cannot be written (the Prefect API away) is a warning in
    the log, not a failed night.
    """
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    made: dict[str, UUID] = {}
    run_id = result.run_id
    try:
        made["summary"] = _made(
            create_markdown_artifact(
                summary_markdown(result), key=SUMMARY_KEY, description=f"Nightly run {run_id}"
            )
        )
        made["steps"] = _made(
            create_table_artifact(
                step_rows(result), key=STEPS_KEY, description=f"Seconds per step, run {run_id}"
            )
        )
        tables = _snapshot_tables(run_id, snapshot_dir)
        if tables is not None:
            warehouses, cuts = tables
            made["warehouses"] = _made(
                create_table_artifact(
                    warehouses,
                    key=WAREHOUSES_KEY,
                    description=f"The plan per forward warehouse, run {run_id}",
                )
            )
            made["cuts"] = _made(
                create_table_artifact(
                    cuts,
                    key=CUTS_KEY,
                    description=f"The {TOP_CUTS} lines the DC allocation cut most, run {run_id}",
                )
            )
    except Exception as error:  # a report, never the night's failure
        _logger().warning(
            "could not create the night's Prefect artifacts: %s: %s", type(error).__name__, error
        )
    return NightArtifacts(**made)


def _snapshot_tables(
    run_id: str, snapshot_dir: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    try:
        with published.open_snapshot(snapshot_dir) as con:
            if published.published_run(con).run_id != run_id:
                _logger().warning(
                    "the published snapshot is not run %s: no per-warehouse tables", run_id
                )
                return None
            return warehouse_rows(con, run_id), cut_rows(con)
    except published.SnapshotError as error:
        _logger().warning("no published snapshot to report on: %s", error)
        return None


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def _made(artifact_id: object) -> UUID:
    assert isinstance(artifact_id, UUID)  # the sync call's result, not a coroutine
    return artifact_id


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _clip(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"

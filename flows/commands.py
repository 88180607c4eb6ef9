"""The commands a planner or a file user runs: one database step or one file each, no Prefect.

The line-haul re-plan on what planners released, loading landing files, the
transfer-order workflow, and the file commands (``partsflow forecast`` and
``partsflow route``: a file in, a file out, the same engines as the night).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import psutil
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from flows.store import copy_workflow
from models.distributions import level_columns
from models.engine import forecast
from models.params import ForecastParams
from ops import make_engine, reading, upgrade
from ops import workflow as store
from optimization.routing import SolveParams, solve
from optimization.routing.linehaul import LinehaulParams, plan_linehaul, route_rows
from pipelines.errors import InputError
from pipelines.files import written_whole
from pipelines.forecast_input import read_forecast_input
from pipelines.ingest import IngestReport, RetryReport, ingest, retry_quarantine
from pipelines.routing_io import read_problem, write_solution
from settings import DataPaths
from warehouse import plan, replenishment, runs, transfers
from warehouse.dblock import database_lock
from warehouse.schema import connect


@dataclass(frozen=True)
class LinehaulReplan:
    """What re-planning the line-haul on the released orders did, for the CLI."""

    run_id: str
    volume_l: float
    warehouses: int
    vans: int
    trips: int
    km: float
    late_l: float


def replan_linehaul(paths: DataPaths, params: LinehaulParams) -> LinehaulReplan:
    """Re-plan tonight's DC vans on the transfer orders planners actually released.

    Replaces the latest succeeded nightly run's line-haul routes and republishes its
    snapshot. A planner's morning step, so a plain function rather than a Prefect flow
    (no server start for a few seconds of routing).

    Raises
    ------
    InputError
        No database, no succeeded nightly run, or nothing released for tomorrow.
    """
    require_database(paths.db)
    with database_lock(paths.db, "linehaul"):  # no other command writes the file meanwhile
        return _replan(paths, params)


def _replan(paths: DataPaths, params: LinehaulParams) -> LinehaulReplan:
    if paths.ops_url:  # what planners released this morning is in the store
        copy_workflow(paths.db, paths.ops_url)
    with connect(paths.db) as con:
        run_id, as_of = runs.latest_succeeded(con, "nightly") or (None, None)
        if run_id is None or as_of is None:
            raise InputError(f"{paths.db}: no succeeded nightly run to route")
        loads = transfers.released_loads(con, run_id)
        if loads.is_empty():
            raise InputError(f"run {run_id}: no released transfer order due tomorrow")
        plans = plan_linehaul(loads, replenishment.warehouse_sites(con), params)
        plan.replace_linehaul(con, run_id, route_rows(plans, as_of, params))
        plan.publish_snapshot(con, run_id, paths.snapshots)
    return LinehaulReplan(
        run_id=run_id,
        volume_l=float(loads["volume_l"].sum()),
        warehouses=loads.height,
        vans=sum(p.vans_needed for p in plans),
        trips=sum(p.trips for p in plans),
        km=sum(p.solution.distance for p in plans) / 1000,
        late_l=sum(p.unassigned_volume_l for p in plans),
    )


# ---- planner and loading commands: one database step each, no Prefect -------------------


def ingest_files(
    db_path: Path,
    paths: Sequence[Path],
    kind: str | None,
    retry: bool,
    on_file: Callable[[Path], None] | None = None,
) -> tuple[IngestReport | None, RetryReport | None]:
    """Load landing files or folders (``partsflow ingest``), then retry quarantined rows.

    ``on_file`` is called with each file's path once it is done (a progress display).

    Raises
    ------
    InputError
        A named file or folder does not exist, or there is nothing to do.
    """
    if not paths and not retry:
        raise InputError("give files or folders to load, or --retry-quarantine")
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
    with database_lock(db_path, "ingest"), connect(db_path) as con:
        report = ingest(con, list(paths), kind=kind, on_file=on_file) if paths else None
        retried = retry_quarantine(con) if retry else None
    return report, retried


#: The two order books planners work on: DC → warehouse transfers and DC purchase orders.
OrderKind = store.Kind
OrderAction = Literal["approve", "override", "release", "cancel"]
#: The most orders ``partsflow transfer|purchase list`` prints.
MAX_LISTED = 10_000


def list_orders(
    ops_url: str, kind: OrderKind, status: str | None, warehouse_id: str | None = None
) -> list[Mapping[str, Any]]:
    """Transfer or purchase orders in the operational store (``partsflow transfer|purchase
    list``), by id, at most :data:`MAX_LISTED`.

    Raises
    ------
    InputError
        The store cannot be opened (one line).
    """
    rows: list[Mapping[str, Any]] = []
    after = None
    with _store(ops_url) as engine, reading(engine) as conn:
        while len(rows) < MAX_LISTED:
            page = store.list_orders(
                conn, kind, status=status, warehouse_id=warehouse_id, after=after, limit=500
            )
            rows.extend(page.items)
            if page.next_after is None:
                break
            after = page.next_after
    return rows[:MAX_LISTED]


def change_order(
    ops_url: str,
    kind: OrderKind,
    action: OrderAction,
    order_id: str,
    user: str,
    reason: str = "",
    quantities: Mapping[str, int] | None = None,
) -> str:
    """One step of the transfer- or purchase-order workflow in the operational store, through
    the functions the API calls (``ops.workflow``); returns the order's new status.

    Raises
    ------
    InputError
        The store cannot be opened, or a step the workflow refuses (the reason in one line).
    """
    try:
        with _store(ops_url) as engine, engine.begin() as conn:
            if action == "approve":
                order = store.approve(conn, kind, order_id, by=user, reason=reason)
            elif action == "release":
                order = store.release(conn, kind, order_id, by=user, reason=reason)
            elif action == "cancel":
                order = store.cancel(conn, kind, order_id, reason=reason, by=user)
            else:
                order = store.override(
                    conn, kind, order_id, dict(quantities or {}), reason=reason, by=user
                )
    except store.WorkflowError as error:
        raise InputError(str(error)) from None
    return order.status


@contextmanager
def _store(ops_url: str) -> Iterator[Engine]:
    """The operational store, migrated; a store that cannot be reached is a one-line error."""
    try:
        engine = make_engine(ops_url)
    except ValueError as error:
        raise InputError(f"PARTSFLOW_OPS_URL: {error}") from None
    try:
        upgrade(engine)
        yield engine
    except SQLAlchemyError as error:
        first = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise InputError(f"operational store {engine.url!r}: {first}") from None
    finally:
        engine.dispose()


# ---- file commands: a file in, a file out, the same engines as the night -----------------


def forecast_file(input_path: Path, output: Path, params: ForecastParams) -> None:
    """``partsflow forecast``: validate the input, forecast, write the Parquet output.

    Output columns: ``unique_id, ds, mean, model, q<level>...`` (DESIGN.md), one row
    per (series, horizon period), starting one period after the file's last ``ds``.
    Above 2,000 series the expensive models (AutoETS/AutoTheta) are left out.

    Raises
    ------
    InputError
        Bad input file (one line naming the file, the field and the problem).
    """
    history = read_forecast_input(input_path, params.freq)
    check_horizon(history["unique_id"].n_unique(), params.horizon, input_path)
    last = history["ds"].max()
    assert isinstance(last, date)  # read_forecast_input refuses an empty file
    check_calendar(last, params.horizon, params.freq)
    if history["unique_id"].n_unique() > EXPENSIVE_MODELS_UP_TO:
        params = replace(params, skip_expensive=True)
    result = forecast(history, params)
    columns = ["unique_id", "ds", "mean", "model", *level_columns(params.levels)]
    output.parent.mkdir(parents=True, exist_ok=True)
    with written_whole(output) as part:  # a full disk leaves no half a file behind
        result.forecasts.select(columns).write_parquet(part)


#: ``partsflow forecast`` fits AutoETS/AutoTheta for files of at most this many series.
EXPENSIVE_MODELS_UP_TO = 2_000
#: Peak memory per forecast (series x period), with a margin: 340 bytes were measured
#: (peak RSS of one series at 100,000 and 400,000 periods, the five default quantiles:
#: 449 MB and 549 MB), doubled. An unbounded --horizon once grew to 24 GB.
BYTES_PER_FORECAST_PERIOD = 700


def check_calendar(last: date, horizon: int, freq: str) -> None:
    """Refuse a horizon that runs past the calendar's end (9999-12-31).

    Raises
    ------
    InputError
        Naming the horizon and the most periods left after the file's last date.
    """
    days_left = (date.max - last).days
    left = {"D": days_left, "W": days_left // 7, "MS": days_left * 12 // 366}.get(freq, days_left)
    if horizon > left:
        raise InputError(
            f"--horizon {horizon}: the file ends {last}, and at most {left:,} periods "
            f"(--freq {freq}) fit before 9999-12-31"
        )


def check_horizon(series: int, horizon: int, source: Path, available: int | None = None) -> None:
    """Refuse a horizon whose forecast would not fit in half the memory free now.

    Raises
    ------
    InputError
        Naming the file, the series, the horizon asked and the most that fits.
    """
    free = psutil.virtual_memory().available if available is None else available
    most = max(0, free // 2 // (BYTES_PER_FORECAST_PERIOD * max(series, 1)))
    if horizon > most:
        need_gb = series * horizon * BYTES_PER_FORECAST_PERIOD / 1e9
        raise InputError(
            f"--horizon {horizon}: {series:,} series of {source} x {horizon:,} periods need "
            f"~{need_gb:,.1f} GB; at most {most:,} periods fit in half the memory free now "
            f"({free / 1e9:.1f} GB)"
        )


def route_file(problem_path: Path, output: Path, params: SolveParams) -> bool:
    """``partsflow route``: read the problem, solve, write the solution JSON.

    Returns
    -------
    bool
        Whether every mandatory stop is served (the solution is written either way).

    Raises
    ------
    InputError
        Malformed problem (one line naming the file and the field).
    """
    problem = read_problem(problem_path)
    solution = solve(problem, params)
    write_solution(solution, output)
    mandatory = {s.id for s in problem.stops if s.mandatory}
    return not any(u.stop in mandatory for u in solution.unassigned)


def require_database(db_path: Path) -> None:
    if not db_path.exists():
        raise InputError(f"{db_path}: no such database")

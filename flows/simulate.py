"""``partsflow simulate``: the real nightly run N consecutive nights, in a closed loop, on a copy.

Setup, in a working folder (a temporary one unless given; the user's files are
never opened for writing):

* ``--scale``: the network is generated past its usual end by N days rounded up
  to whole 4-week blocks (the same history, plus those days), ingested with the
  normal ingestion into a fresh database, and everything after the usual end day
  (the *split*) is taken out again: the generator's later days arrive as demand,
  night by night.
* ``--db``: the database is copied and the loop runs forward from its last order
  day; day k replays the demand of the day ``shift`` days before it (``shift``:
  N rounded up to whole weeks, so weekdays stay weekdays), with new ids.

The DCs' open supplier orders at the split (their counts' ``in_transit``) become
released purchase orders (``warehouse.simulation.seed_open_purchases``), and
what the DCs had reserved for the split night's line-haul ships on the first
night. Then each day t after the split, in the order the real systems run:

1. **Morning**: released transfers and purchase orders due on t arrive (DC stock
   leaves, forward-warehouse stock arrives; pull-backs come back to the DC).
2. **Day**: each completed store line takes its forward warehouse's free stock or
   is missed there and sent by the DC with the next line-haul
   (``optimization.evaluation.closed_loop.serve_day``); unopened returns go back on
   the shelf. The day's orders (served or missed: both are demand) go into the
   database and every (warehouse, SKU) that moved gets its end-of-day count.
3. **Night**: the Prefect flow ``flows.night.nightly`` runs for as_of = t on the
   copy, exactly as ``partsflow nightly`` would (the model choice refreshes on its
   weekly rhythm), then every order it proposed is approved and released as a
   planner who signs everything would (transfers arrive on t + 1, purchase orders
   after the supplier's lead time).

``--policy minmax`` runs the same loop with ``PolicyParams(rule="minmax")`` and the
28-day moving average as the forecast (``optimization.replenishment.baseline``).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl

from flows.night import nightly
from optimization.evaluation.closed_loop import (
    KEYS,
    TRANSFERS,
    Network,
    NightKpis,
    NightRecord,
    TotalKpis,
    apply_moves,
    arrivals,
    free_stock,
    night_kpis,
    returned,
    serve_day,
    ship_reserved,
    total_kpis,
)
from optimization.replenishment.baseline import minmax_forecast
from pipelines.errors import InputError
from pipelines.generate import DEFAULT_END, generate, get_scale
from pipelines.ingest import ingest
from settings import DataPaths, NightlyParams
from warehouse import simulation
from warehouse.demand import demand_span
from warehouse.schema import connect

Policy = Literal["ours", "minmax"]
#: The most nights one run may simulate (a year).
MAX_NIGHTS = 365
#: A generated network's future comes in blocks of this many days (see ``_setup``).
FUTURE_BLOCK_DAYS = 28


@dataclass(frozen=True)
class Source:
    """Where the loop starts: a generated network (``scale``, ``seed``) or a copy of ``db``."""

    scale: str | None = None
    db: Path | None = None
    seed: int = 0


@dataclass(frozen=True)
class SimulationResult:
    """Per-night and total KPIs, and where the loop started and how long it took."""

    policy: Policy
    source: str
    split_day: date
    nights: tuple[NightKpis, ...]
    total: TotalKpis
    wall_s: tuple[float, ...]  # each night of the loop, all steps
    nightly_s: tuple[float, ...]  # of which the nightly flow
    refused: tuple[str, ...]  # orders the workflow refused to release
    seeded_purchase_lines: int
    setup_s: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: dates as ISO strings, infinite cover as null."""
        nights = [
            {**asdict(n), "wall_s": round(w, 2), "nightly_s": round(f, 2)}
            for n, w, f in zip(self.nights, self.wall_s, self.nightly_s, strict=True)
        ]
        total = {
            **asdict(self.total),
            "wall_s_per_night": round(sum(self.wall_s) / len(self.wall_s), 2),
            "wall_s_per_night_after_first": (
                round(sum(self.wall_s[1:]) / (len(self.wall_s) - 1), 2)
                if len(self.wall_s) > 1
                else None
            ),
            "nightly_s_per_night": round(sum(self.nightly_s) / len(self.nightly_s), 2),
            "orders_refused": len(self.refused),
        }
        head = {
            "policy": self.policy,
            "source": self.source,
            "split_day": self.split_day,
            "seeded_purchase_lines": self.seeded_purchase_lines,
            "setup_s": round(self.setup_s, 1),
        }
        plain: dict[str, Any] = _plain(
            {**head, "total": total, "nights": nights, "refused": list(self.refused)}
        )
        return plain


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(result: SimulationResult, path: Path) -> None:
    """Write :meth:`SimulationResult.to_dict` to ``path``."""
    path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")


def night_params(params: NightlyParams, policy: Policy) -> NightlyParams:
    """The nightly's parameters under ``policy``: as given, or the min/max baseline."""
    if policy == "ours":
        return params
    return replace(
        params,
        forecast=minmax_forecast(params.forecast, params.policy.minmax),
        policy=replace(params.policy, rule="minmax"),
    )


def simulate(
    source: Source,
    nights: int,
    policy: Policy,
    params: NightlyParams,
    workdir: Path | None = None,
    progress: Callable[[NightKpis, float], None] | None = None,
) -> SimulationResult:
    """Run the nightly ``nights`` consecutive nights in a closed loop (module docstring).

    Parameters
    ----------
    source
        A scale to generate (with its seed) or a database to copy.
    nights
        1 to :data:`MAX_NIGHTS`.
    policy
        ``ours`` (the nightly as configured) or ``minmax``.
    params
        The nightly's parameters (``Settings.nightly_params()``).
    workdir
        Where the copy lives and stays (default: a temporary folder, removed after),
        with ``served.parquet``: every store line of the loop and how it was served.
    progress
        Called after each night with its KPIs and wall seconds.

    Raises
    ------
    InputError
        For a bad number of nights, an unknown scale, a missing database or one with
        too little history to replay.
    """
    if not 1 <= nights <= MAX_NIGHTS:
        raise InputError(f"--nights must be between 1 and {MAX_NIGHTS}, got {nights}")
    if (source.scale is None) == (source.db is None):
        raise InputError("give either a scale to generate or a database to copy")
    with _workdir(workdir) as work:
        began = time.perf_counter()
        db, split, future = _setup(source, nights, policy, work)
        setup_s = time.perf_counter() - began
        return _loop(
            db, split, future, _Run(source, nights, policy, params, work, setup_s), progress
        )


@contextmanager
def _workdir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="partsflow-simulate-") as folder:
        yield Path(folder)


def _setup(
    source: Source, nights: int, policy: Policy, work: Path
) -> tuple[Path, date, simulation.Future]:
    """The working database, the split day and the orders to come."""
    db = work / "warehouse.duckdb"
    if source.scale is not None:
        spec = get_scale(source.scale)
        # Whole blocks of 4 weeks: a seed gives the same network and days for any N in a
        # block, so runs of different lengths (and policies) start from the same state.
        extra = FUTURE_BLOCK_DAYS * math.ceil(nights / FUTURE_BLOCK_DAYS)
        end = DEFAULT_END + timedelta(days=extra)
        landing = work / "landing"
        generate(landing, replace(spec, days=spec.days + extra), source.seed, end=end)
        # The loop's days lie after today's date: ingestion is told it runs after them.
        after_end = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
        with connect(db) as con:
            report = ingest(con, [landing], now=after_end)
            if report.errors or report.total_quarantined:
                raise InputError(f"the generated network did not load cleanly: {report.render()}")
            return db, DEFAULT_END, simulation.detach_future(con, DEFAULT_END)
    assert source.db is not None
    if not source.db.is_file():
        raise InputError(f"{source.db}: no such database")
    shutil.copyfile(source.db, db)
    wal = source.db.with_name(source.db.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, db.with_name(db.name + ".wal"))
    shift = 7 * math.ceil(nights / 7)
    with connect(db) as con:
        first, last = demand_span(con)
        if first is None or last is None or (last - first).days + 1 < 2 * shift:
            raise InputError(
                f"{source.db}: replaying {nights} nights needs at least {2 * shift} days of "
                f"orders, found {0 if first is None or last is None else (last - first).days + 1}"
            )
        if policy == "minmax":  # the stored choice names the service models
            simulation.forget_model_choice(con)
        return db, last, simulation.replay_future(con, last, nights, shift)


@dataclass(frozen=True)
class _Run:
    source: Source
    nights: int
    policy: Policy
    params: NightlyParams
    work: Path
    setup_s: float


def _loop(
    db: Path,
    split: date,
    future: simulation.Future,
    run: _Run,
    progress: Callable[[NightKpis, float], None] | None,
) -> SimulationResult:
    paths = DataPaths(db=db, landing=None, snapshots=run.work / "published")
    params = night_params(run.params, run.policy)
    with connect(db) as con:
        seeded = simulation.seed_open_purchases(con, split)
        stock = simulation.stock_state(con, split)
        sites, costs, first = simulation.network(con)
    network = Network(sites, costs, history_start=first or split)
    stock, shipped = ship_reserved(stock)
    kpis: list[NightKpis] = []
    served_all: list[pl.DataFrame] = []
    moved_all: list[pl.DataFrame] = [TRANSFERS.to_frame()]
    wall: list[float] = []
    flow_s: list[float] = []
    refused: list[str] = []
    for k in range(1, run.nights + 1):
        began = time.perf_counter()
        day = split + timedelta(days=k)
        with connect(db) as con:
            incoming, bought = simulation.due(con, day)
            spoken = simulation.spoken_for(con, day)
        morning = arrivals(incoming, bought)
        stock = apply_moves(stock, morning)
        opening = free_stock(stock, spoken)
        served, sold = serve_day(future.lines.filter(pl.col("demand_date") == day), opening, sites)
        with connect(db) as con:
            simulation.insert_day(con, future, day)
            back = returned(simulation.returns_on(con, day))
            stock = apply_moves(stock, pl.concat([sold, back]))
            moved = pl.concat([shipped, morning, sold, back]).select(KEYS).unique()
            simulation.write_counts(con, day, stock.join(moved, on=KEYS, how="semi"))
        shipped = shipped.clear()
        flow_began = time.perf_counter()
        result = nightly(paths, params, day)
        flow_s.append(time.perf_counter() - flow_began)
        with connect(db) as con:
            released = simulation.release_run(con, result.run_id)
            demand = simulation.demand_state(con, day, network.window_days)
        record = NightRecord(
            day, served, opening, stock, released.transfers, released.purchases, demand
        )
        kpis.append(night_kpis(record, network))
        served_all.append(served.with_columns(day=pl.lit(day)))
        moved_all.append(released.transfers)
        refused.extend(released.refused)
        wall.append(time.perf_counter() - began)
        if progress is not None:
            progress(kpis[-1], wall[-1])
    # Every store line of the loop and how it was served, for a drill-down beside the KPIs.
    pl.concat(served_all).write_parquet(run.work / "served.parquet")
    return SimulationResult(
        policy=run.policy,
        source=f"scale {run.source.scale}, seed {run.source.seed}"
        if run.source.scale is not None
        else f"copy of {run.source.db}",
        split_day=split,
        nights=tuple(kpis),
        total=total_kpis(kpis, pl.concat(served_all).drop("day"), pl.concat(moved_all), sites),
        wall_s=tuple(wall),
        nightly_s=tuple(flow_s),
        refused=tuple(refused),
        seeded_purchase_lines=seeded,
        setup_s=run.setup_s,
    )

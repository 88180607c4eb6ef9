"""``generate``: the synthetic network and its order history, written as landing files."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.errors import InputError
from pipelines.generate import writers
from pipelines.generate.aftersales import settle
from pipelines.generate.calendar import build_profiles
from pipelines.generate.catalogue import build_catalogue
from pipelines.generate.demand import DemandModel
from pipelines.generate.fleet import build_fleet
from pipelines.generate.geography import Network, build_network
from pipelines.generate.scales import ScaleSpec, get_scale
from pipelines.generate.stock import RECENT_DAYS, shelf_capacities, stock_snapshot
from pipelines.generate.vehicles import build_vehicle_models

# Fixed, so that a seed always gives the same files: ingestion rejects
# timestamps more than a day in the future, and this lies in the past.
DEFAULT_END = date(2026, 11, 20)


@dataclass(frozen=True)
class GenerationSummary:
    """What one ``generate`` call wrote."""

    scale: str
    seed: int
    start: date
    end: date
    counts: dict[str, int]
    files: tuple[Path, ...]
    elapsed_s: float

    #: Counts that break down another count (not rows of their own).
    _BREAKDOWNS = frozenset({"order_lines_store", "order_lines_online", "cancelled_lines"})

    @property
    def rows_written(self) -> int:
        """Data rows in the landing files (each row counted once)."""
        return sum(n for name, n in self.counts.items() if name not in self._BREAKDOWNS)


def _check_args(out: Path, scale: str | ScaleSpec, seed: int, end: date | None) -> ScaleSpec:
    spec = get_scale(scale)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if end is not None and (isinstance(end, datetime) or not isinstance(end, date)):
        raise InputError(f"end must be a date (YYYY-MM-DD), got {end!r}")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    return spec


def _clear_owned(out: Path) -> None:
    """Remove files a previous run left under the names this generator writes,
    so a smaller or shorter run does not leave stale months behind."""
    for pattern in writers.OWNED_GLOBS:
        for path in out.glob(pattern):
            if path.is_file():
                path.unlink()


@dataclass(frozen=True)
class _History:
    files: list[Path]
    counts: dict[str, int]
    totals: pl.DataFrame  # wh, sku, qty: sold (not cancelled) over the history
    recent: pl.DataFrame  # the same over the last RECENT_DAYS days


def _sum_by_wh_sku(parts: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(parts).group_by("wh", "sku").agg(pl.col("qty").sum()).sort("wh", "sku")


def _write_history(
    demand: DemandModel,
    network: Network,
    ids: writers.Ids,
    out: Path,
    end: date,
    rngs: list[np.random.Generator],
) -> _History:
    """Write the monthly order-line, update and return files; sum what was sold."""
    end_ts = (np.datetime64(end) + 1).astype("datetime64[s]").astype(np.int64) - 1
    recent_day = int((np.datetime64(end) - RECENT_DAYS + 1).astype(np.int64))
    files: list[Path] = []
    counts = dict.fromkeys(
        ("order_lines_store", "order_lines_online", "order_line_updates", "cancelled_lines"), 0
    )
    updates: list[pl.DataFrame] = []
    returns: list[pl.DataFrame] = []
    totals: list[pl.DataFrame] = []
    recent: list[pl.DataFrame] = []
    draw, fates, remarks = rngs
    for lines in demand.months(draw):  # one month at a time: bounded memory
        fate = settle(lines, int(end_ts), fates)
        month = str(lines.month)
        every = np.arange(lines.order_no.size)
        frame = writers.lines_frame(lines, every, fate.status, ids)
        store_rows = frame.filter(pl.col("channel") == "store")
        online_rows = frame.filter(pl.col("channel") == "online")
        files.append(writers.write_store_csv(store_rows, out / f"order_lines_store_{month}.csv"))
        files.append(
            writers.write_online_csv(online_rows, out / f"order_lines_online_{month}.csv", remarks)
        )
        counts["order_lines_store"] += store_rows.height
        counts["order_lines_online"] += online_rows.height
        counts["cancelled_lines"] += int(fate.final_cancelled.sum())
        update_status = np.ones(fate.update_idx.size, dtype=np.int8)
        updates.append(
            writers.lines_frame(lines, fate.update_idx, update_status, ids).with_columns(
                _month=pl.from_epoch(pl.Series(fate.update_ts), time_unit="s").dt.strftime("%Y-%m")
            )
        )
        returns.append(
            writers.returns_frame(
                lines, fate.return_idx, fate.return_ts, fate.return_qty, fate.return_reason, ids
            )
        )
        sold = ~fate.final_cancelled
        day = lines.ts[sold] // 86_400
        daily = pl.DataFrame(
            {
                "wh": network.store_warehouse[lines.store[sold]],
                "sku": lines.sku[sold],
                "day": day,
                "qty": lines.quantity[sold].astype(np.int64),
            }
        )
        totals.append(daily.group_by("wh", "sku").agg(pl.col("qty").sum()))
        recent.append(
            daily.filter(pl.col("day") >= recent_day).group_by("wh", "sku").agg(pl.col("qty").sum())
        )

    all_updates = pl.concat(updates)
    all_updates = all_updates.sort("_month", "order_id", "line_no")
    for (month,), part in all_updates.group_by("_month", maintain_order=True):
        files.append(writers.write_updates_csv(part, out / f"order_lines_updates_{month}.csv"))
    counts["order_line_updates"] = all_updates.height
    all_returns = pl.concat(returns)
    files.extend(writers.write_returns(all_returns, out))
    counts["returns"] = all_returns.height

    return _History(
        files=files,
        counts=counts,
        totals=_sum_by_wh_sku(totals),
        recent=_sum_by_wh_sku(recent),
    )


def generate(
    out: Path, scale: str | ScaleSpec = "small", seed: int = 0, end: date | None = None
) -> GenerationSummary:
    """Generate a network and its order history into the folder ``out``.

    The same ``scale``, ``seed`` and ``end`` always give byte-identical files.

    Parameters
    ----------
    out
        Output folder, created if missing. Files with the names this generator
        writes (see docs/DATA_FORMATS.md) are replaced; nothing else is touched.
    scale
        ``small``, ``medium`` or ``large`` (or a custom :class:`ScaleSpec`).
    seed
        Seed of ``numpy.random.default_rng``.
    end
        Last day of the history (default 2026-11-20); the history covers the
        scale's number of days up to and including it.

    Returns
    -------
    GenerationSummary
        Scale, seed, dates, row counts per table and the files written.

    Raises
    ------
    InputError
        For an unknown scale, a negative seed, an ``end`` that is not a date
        or an ``out`` that is a file.
    """
    began = time.perf_counter()
    out = Path(out)
    spec = _check_args(out, scale, seed, end)
    end = end or DEFAULT_END
    start = end - timedelta(days=spec.days - 1)
    out.mkdir(parents=True, exist_ok=True)
    _clear_owned(out)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(8)]

    network = build_network(spec, rngs[0], start)
    models, popularity, oil_bottles = build_vehicle_models(spec.n_models, rngs[1])
    catalogue = build_catalogue(spec.n_skus, models, popularity, oil_bottles, rngs[1])
    fleet = build_fleet(
        network.stores["store_id"], network.store_size, models, popularity,
        spec.models_per_store, start, end, rngs[2],
    )  # fmt: skip
    profiles = build_profiles(start, spec.days)
    demand = DemandModel(
        fleet, catalogue, profiles, models["year_from"].to_numpy(),
        network.store_open_day, spec.lines_per_store_day,
    )  # fmt: skip
    ids = writers.Ids(
        store=network.stores["store_id"],
        store_warehouse=network.stores["warehouse_id"],
        sku=catalogue.skus["sku"],
        model=models["vehicle_model_id"],
    )

    history = _write_history(demand, network, ids, out, end, rngs[3:6])
    files, counts = history.files, history.counts

    total, last = history.totals, history.recent
    capacity = shelf_capacities(total, catalogue.sku_volume, spec.n_forward, spec.days)
    warehouses = network.warehouses.with_columns(shelf_capacity_l=pl.Series(capacity)).select(
        "warehouse_id", "name", "kind", "lat", "lon", "shelf_capacity_l",
        "parent_warehouse_id", "opened_on",
    )  # fmt: skip
    stock = stock_snapshot(
        last, total, warehouses["warehouse_id"].to_list(), catalogue.skus["sku"],
        catalogue.skus["pack_size"].to_numpy(), catalogue.skus["do_not_stock"].to_numpy(),
        spec.days, end, rngs[6],
    )  # fmt: skip
    master = {
        "warehouses": warehouses,
        "stores": network.stores,
        "skus": catalogue.skus,
        "vehicle_models": models,
        "fitment": catalogue.fitment,
        "maintenance_schedules": catalogue.schedules,
        "store_vehicles": fleet.store_vehicles,
    }
    for name, table in master.items():
        files.append(writers.write_parquet(table, out / f"{name}.parquet"))
        counts[name] = table.height
    files.append(writers.write_parquet(stock, out / f"stock_{end.isoformat()}.parquet"))
    counts["stock"] = stock.height
    counts["order_lines"] = counts["order_lines_store"] + counts["order_lines_online"]

    manifest = {
        "generator": "partsflow generate",
        "scale": spec.name,
        "seed": int(seed),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "counts": dict(sorted(counts.items())),
        "files": sorted(p.name for p in files),
    }
    files.append(writers.write_manifest(out / "manifest.json", manifest))
    return GenerationSummary(
        scale=spec.name,
        seed=int(seed),
        start=start,
        end=end,
        counts=dict(sorted(counts.items())),
        files=tuple(files),
        elapsed_s=time.perf_counter() - began,
    )

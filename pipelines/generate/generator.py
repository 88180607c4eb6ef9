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
from pipelines.generate.calendar import build_profiles
from pipelines.generate.catalogue import build_catalogue
from pipelines.generate.demand import DemandModel
from pipelines.generate.fleet import build_fleet
from pipelines.generate.geography import build_network
from pipelines.generate.history import Streams, write_history
from pipelines.generate.scales import ScaleSpec, get_scale
from pipelines.generate.stock import shelf_capacities
from pipelines.generate.stock_sim import SimTerms, StockSimulation, Window
from pipelines.generate.supply import build_supply
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
    _BREAKDOWNS = frozenset(
        {
            "order_lines_store", "order_lines_online", "cancelled_lines", "lost_lines",
            "wrong_fit_lines",
        }
    )  # fmt: skip

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


def generate(
    out: Path, scale: str | ScaleSpec = "small", seed: int = 0, end: date | None = None
) -> GenerationSummary:
    """Generate a network and its order history into the folder ``out``.

    Master data (suppliers and how each sku is bought included), monthly
    order lines, status updates and returns, and the stock history of the
    last 90 days, replayed against the orders (lines lost to a stock-out are
    not in the history). The same ``scale``, ``seed`` and ``end`` always give
    byte-identical files.

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
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(9)]

    network = build_network(spec, rngs[0], start)
    models, popularity, oil_bottles = build_vehicle_models(spec.n_models, rngs[1])
    catalogue = build_catalogue(spec.n_skus, models, popularity, oil_bottles, rngs[1])
    supply = build_supply(catalogue, spec.n_suppliers, rngs[7])
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
    epoch = date(1970, 1, 1).toordinal()
    window = Window.ending(start.toordinal() - epoch, end.toordinal() - epoch)
    simulation = StockSimulation(SimTerms.of(catalogue, supply), spec.n_forward, window, rngs[6])
    streams = Streams(draw=rngs[3], fates=rngs[4], remarks=rngs[5], fitment=rngs[8])
    history = write_history(
        demand, catalogue, network.store_warehouse, simulation, ids, out, streams
    )
    files, counts = history.files, history.counts

    capacity = shelf_capacities(history.totals, catalogue.sku_volume, spec.n_forward, spec.days)
    warehouses = network.warehouses.with_columns(shelf_capacity_l=pl.Series(capacity)).select(
        "warehouse_id", "name", "kind", "lat", "lon", "shelf_capacity_l",
        "parent_warehouse_id", "opened_on",
    )  # fmt: skip
    stock = simulation.counts()
    files.extend(writers.write_stock(stock, warehouses["warehouse_id"], ids.sku, out))
    master = {
        "warehouses": warehouses,
        "stores": network.stores,
        "skus": catalogue.skus,
        "suppliers": supply.suppliers,
        "sku_supply": supply.sku_supply,
        "vehicle_models": models,
        "fitment": catalogue.fitment,
        "maintenance_schedules": catalogue.schedules,
        "store_vehicles": fleet.store_vehicles,
    }
    for name, table in master.items():
        files.append(writers.write_parquet(table, out / f"{name}.parquet"))
        counts[name] = table.height
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
